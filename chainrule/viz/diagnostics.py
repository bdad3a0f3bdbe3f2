"""Diagnose training: saturated activations, dead ReLUs, vanishing or exploding gradients,
updates too small or too large for the weights, NaN/inf gradients.

:class:`Diagnostics` records a few numbers per training step and turns them into
plain-language warnings::

    diag = cr.viz.Diagnostics(model)           # or a dict {"W1": W1, "W2": W2} of tensors
    for x, y in loader:
        loss = loss_fn(model(x), y)
        diag.observe_forward(loss)             # before backward: activations in the graph
        opt.zero_grad()
        loss.backward()
        diag.observe_backward()                # gradient norms per layer
        with diag.step():                      # update-to-weight ratios per layer
            opt.step()
    print(diag)                                # the numbers, then the warnings
    diag.plot("diagnostics.png")

Activations are found in the graph of the loss, not in modules, so functional code (raw
tensors and ``cr.sigmoid``) is diagnosed like module code: every ``sigmoid``, ``tanh`` and
``relu`` node is an activation, named by kind and order ("sigmoid 1" is the first sigmoid the
forward pass applied). A layer is the parameters of one module ("0.weight" and "0.bias" are
layer "0"), or one tensor of a dict.

The verdicts are medians over the later half of the recorded steps, so a learning-rate
warm-up at the start (and the annealing at the end of a one-cycle schedule, which is a
quarter of that window) does not trigger anything. The thresholds are rules of thumb, set
with a margin from numbers measured on the digits recipes (seed 0, every step recorded,
medians over the later half of training):

==========================  ===============  ================  ================  ============
quantity                    tutorial recipe  default MLP       default CNN       sigmoid MLP*
==========================  ===============  ================  ================  ============
saturated sigmoid units     hidden 36%,      (no sigmoid)      (no sigmoid)      4.7%
                            output 94%                                           (max 11%)
dead ReLU units             (no ReLU)        0%                0%, 0%, 24%       (no ReLU)
gradient per weight (RMS),  0.52             0.26              0.85              0.085
first layer / last
gradient norm per layer     W1 1.0, W2 0.76  0.047, 0.073      0.012 - 0.19      0.05, 0.23
update / weight per step    W1 1.6e-4,       6.6e-4, 6.9e-4    1.5e-4 - 1.4e-3   7.3e-4,
                            W2 2.5e-4                                            1.2e-3
==========================  ===============  ================  ================  ============

(*) the default MLP recipe with ``nn.Sigmoid`` in place of ``nn.ReLU``: a healthy sigmoid
network (scaled init, standardised inputs, cross-entropy). With ``nn.Tanh``: 4.4% saturated.

- A sigmoid unit is saturated where its local derivative s (1 - s) < 0.018 (|z| > 4); a tanh
  unit where 1 - t^2 < 0.018 (|z| > 2.65). Backpropagation multiplies the gradient by that
  derivative, so it passes at most 7% (sigmoid's best is 0.25) or 1.8% (tanh's is 1) of
  what it would at z = 0. Warned about above 20% of the units: the tutorial's hidden layer
  has 36% (26% from its first step, flagged after 50 steps already), a healthy sigmoid or
  tanh network under 5%. Sigmoids that cannot hurt are left out: x * sigmoid(x) (SiLU) and
  a sigmoid output into a log (binary cross-entropy, where 1/p cancels s (1 - s)).
- A ReLU unit (a feature, or a channel of a feature map) is dead in a step when it is 0 for
  every example of the batch. Warned about above 50% (the CNN's widest layer has 24%).
- Vanishing gradients: the first layer's gradient per weight (RMS of the layers with a
  matrix or kernel) below 1/100 of the last layer's (the recipes: 0.085 to 0.85; eight
  sigmoid layers: 1e-7).
- Update-to-weight ratio ||dW|| / ||W|| per step: about 1e-3 is healthy (A. Karpathy's rule
  of thumb, CS231n); below 1e-5 learning has stalled, above 1e-1 it is unstable. The
  recipes' medians lie within 1.5e-4 and 1.4e-3.
- Any NaN or inf in a loss or a gradient is reported, with the first step it was seen.

Recording every step costs a graph walk and a few reductions: measured 10-15% of the time
of a digits training step (these models are small, so a step is short); ``every=10`` brings
it to 2-3%.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
from pathlib import Path
from typing import Any, Iterator

from ..backend import xp
from ..core.graph import Node, nodes
from ..core.tensor import Tensor
from . import diagnostics_time, i18n_diag
from .i18n import check_lang
from .plot_lang import plot_lang

__all__ = ["Diagnostics"]

_DERIVATIVE = 0.018  # an activation's local derivative below this counts as saturated
# s (1 - s) < c  <=>  |s - 1/2| > sqrt(1/4 - c);   1 - t^2 < c  <=>  |t| > sqrt(1 - c)
_SIGMOID_SATURATED = (0.5 - math.sqrt(0.25 - _DERIVATIVE), 0.5 + math.sqrt(0.25 - _DERIVATIVE))
_TANH_SATURATED = (-math.sqrt(1.0 - _DERIVATIVE), math.sqrt(1.0 - _DERIVATIVE))


class Diagnostics:
    """Record gradient-flow diagnostics during training; see the module docstring.

    ``params``: a model (anything with ``named_parameters()``), a dict name -> tensor, or a
    list of tensors; it may be given later with :meth:`watch`. ``lang``: the language of the
    warnings, ``"en"`` or ``"zh"`` (the tutorial's Chinese terms). ``every``: record every k-th
    step only (steps are counted from 0, so step 0 is always recorded).

    >>> import chainrule as cr
    >>> W = cr.full((3, 2), 2.0, requires_grad=True)   # too large: sigmoid(6) saturates
    >>> diag = Diagnostics({"W": W})
    >>> for _ in range(4):
    ...     loss = cr.sigmoid(cr.ones(5, 3) @ W).sum()
    ...     diag.observe_forward(loss)
    ...     loss.backward()
    ...     diag.observe_backward()
    ...     with diag.step(), cr.no_grad():
    ...         W -= 0.1 * W.grad
    ...     W.grad = None
    >>> len(diag.history), diag.summary()["saturation"]
    (4, {'sigmoid 1': 1.0})
    >>> print(diag.warnings()[0][:69])
    sigmoid 1: 100% of units are saturated (|z| > 4, where the derivative
    """

    #: fraction of saturated sigmoid/tanh units above which a warning is given
    saturated_max = 0.2
    #: fraction of dead ReLU units above which a warning is given
    dead_max = 0.5
    #: first layer's gradient RMS / last layer's, below which gradients vanish
    vanishing_ratio = 1e-2
    #: healthy update/weight ratios lie between these
    update_min = 1e-5
    update_max = 1e-1

    def __init__(self, params: Any = None, every: int = 1, lang: str = "en") -> None:
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"Diagnostics: every must be an int >= 1, got {every!r}")
        self.lang = check_lang(lang, "Diagnostics")  # of the warnings: "en" or "zh"
        self.every = every
        self.history: list[dict[str, Any]] = []
        self.layers: dict[str, list[Tensor]] = {}
        self.types: dict[str, str] = {}  # layer -> its module's class name, for labels
        self.steps = 0  # training steps seen, recorded or not
        self._phase = 3  # 0 forward, 1 backward, 2 before the update; 3: a new step is next
        self._recording = False
        self._before: dict[str, list[Any]] | None = None
        self._time: Any = None  # diagnostics_time.StepGradients while a backward is due
        if params is not None:
            self.watch(params)

    # -- what to watch ----------------------------------------------------------------------
    def watch(self, params: Any) -> Diagnostics:
        """Watch these parameters (a model, a dict name -> tensor, or a list of tensors)."""
        self.types = {}
        if hasattr(params, "named_parameters"):
            named = list(params.named_parameters())
            layers: dict[str, list[Tensor]] = {}
            for name, p in named:
                prefix = name.rpartition(".")[0] or type(params).__name__
                layers.setdefault(prefix, []).append(p)
            if hasattr(params, "named_modules"):
                mods = dict(params.named_modules())
                self.types = {k: type(mods[k]).__name__ for k in layers if k in mods}
        elif isinstance(params, dict):
            layers = {str(k): [v] for k, v in params.items()}
        elif isinstance(params, (list, tuple)):
            layers = {str(i): [v] for i, v in enumerate(params)}
        else:
            raise TypeError(
                "Diagnostics: expected a model (with named_parameters()), a dict name -> tensor "
                f"or a list of tensors, got {type(params).__name__}"
            )
        for name, ps in layers.items():
            for p in ps:
                if not isinstance(p, Tensor):
                    raise TypeError(f"Diagnostics: {name!r} is a {type(p).__name__}, not a "
                                    "tensor")
        self.layers = {k: [p for p in ps if p.requires_grad] for k, ps in layers.items()}
        self.layers = {k: ps for k, ps in self.layers.items() if ps}
        return self

    # -- recording --------------------------------------------------------------------------
    def _begin(self, phase: int) -> dict[str, Any] | None:
        """The record of the current step (None when it is not recorded); ``phase`` at or
        before the last one seen starts a new step."""
        if phase <= self._phase:
            self._recording = self.steps % self.every == 0
            self.steps += 1
            self._before = None
            if self._recording:
                self.history.append({"step": self.steps - 1, "loss": None, "saturation": {},
                                     "dead": {}, "grad_norm": {}, "update_ratio": {},
                                     "time_grad": {}})
        self._phase = phase
        return self.history[-1] if self._recording else None

    def observe_forward(self, loss: Tensor, value: float | None = None) -> None:
        """Before ``backward``: the loss, and the saturation of every sigmoid/tanh and the
        dead units of every ReLU in its graph (their outputs are saved there). ``value``: the
        loss to record when the one printed differs from the one backpropagated (the tutorial
        backpropagates the summed error and prints its mean), so the plot shows the numbers
        the text reports."""
        rec = self._begin(0)
        if rec is None:
            return
        if value is not None:
            rec["loss"] = float(value)
        elif loss.numel() == 1:
            rec["loss"] = float(loss.item())
        counts: dict[str, int] = {}
        graph = nodes(loss)
        recurrent = diagnostics_time.labels(graph)
        if recurrent:  # the layers' backward reports the gradient norm per time step
            self._close_time()
            self._time = diagnostics_time.StepGradients(recurrent)
        exempt = _exempt(graph)
        for n in graph:
            kind = n.name
            if kind not in ("sigmoid", "tanh", "relu") or n.out is None or n in exempt:
                continue
            a = n.out[0]
            counts[kind] = counts.get(kind, 0) + 1
            label = f"{kind} {counts[kind]}"
            if kind == "relu":
                if a.ndim >= 2 and a.shape[0] > 0:  # an empty batch says nothing
                    axes = 0 if a.ndim == 2 else (0, *range(2, a.ndim))
                    alive = xp.count_nonzero(a.any(axis=axes))
                    units = a.shape[1]
                    rec["dead"][label] = float(1.0 - alive / units)
            elif a.size:
                # NOTE: two comparisons to bool arrays, no float temporaries: cheap enough to
                # run every step.
                lo, hi = _SIGMOID_SATURATED if kind == "sigmoid" else _TANH_SATURATED
                n_sat = xp.count_nonzero(a < lo) + xp.count_nonzero(a > hi)
                rec["saturation"][label] = float(n_sat / a.size)

    def backward(self, loss: Tensor, value: float | None = None) -> None:
        """``loss.backward()`` between :meth:`observe_forward` and :meth:`observe_backward`."""
        self.observe_forward(loss, value)
        loss.backward()
        self.observe_backward()

    def observe_backward(self) -> None:
        """After ``backward``: the gradient's L2 norm per layer (NaN/inf kept as they are)."""
        rec = self._begin(1)
        if rec is None:
            return
        rec["time_grad"] = self._close_time()
        for name, ps in self.layers.items():
            total, seen = 0.0, False
            for p in ps:
                if p.grad is not None:
                    g = p.grad._data
                    total += float(xp.vdot(g, g)) if g.size else 0.0
                    seen = True
            if seen:
                rec["grad_norm"][name] = math.sqrt(total) if total >= 0 else math.nan

    def _close_time(self) -> dict[str, list[float]]:
        t, self._time = self._time, None
        return t.close() if t is not None else {}

    def before_step(self) -> None:
        """Snapshot the weights before the optimizer changes them."""
        rec = self._begin(2)
        if rec is None:
            return
        self._before = {name: [p._data.copy() for p in ps] for name, ps in self.layers.items()}

    def after_step(self) -> None:
        """The update-to-weight ratio ||W_after - W_before|| / ||W_before|| per layer."""
        if self._before is None or not self._recording:
            self._phase = 3
            return
        rec = self.history[-1]
        for name, ps in self.layers.items():
            before = self._before.get(name)
            if before is None:
                continue
            du = w = 0.0
            for p, b in zip(ps, before):
                d = p._data - b
                du += float(xp.vdot(d, d))
                w += float(xp.vdot(b, b))
            rec["update_ratio"][name] = math.sqrt(du) / math.sqrt(w) if w > 0 else math.nan
        self._before = None
        self._phase = 3

    @contextlib.contextmanager
    def step(self) -> Iterator[None]:
        """``with diag.step(): opt.step()``: :meth:`before_step`, then :meth:`after_step`."""
        self.before_step()
        yield
        self.after_step()

    # -- verdicts ---------------------------------------------------------------------------
    def _window(self) -> list[dict[str, Any]]:
        """The later half of the recorded steps: what the verdicts are about."""
        h = self.history
        return h[len(h) // 2:] if len(h) > 1 else h

    def summary(self) -> dict[str, Any]:
        """Medians over the later half of the recorded steps, and the NaN/inf count."""
        win = self._window()
        out: dict[str, Any] = {
            "steps": self.steps, "recorded": len(self.history),
            "window": [win[0]["step"], win[-1]["step"]] if win else None,
        }
        for key in ("saturation", "dead", "grad_norm", "update_ratio"):
            out[key] = {k: _median([r[key][k] for r in win if k in r[key]])
                        for k in _keys(win, key)}
        times = {k: [r["time_grad"][k] for r in win if k in r.get("time_grad", {})]
                 for k in _keys(win, "time_grad")}
        out["time_ratio"] = {k: _median([diagnostics_time.first_over_last(v) for v in vs])
                             for k, vs in times.items()}
        out["time_steps"] = {k: len(vs[-1]) for k, vs in times.items()}
        rms = self._grad_rms_ratios(win)
        out["grad_rms_ratio"] = _median(rms) if rms else None
        out["layers"] = list(self.layers)
        bad = [r for r in self.history if _nonfinite(r)]
        out["nonfinite_steps"] = len(bad)
        out["first_nonfinite"] = bad[0]["step"] if bad else None
        losses = [r["loss"] for r in self.history if r["loss"] is not None]
        out["final_loss"] = losses[-1] if losses else None
        return out

    def _grad_rms_ratios(self, win: list[dict[str, Any]]) -> list[float]:
        """Per step: the first layer's gradient RMS (per weight) over the last layer's."""
        layers = [k for k, ps in self.layers.items() if any(p.ndim >= 2 for p in ps)]
        if len(layers) < 2:
            return []
        first, last = layers[0], layers[-1]
        n1 = math.sqrt(sum(p.numel() for p in self.layers[first]))
        n2 = math.sqrt(sum(p.numel() for p in self.layers[last]))
        out = []
        for r in win:
            g1, g2 = r["grad_norm"].get(first), r["grad_norm"].get(last)
            if g1 is not None and g2 and math.isfinite(g1) and math.isfinite(g2):
                out.append((g1 / n1) / (g2 / n2))
        return out

    def warnings(self) -> list[str]:
        """Plain-language warnings, each with its numbers, the arithmetic behind it and what
        to try, in ``self.lang``; [] when healthy."""
        s = self.summary()
        out = i18n_diag.warnings(self, s, _nonfinite, _DERIVATIVE)
        out += diagnostics_time.warnings(s["time_ratio"], s["time_steps"], self.lang)
        return out

    def __str__(self) -> str:
        def tr(key: str, **kw: Any) -> str:
            return i18n_diag.msg(self.lang, key, **kw)

        if not self.history:
            return tr("str_empty")
        s = self.summary()
        a, b = s["window"]
        lines = [tr("str_head", steps=s["steps"], recorded=s["recorded"], a=a, b=b)]
        for k, v in s["saturation"].items():
            lines.append(f"  {k:<22} " + tr("str_saturated", v=v))
        for k, v in s["dead"].items():
            lines.append(f"  {k:<22} " + tr("str_dead", v=v))
        for k in s["layers"]:
            g, u = _g(s["grad_norm"].get(k)), _g(s["update_ratio"].get(k))
            lines.append(f"  {self._label(k):<22} " + tr("str_layer", g=g, u=u))
        if s["grad_rms_ratio"] is not None:
            lines.append(tr("str_rms", r=s["grad_rms_ratio"]))
        for k, v in s["time_ratio"].items():
            lines.append(f"  {k:<22} " + tr("str_time", n=s["time_steps"][k], v=_g(v)))
        w = self.warnings()
        lines += [i18n_diag.msg(self.lang, "warning") + x for x in w] or [
            i18n_diag.msg(self.lang, "ok")]
        return "\n".join(lines)

    # -- files ------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the history: CSV (one row per recorded step, one column per quantity) or,
        for a ``.json`` path, JSON with the summary and the warnings too."""
        path = Path(path)
        if path.suffix.lower() == ".json":
            obj = {"history": self.history, "summary": self.summary(),
                   "warnings": self.warnings(), "every": self.every}
            path.write_text(json.dumps(_jsonable(obj), indent=1, allow_nan=False) + "\n")
            return path
        cols = [(key, k) for key in ("saturation", "dead", "grad_norm", "update_ratio")
                for k in _keys(self.history, key)]
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["step", "loss", *[f"{key}:{k}" for key, k in cols]])
            for r in self.history:
                w.writerow([r["step"], _cell(r["loss"]),
                            *[_cell(r[key].get(k)) for key, k in cols]])
        return path

    def plot(self, path: str | Path, title: str | None = None) -> Path:
        """A PNG of the recorded steps: loss, gradient norm and update/weight ratio per layer
        (log scales), and saturated / dead units per activation. A dashed line marks where
        the window the verdicts are about begins. Labelled in ``self.lang`` (Chinese needs a
        CJK font: without one, English and a warning)."""
        lang, fonts = plot_lang(self.lang, "Diagnostics.plot")
        with fonts:
            return self._plot(Path(path), title, lang)

    def _plot(self, path: Path, title: str | None, lang: str) -> Path:
        # NOTE: a Figure without pyplot: the user's backend (a notebook's) is left alone
        from matplotlib.figure import Figure

        def tr(key: str, **kw: Any) -> str:
            return i18n_diag.msg(lang, key, **kw)

        h = self.history
        fig = Figure(figsize=(12, 7.5))
        axes = fig.subplots(2, 2)
        (a_loss, a_grad), (a_act, a_upd) = axes

        def series(ax: Any, key: str, scale: float = 1.0) -> int:
            names = _keys(h, key)
            for i, k in enumerate(names):
                xs = [r["step"] for r in h if k in r[key]]
                ys = [r[key][k] * scale for r in h if k in r[key]]
                label = self._label(k) if key in ("grad_norm", "update_ratio") else k
                # NOTE: 20 colours, then the same with another dash pattern: lines stay
                # distinct past the default cycle's 10
                ax.plot(xs, ys, label=label, lw=1.1, color=_colour(i),
                        ls=("--" if key == "dead" else "-") if i < 20 else (0, (5, 1, 1, 1)))
            return len(names)

        losses = [(r["step"], r["loss"]) for r in h if r["loss"] is not None]
        if losses:
            a_loss.plot(*zip(*losses), color="black", lw=1.1)
            if all(v > 0 for _, v in losses):
                a_loss.set_yscale("log")
        a_loss.set_title(tr("plot_loss"))
        series(a_grad, "grad_norm")
        a_grad.set_yscale("log")
        a_grad.set_title(tr("plot_grad"))
        series(a_upd, "update_ratio")
        a_upd.set_yscale("log")
        a_upd.axhspan(self.update_min, self.update_max, color="tab:green", alpha=0.06, lw=0)
        a_upd.axhline(1e-3, color="tab:green", lw=0.9, ls=":", label=tr("plot_healthy"))
        a_upd.set_title(tr("plot_update"))
        if series(a_act, "saturation", 100):
            a_act.axhline(100 * self.saturated_max, color="tab:red", lw=0.9, ls=":",
                          label=tr("plot_saturated", share=f"{self.saturated_max:.0%}"))
        if series(a_act, "dead", 100):
            a_act.axhline(100 * self.dead_max, color="tab:purple", lw=0.9, ls=":",
                          label=tr("plot_dead", share=f"{self.dead_max:.0%}"))
        if not a_act.get_lines():
            a_act.text(0.5, 0.5, tr("plot_no_acts"), transform=a_act.transAxes, ha="center",
                       color="gray")
        a_act.set_ylim(-3, 103)
        a_act.set_title(tr("plot_acts"))
        win = self._window()
        for ax in (a_loss, a_grad, a_act, a_upd):
            if len(h) > 1 and win:
                ax.axvline(win[0]["step"], color="gray", lw=0.8, ls="--")
            ax.set_xlabel(tr("plot_step"))
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8, ncol=2 if len(ax.get_lines()) > 5 else 1)
        warns = self.warnings()
        verdict = (tr("plot_warnings", n=len(warns), s="s" if len(warns) != 1 else "")
                   if warns else tr("ok"))
        span = tr("plot_span", a=win[0]["step"], b=win[-1]["step"]) if win else ""
        fig.suptitle(tr("plot_suptitle", title=title or tr("plot_title"), verdict=verdict,
                        span=span))
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        return path

    def _label(self, layer: str) -> str:
        t = self.types.get(layer)
        return f"{layer} ({t})" if t and t != layer else layer


# ---------------------------------------------------------------------------------------------


def _exempt(graph: list[Node]) -> set[Node]:
    """Sigmoids whose saturation does no harm: those gating their own input, x * sigmoid(x)
    (SiLU), and outputs into a log (binary cross-entropy), whose 1/p cancels s (1 - s)."""
    consumers: dict[Node, list[Node]] = {}
    for n in graph:
        for m in n.next:
            if m is not None:
                consumers.setdefault(m, []).append(n)
    out: set[Node] = set()
    for n in graph:
        if n.name != "sigmoid":
            continue
        users = consumers.get(n, [])
        if any(u.name == "mul" and n.next and n.next[0] is not None and n.next[0] in u.next
               for u in users):
            out.add(n)
        elif any(u.name in ("log", "log1p") or (u.name in ("sub", "neg") and any(
                v.name in ("log", "log1p") for v in consumers.get(u, []))) for u in users):
            out.add(n)
    return out


def _keys(records: list[dict[str, Any]], key: str) -> list[str]:
    seen: dict[str, None] = {}
    for r in records:
        for k in r[key]:
            seen[k] = None
    return list(seen)


def _median(xs: list[float]) -> float:
    if not xs:
        return math.nan
    if any(math.isnan(x) for x in xs):
        xs = [x for x in xs if not math.isnan(x)] or [math.nan]
    ys = sorted(xs)
    m = len(ys) // 2
    return ys[m] if len(ys) % 2 else 0.5 * (ys[m - 1] + ys[m])


def _nonfinite(r: dict[str, Any]) -> bool:
    vals = list(r["grad_norm"].values())
    if r["loss"] is not None:
        vals.append(r["loss"])
    return any(not math.isfinite(v) for v in vals)


def _g(v: float | None) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2g}"


def _cell(v: Any) -> str:
    return "" if v is None else repr(float(v))


def _jsonable(v: Any) -> Any:
    """Strict JSON: NaN and inf become null."""
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _colour(i: int) -> Any:
    from matplotlib import colormaps

    return colormaps["tab20"](i % 20 if i < 10 else (2 * (i % 10) + 1) % 20) if i >= 10 \
        else colormaps["tab10"](i)
