"""The language of chainrule's plots (diagnostics.png, and the CLI's curves.png, ...).

Chinese labels need a font with Chinese glyphs, which matplotlib's default lacks: the CJK font
the graph drawings use (:func:`chainrule.viz.layout._cjk_font`) is added after the default
font. When the system has none, the plot is labelled in English instead of in boxes, and a
warning says how to get Chinese labels.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

__all__ = ["plot_lang", "NO_CJK_PLOT"]

NO_CJK_PLOT = ("no CJK font found, so its labels are in English (Chinese would be drawn as "
               "boxes): install one (apt install fonts-noto-cjk, or any font with Chinese "
               "glyphs) for Chinese labels")


def plot_lang(lang: str, what: str) -> tuple[str, Any]:
    """(the language plot ``what`` is labelled in, the matplotlib settings to draw it with):
    ``lang`` with a CJK font added for ``"zh"``; English, with a warning, when no CJK font is
    installed."""
    if lang != "zh":
        return lang, contextlib.nullcontext()
    from .layout import _cjk_font, _font_context

    font = _cjk_font()
    if font is None:
        warnings.warn(f"{what}: {NO_CJK_PLOT}", stacklevel=3)
        return "en", contextlib.nullcontext()
    from matplotlib import rcParams

    return "zh", _font_context([*rcParams["font.family"], font])
