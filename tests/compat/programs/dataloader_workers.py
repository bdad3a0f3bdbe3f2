# ruff: noqa: E501, B007  (written in the style of published programs)
"""A custom Dataset read by worker processes, with worker_init_fn and persistent workers."""
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset


class SquaresDataset(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, idx):
        x = np.array([idx, idx ** 2], dtype=np.float32)
        return torch.from_numpy(x), idx % 3


def worker_init_fn(worker_id):
    np.random.seed(1000 + worker_id)


if __name__ == "__main__":
    ds = SquaresDataset(21)
    for workers in (0, 2, 3):
        loader = DataLoader(ds, batch_size=4, num_workers=workers, worker_init_fn=worker_init_fn,
                            persistent_workers=workers > 0, pin_memory=True, drop_last=False)
        for epoch in range(2):
            sums = [round(float(x.sum()), 1) for x, _ in loader]
            labels = [y.tolist() for _, y in loader][-1]
            print(f"workers={workers} epoch={epoch} batches={len(sums)} sums={sums} last={labels}")
