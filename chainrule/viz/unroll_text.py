"""``explain`` of a recurrent layer unrolled in time: at its backward step, dL/dh_t of every
time step (what arrives from the output plus what the next step sends back), each step's
share of the repeated weights' gradients, and those gradients as the sums they are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..backend import xp
from .explain_text import _equation, _Formatter, _place, _wrap_words
from .through_time import ThroughTime
from .unroll import Unrolled, _segments

__all__ = ["TimeWalk", "time_walk"]

_WORDS = {
    "en": {
        "head": "Unrolled over its {T} time steps (backpropagation through time), from the "
                "step run last back to the first. dL/dh_t = what the output sends back at "
                "step t + what step {nxt} sends back through h_t:",
        "head_c": "The cell state the same way: dL/dc_t = from the output + from the next "
                  "step + through h_t = o_t * (1 - tanh(c_t)^2) * dL/dh_t.",
        "elided": "steps t={span}: {n} steps not shown (their shares are in the sums below)",
        "share": "share of dL/d{w}",
        "sums": "Each repeated weight is used at every step, so its gradient is the sum of "
                "the steps' shares ({what}):",
        "values": "the values",
        "norms": "their norms, then the sum",
        "later": "the next step",
    },
    "zh": {
        "head": "按 {T} 个时间步展开(随时间反向传播),从最后运行的一步开始。dL/dh_t = 输出在第 t "
                "步传回的梯度 + 第 {nxt} 步经 h_t 传回的梯度:",
        "head_c": "细胞状态同理:dL/dc_t = 来自输出 + 来自下一步 + 经 h_t 传来的 "
                  "o_t * (1 - tanh(c_t)^2) * dL/dh_t。",
        "elided": "第 t={span} 步:省略 {n} 步(它们的贡献计入下面的求和)",
        "share": "对 dL/d{w} 的贡献",
        "sums": "每个共享的权重在每一步都被使用,所以它的梯度是各步贡献之和({what}):",
        "values": "数值",
        "norms": "先列各步的范数,再给出和",
        "later": "下一步",
    },
}
_SHOWN = ("weight_ih", "bias_ih", "weight_hh", "bias_hh")


@dataclass
class TimeWalk:
    """A recurrent layer's backward step, unrolled: what :func:`time_walk` found."""

    layer: Unrolled
    tt: ThroughTime
    keep: int | None

    def lines(self, fmt: _Formatter, width: int, lang: str = "en") -> list[str]:
        words = _WORDS.get(lang, _WORDS["en"])
        tt = self.tt
        order = tt.order
        nxt = "t-1" if tt.reverse else "t+1"
        out = _wrap_words(words["head"].format(T=tt.T, nxt=nxt), width, "    ", "      ")
        if tt.c is not None:
            out += _wrap_words(words["head_c"], width, "    ", "      ")
        for seg in reversed(_segments(tt.T, self.keep)):
            ts = [order[k] for k in seg]
            if len(ts) > 1:
                span = f"{min(ts) + 1}..{max(ts) + 1}"
                out += _wrap_words(words["elided"].format(span=span, n=len(ts)), width,
                                   "      ")
                continue
            out += self._step(ts[0], seg[0], fmt, width, words)
        out += self._sums(fmt, width, words)
        return out

    def _step(self, t: int, k: int, fmt: _Formatter, width: int,
              words: dict[str, str]) -> list[str]:
        tt, n = self.tt, t + 1
        last = k == tt.T - 1
        H = tt.h.shape[2]
        out: list[str] = []
        for sym, total, later, own in (
                ("h", tt.dh[t], tt.from_next[t], tt.from_output[t][:, :H]),
                ("c", tt.dc[t] if tt.dc is not None else None,
                 tt.dc_from_next[t] if tt.dc is not None else None,
                 tt.from_output[t][:, H:])):
            if total is None:
                continue
            head = f"t={n}: " if sym == "h" else " " * (len(str(n)) + 4)
            lhs = f"      {head}dL/d{sym}_{n}"
            if last:
                out += _place(lhs + " = ", fmt(total), width)
                continue
            terms = [("", fmt(own)), ("+", fmt(later))]
            if sym == "c":
                terms.append(("+", fmt(total - own - later)))
            out += _equation(lhs, [terms, [("", fmt(total))]], width)
        pad = " " * (len(str(n)) + 10)
        for w in _SHOWN:
            if w in tt.shares and w in self.layer.names:
                out += _place(f"{pad}{words['share'].format(w=self.layer.names[w])} = ",
                              fmt(tt.shares[w][t]), width)
        return out

    def _sums(self, fmt: _Formatter, width: int, words: dict[str, str]) -> list[str]:
        tt = self.tt
        shown = [w for w in _SHOWN if w in tt.shares and w in self.layer.names]
        if not shown:
            return []
        small = all(tt.shares[w][0].size <= fmt.max_elements for w in shown)
        what = words["values"] if small else words["norms"]
        out = _wrap_words(words["sums"].format(what=what), width, "    ", "      ")
        segs = sorted(_segments(tt.T, self.keep), key=lambda s: min(tt.order[k] for k in s))
        for w in shown:
            parts = [tt.shares[w][[tt.order[k] for k in seg]].sum(0) for seg in segs]
            syms = [("+" if j else "", _tsym(tt.order, seg)) for j, seg in enumerate(segs)]
            nums = [("+" if j else "",
                     fmt(p) if small else f"|{float(xp.linalg.norm(p)):.4g}|")
                    for j, p in enumerate(parts)]
            out += _equation(f"      dL/d{self.layer.names[w]}",
                             [syms, nums, [("", fmt(tt.total(w)))]], width)
        return out


def _tsym(order: list[int], seg: list[int]) -> str:
    ts = sorted(order[k] + 1 for k in seg)
    return f"(t={ts[0]})" if len(ts) == 1 else f"(t={ts[0]}..{ts[-1]})"


def time_walk(layer: Unrolled, view: Any, grad: Any, keep: int | None) -> TimeWalk | None:
    """The unrolled backward step of ``layer`` (found in the explanation's view), with the
    engine's gradient ``grad`` of its output; None when its inputs were freed."""
    from .unroll import layer_numbers

    tt = layer_numbers(layer, view, grad)
    return TimeWalk(layer, tt, keep) if tt is not None else None
