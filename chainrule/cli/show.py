"""``chainrule predict RUN image.png --show``: the picture the model actually saw (after the
image was cropped, centred and reduced to the dataset's 8x8 grid of 0-16 ink counts) and the
probability of each digit, in the terminal; ``--out FILE.png`` draws the same as a PNG.

The picture is the model's input *before* standardisation (the standardised one is the same
picture with each pixel shifted and scaled by its training statistics, hard to read).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from chainrule.cli.i18n import tr

SHADES = " ░▒▓█"
BAR = 30  # characters of the longest probability bar


def picture(image: Any) -> Any:
    """A rich renderable of a 2-D array of ink (0 = paper): two character cells per pixel,
    shaded " ░▒▓█" from no ink to the most (readable without colours too), so the aspect
    ratio stays square; a frame marks the picture's edges.

    >>> import numpy as np
    >>> print(picture(np.array([[0, 16], [8, 4]])).plain)
    ┌────┐
    │  ██│
    │▒▒░░│
    └────┘
    """
    from rich.text import Text

    img = image.astype(float)
    top = float(img.max()) or 1.0
    width = 2 * img.shape[1]
    text = Text("┌" + "─" * width + "┐\n")
    for row in img:
        text.append("│")
        for v in row:
            text.append(SHADES[int(round(4 * max(0.0, float(v)) / top))] * 2)
        text.append("│\n")
    text.append("└" + "─" * width + "┘")
    return text


def probability_bars(prob: Sequence[float]) -> Any:
    """A rich table: one row per digit, its probability and a bar; the predicted digit bold."""
    from rich.table import Table

    k = max(range(len(prob)), key=lambda j: prob[j])
    t = Table(show_header=False, box=None, padding=(0, 1))
    t.add_column(justify="right")
    t.add_column(justify="right")
    t.add_column()
    for j, p in enumerate(prob):
        style = "bold" if j == k else ""
        bar = "█" * int(round(BAR * float(p))) or ("▏" if p > 0.005 else "")
        t.add_row(f"[{style}]{j}[/]" if style else str(j), f"{float(p):.3f}",
                  f"[{style}]{bar}[/]" if style else bar)
    return t


def show(console: Any, path: str, image: Any, prob: Sequence[float], lang: str) -> None:
    """Print what the model saw and its probabilities, side by side."""
    from rich.columns import Columns
    from rich.console import Group

    console.print(tr(lang, "predict_saw", path=path, size=image.shape[0]))
    console.print(Columns([picture(image),
                           Group(tr(lang, "predict_probs"), probability_bars(prob))],
                          padding=(0, 4)))


def save_png(out: str | Path, paths: Sequence[str], images: Sequence[Any],
             probs: Any) -> Path:
    """One row per image: the picture the model saw, and a bar chart of the probabilities."""
    from matplotlib.figure import Figure

    from chainrule.serialization import atomic_path

    n = len(images)
    fig = Figure(figsize=(7, 2.6 * n))
    axes = fig.subplots(n, 2, squeeze=False)
    for (a_img, a_bar), path, img, p in zip(axes, paths, images, probs):
        a_img.imshow(img, cmap="gray_r", vmin=0, interpolation="nearest")
        a_img.set_title(f"{Path(path).name}: what the model saw ({img.shape[0]}x"
                        f"{img.shape[1]})", fontsize=9)
        a_img.set_xticks([])
        a_img.set_yticks([])
        k = int(p.argmax())
        a_bar.bar(range(len(p)), p, color=["tab:blue" if j == k else "tab:gray"
                                           for j in range(len(p))])
        a_bar.set_xticks(range(len(p)))
        a_bar.set_ylim(0, 1)
        a_bar.set_title(f"predicted {k} (p={p[k]:.3f})", fontsize=9)
        a_bar.set_xlabel("digit")
        a_bar.set_ylabel("probability")
    fig.tight_layout()
    out = Path(out)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    return out
