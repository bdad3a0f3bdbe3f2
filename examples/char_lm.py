"""A character-level language model: a small causal transformer or an LSTM learns to continue
text one character at a time, and writes samples as it trains.

    python examples/char_lm.py                      # names from a small grammar (written here)
    python examples/char_lm.py my_text.txt --model lstm --steps 2000

Without a file it trains on made-up names that it generates from a small grammar (the same
every time) and writes to a text file first, so you can see what it learned from.
``cr.manual_seed`` makes everything reproducible: the weights, the batches, the samples.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

# ---------------------------------------------------------------------------------------------
# The default corpus: names from a small grammar
# ---------------------------------------------------------------------------------------------

ONSETS = ["", "b", "d", "f", "g", "k", "l", "m", "n", "r", "s", "t", "v", "z", "th", "sh", "br"]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "io"]
CODAS = ["", "", "", "n", "l", "r", "s", "th"]


def make_names(n: int = 2000, seed: int = 0) -> list[str]:
    """``n`` names of 2-3 syllables (onset, vowel, coda), the same list for the same seed."""
    rng = random.Random(seed)
    names = []
    for _ in range(n):
        parts = [rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS)
                 for _ in range(rng.choice((2, 2, 3)))]
        names.append("".join(parts).capitalize())
    return names


# ---------------------------------------------------------------------------------------------
# Models: token ids (B, T) -> logits (B, T, vocab)
# ---------------------------------------------------------------------------------------------


class TransformerLM(nn.Module):
    """A GPT-style model: token + position embeddings, pre-norm causal transformer layers."""

    def __init__(self, vocab: int, block: int, width: int = 64, heads: int = 4,
                 layers: int = 2, dropout: float = 0.1) -> None:
        super().__init__()
        # NOTE: an embedding is a table of rows indexed by token ids (what nn.Embedding does)
        self.tok = nn.Parameter(cr.randn(vocab, width) * 0.02)
        self.pos = nn.Parameter(cr.randn(block, width) * 0.02)
        layer = nn.TransformerEncoderLayer(width, heads, 4 * width, dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(width))
        self.head = nn.Linear(width, vocab)

    def forward(self, idx: cr.Tensor) -> cr.Tensor:
        T = idx.shape[1]
        mask = nn.Transformer.generate_square_subsequent_mask(T)
        x = self.tok[idx] + self.pos[:T]
        return self.head(self.blocks(x, mask=mask, is_causal=True))


class LSTMLM(nn.Module):
    """An embedding, a 2-layer nn.LSTM (PyTorch's API) and a linear read-out."""

    def __init__(self, vocab: int, block: int, width: int = 64, hidden: int = 128,
                 layers: int = 2, dropout: float = 0.1) -> None:
        super().__init__()
        try:
            lstm_cls = nn.LSTM
        except (AttributeError, NotImplementedError):
            raise SystemExit("char_lm.py --model lstm needs chainrule.nn.LSTM, which this "
                             "version of chainrule does not have; use --model transformer"
                             ) from None
        self.tok = nn.Parameter(cr.randn(vocab, width) * 0.02)
        self.lstm = lstm_cls(width, hidden, num_layers=layers, dropout=dropout,
                             batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, idx: cr.Tensor) -> cr.Tensor:
        out, _ = self.lstm(self.tok[idx])
        return self.head(out)


MODELS = {"transformer": TransformerLM, "lstm": LSTMLM}

# ---------------------------------------------------------------------------------------------
# Training and sampling
# ---------------------------------------------------------------------------------------------


def batches(data: cr.Tensor, block: int, batch: int, gen: cr.Generator):
    """Random windows of block + 1 characters: inputs and the next characters."""
    offsets = cr.arange(block + 1)
    while True:
        starts = cr.randint(0, data.shape[0] - block - 1, (batch,), generator=gen)
        win = data[starts.reshape(-1, 1) + offsets]
        yield win[:, :-1], win[:, 1:]


@cr.no_grad()
def sample(model: nn.Module, stoi: dict, itos: list, block: int, length: int,
           gen: cr.Generator, temperature: float = 0.8) -> str:
    """``length`` characters after a newline, each drawn from the model's distribution."""
    was_training = model.training
    model.eval()
    ids = [stoi["\n"]]
    for _ in range(length):
        logits = model(cr.tensor([ids[-block:]]))[0, -1] / temperature
        cdf = np.cumsum(F.softmax(logits, dim=-1).numpy().astype(np.float64))
        u = cr.rand(1, generator=gen).item() * cdf[-1]
        ids.append(min(int(np.searchsorted(cdf, u, side="right")), len(itos) - 1))
    model.train(was_training)
    return "".join(itos[i] for i in ids[1:])


def train(text: str, model_name: str, steps: int, block: int, batch: int, lr: float,
          sample_every: int, sample_len: int, seed: int, out=print) -> float:
    cr.manual_seed(seed)
    itos = sorted(set(text))
    stoi = {c: i for i, c in enumerate(itos)}
    if "\n" not in stoi:
        raise SystemExit("char_lm.py: the text needs at least one line break (samples start "
                         "after one)")
    if len(text) < block + 2:
        raise SystemExit(f"char_lm.py: the text has {len(text)} characters; it needs more than "
                         f"--block + 1 = {block + 1}")
    data = cr.tensor([stoi[c] for c in text])
    model = MODELS[model_name](len(itos), block)
    opt = cr.optim.Adam(model.parameters(), lr=lr)
    gen = cr.Generator().manual_seed(seed)
    out(f"{model_name}: {model.num_parameters():,} parameters, {len(itos)} characters, "
        f"{len(text):,} characters of text")
    loss_avg = math.log(len(itos))
    for step, (x, y) in zip(range(1, steps + 1), batches(data, block, batch, gen)):
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, len(itos)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss_avg = 0.9 * loss_avg + 0.1 * loss.item() if step > 1 else loss.item()
        if step % sample_every == 0 or step == steps:
            text_out = sample(model, stoi, itos, block, sample_len, gen)
            shown = ", ".join(w for w in text_out.split("\n") if w)
            out(f"step {step:5d}  loss {loss_avg:.3f}  | {shown}")
    return loss_avg


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("text", nargs="?", help="a text file (default: generated names)")
    p.add_argument("--model", choices=sorted(MODELS), default="transformer")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--block", type=int, default=32, help="characters of context")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--sample-every", type=int, default=250)
    p.add_argument("--sample-len", type=int, default=60)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--corpus-out", default=os.path.join(tempfile.gettempdir(),
                                                        "chainrule_char_lm_names.txt"),
                   help="where the generated names are written (without a text file)")
    args = p.parse_args(argv)
    if args.text is None:
        text = "\n".join(make_names()) + "\n"
        with open(args.corpus_out, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"training on {text.count(chr(10))} generated names (written to "
              f"{args.corpus_out})")
    else:
        try:
            with open(args.text, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            sys.exit(f"char_lm.py: cannot read {args.text}: {e.strerror}")
    train(text, args.model, args.steps, args.block, args.batch, args.lr, args.sample_every,
          args.sample_len, args.seed)


if __name__ == "__main__":
    main()
