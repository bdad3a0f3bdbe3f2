"""DataLoader worker processes (``num_workers > 0``), as PyTorch runs them.

Each worker is a process with its own queue of batch indices; batches are dealt round-robin,
computed in the workers, and handed back in the order of the batch sampler, so the batches
are the ones ``num_workers=0`` gives, in the same order. Worker ``i`` is seeded with
``base_seed + i`` (chainrule's global generator, Python's ``random`` and NumPy's legacy global
generator); ``base_seed`` is derived from the state of the loader's generator (or the global
one) when the workers start, without drawing from it, so the shuffled order does not depend
on ``num_workers``. An exception in a worker is raised again in the main process, with the
worker's traceback in its message.
"""

from __future__ import annotations

import itertools
import multiprocessing
import queue
import random
import signal
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Iterator

__all__ = ["WorkerInfo", "get_worker_info", "WorkerPool"]

_POLL_S = 1.0  # how often a waiting loader checks that its workers are alive


@dataclass(frozen=True)
class WorkerInfo:
    """What :func:`get_worker_info` returns inside a worker process."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """In a DataLoader worker: its id, the number of workers, its seed and its copy of the
    dataset. In the main process: None."""
    return _worker_info


def _seed_worker(seed: int) -> None:
    from ..backend import xp
    from ..core.creation import manual_seed

    manual_seed(seed)
    random.seed(seed)
    xp.random.seed(seed % 2 ** 32)


def _worker_loop(fetch: Callable[[Any], Any], dataset: Any, index_queue: Any,
                 result_queue: Any, seed: int, init_fn: Callable[[int], None] | None,
                 worker_id: int, num_workers: int) -> None:
    global _worker_info
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    _seed_worker(seed)
    init_error = None
    if init_fn is not None:
        try:
            init_fn(worker_id)
        except Exception as e:  # noqa: BLE001 - reported for every task, in the main process
            init_error = _wrap(e, worker_id, "worker_init_fn")
    while True:
        task = index_queue.get()
        if task is None:
            break
        epoch, idx, index = task
        if init_error is not None:
            result_queue.put((epoch, idx, init_error))
            continue
        try:
            data = fetch(index)
        except Exception as e:  # noqa: BLE001 - re-raised in the main process
            data = _wrap(e, worker_id, "")
        result_queue.put((epoch, idx, data))


class _WorkerError:
    def __init__(self, exc_type: type, message: str) -> None:
        self.exc_type = exc_type
        self.message = message

    def reraise(self) -> None:
        try:
            err = self.exc_type(self.message)
        except Exception:  # noqa: BLE001 - an exception type that needs other arguments
            err = RuntimeError(self.message)
        raise err


def _wrap(e: BaseException, worker_id: int, where: str) -> _WorkerError:
    place = f" ({where})" if where else ""
    return _WorkerError(type(e), f"Caught {type(e).__name__} in DataLoader worker process "
                                 f"{worker_id}{place}.\nOriginal {traceback.format_exc()}")


class WorkerPool:
    """``num_workers`` processes serving batches of one loader (for one epoch, or for all
    epochs with ``persistent_workers``)."""

    def __init__(self, fetch: Callable[[Any], Any], dataset: Any, num_workers: int,
                 base_seed: int, init_fn: Callable[[int], None] | None, context: Any,
                 timeout: float) -> None:
        if context is None or isinstance(context, str):
            context = multiprocessing.get_context(context)
        self.timeout = timeout
        self.result_queue = context.Queue()
        self.index_queues = [context.Queue() for _ in range(num_workers)]
        self.workers = []
        for i in range(num_workers):
            w = context.Process(target=_worker_loop, daemon=True, args=(
                fetch, dataset, self.index_queues[i], self.result_queue, base_seed + i,
                init_fn, i, num_workers))
            w.start()
            self.workers.append(w)
        self.epochs = itertools.count()
        self.closed = False

    def batches(self, indices: Iterator[Any], prefetch: int, in_order: bool) -> Iterator[Any]:
        """The batches for ``indices`` (one per batch), computed by the workers."""
        epoch = next(self.epochs)
        n = len(self.workers)
        indices = iter(indices)
        sent = done = 0
        ready: dict[int, Any] = {}
        exhausted = False
        while True:
            while not exhausted and sent - done < prefetch * n:
                index = next(indices, None)
                if index is None:
                    exhausted = True
                    break
                self.index_queues[sent % n].put((epoch, sent, index))
                sent += 1
            if done == sent:
                return
            while (done not in ready) if in_order else not ready:
                e, idx, data = self._get()
                if e == epoch:  # results of an abandoned earlier epoch are dropped
                    ready[idx] = data
            data = ready.pop(done if in_order else next(iter(ready)))
            done += 1
            if isinstance(data, _WorkerError):
                data.reraise()
            yield data

    def _get(self) -> Any:
        start = time.monotonic()
        while True:
            wait = _POLL_S if self.timeout <= 0 else min(
                _POLL_S, self.timeout - (time.monotonic() - start))
            try:
                return self.result_queue.get(timeout=max(wait, 0.0))
            except queue.Empty:
                pass
            dead = [w.pid for w in self.workers if not w.is_alive()]
            if dead:
                self.shutdown()
                raise RuntimeError(f"DataLoader worker (pid(s) "
                                   f"{', '.join(map(str, dead))}) exited unexpectedly")
            if self.timeout > 0 and time.monotonic() - start >= self.timeout:
                raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds")

    def shutdown(self) -> None:
        if self.closed:
            return
        self.closed = True
        for q, w in zip(self.index_queues, self.workers):
            if w.is_alive():
                try:
                    q.put(None)
                except (OSError, ValueError):
                    pass
        for w in self.workers:
            w.join(timeout=5)
            if w.is_alive():
                w.terminate()
                w.join(timeout=1)
        for q in [*self.index_queues, self.result_queue]:
            q.cancel_join_thread()
            q.close()
