"""Backpropagation through time, step by step, in NumPy: the numbers behind an unrolled
recurrent layer (see :mod:`chainrule.viz.unroll`).

The engine runs a whole ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` layer (one direction) as one
fused node. To show it one time step at a time, :func:`through_time` re-runs the cell's
arithmetic in float64 from the node's own inputs (the input gates ``x W_ih^T + b_ih`` of
every step, ``W_hh``, ``b_hh``, the initial state) and walks the chain rule back from the
gradient the engine sent to the layer's output. It keeps, for every step t: the state h_t
(and c_t), dL/dh_t (and dL/dc_t) split into what arrives from the output at step t and what
the next step sends back, and each repeated weight's share of its gradient, whose sum over
the steps is the weight's ``.grad`` (tests/viz/test_unroll.py checks all of it against the
engine and against a hand-unrolled loop of cells).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from ..backend import xp as np

__all__ = ["ThroughTime", "through_time"]

_F64 = np.float64


def _sigmoid(a: Any) -> Any:
    return 0.5 + 0.5 * np.tanh(0.5 * a)


@dataclass
class ThroughTime:
    """One recurrent layer in one direction, unrolled. Arrays are float64, indexed by time
    step t = 0..T-1 (time order, whichever the direction); ``order`` is the order the steps
    ran in (reversed for a reverse direction).

    ``h[t]`` (B, H) the state after step t (``c[t]`` the LSTM's cell state); ``h0``, ``c0``
    the initial state. With a gradient: ``dh[t]`` = dL/dh_t, the sum of ``from_output[t]``
    (what the layer's output sends back at step t) and ``from_next[t]`` (what the step run
    after it sends back through h_t; zeros for the last one); ``dc``, ``dc_from_next`` the
    same for the cell state (dL/dc_t also gets dh_t * o_t * tanh'(c_t) within the step).
    ``d_gates[t]`` is dL/d(input gates) of step t and ``d_hidden[t]`` dL/d(W_hh h_(t-1) +
    b_hh) (the same but for the GRU's n gate, which multiplies it by r), ``shares[name][t]``
    step t's share of the gradient of ``name`` (``weight_hh``, ``bias_hh``, and with the
    input projection ``weight_ih``, ``bias_ih``, ``input``), and ``d_initial`` dL/d(initial
    state).
    """

    mode: str
    reverse: bool
    order: list[int]
    h: Any
    c: Any
    h0: Any
    c0: Any
    dh: Any = None
    dc: Any = None
    from_output: Any = None
    from_next: Any = None
    dc_from_next: Any = None
    d_gates: Any = None
    d_hidden: Any = None
    d_initial: Any = None
    shares: dict[str, Any] = field(default_factory=dict)

    @property
    def T(self) -> int:
        return len(self.order)

    def total(self, name: str) -> Any:
        """The gradient of ``name``: its per-step shares summed over time."""
        return self.shares[name].sum(0)

    def state(self, t: int) -> Any:
        """The layer's output at step t: h_t, or (h_t, c_t) side by side for an LSTM."""
        return self.h[t] if self.c is None else np.concatenate([self.h[t], self.c[t]], 1)


def through_time(mode: str, reverse: bool, xi: Any, whh: Any, bhh: Any, s0: Any,
                 grad: Any = None, x: Any = None, wih: Any = None,
                 batch_sizes: Sequence[int] | None = None) -> ThroughTime:
    """Unroll one recurrent layer (the inputs of its ``recurrent_layer`` node: ``xi`` (T, B,
    G*H), ``whh``, ``bhh``, ``s0``) in float64; with ``grad`` (T, B, S), the gradient of its
    output, walk backpropagation through time. ``x`` (T, B, I) and ``wih`` (G*H, I), the
    layer's input and input weights, add the shares of ``weight_ih``, ``bias_ih`` and of the
    input at each step."""
    xi, whh, bhh, s0 = (np.asarray(a, _F64) for a in (xi, whh, bhh, s0))
    T, B, _ = xi.shape
    H = whh.shape[1]
    sizes = list(batch_sizes) if batch_sizes is not None else [B] * T
    order = list(range(T - 1, -1, -1) if reverse else range(T))
    lstm, gru = mode == "lstm", mode == "gru"
    h = np.empty((T, B, H))
    c = np.empty((T, B, H)) if lstm else None
    acts = np.zeros((T, B, whh.shape[0]))
    hn = np.zeros((T, B, H))  # GRU: W_hn h_prev + b_hn
    prev_h = np.empty((T, B, H))
    prev_c = np.empty((T, B, H)) if lstm else None
    hp, cp = s0[:, :H], (s0[:, H:] if lstm else None)
    for t in order:
        n = sizes[t]
        prev_h[t] = hp
        if lstm:
            prev_c[t] = cp  # type: ignore[index]
        gh = hp[:n] @ whh.T + bhh
        hnew = hp.copy()  # rows past n carry their state
        cnew = cp.copy() if cp is not None else None
        if lstm:
            z = xi[t, :n] + gh
            a = np.concatenate([_sigmoid(z[:, :2 * H]), np.tanh(z[:, 2 * H:3 * H]),
                                _sigmoid(z[:, 3 * H:])], 1)
            cnew[:n] = a[:, H:2 * H] * cp[:n] + a[:, :H] * a[:, 2 * H:3 * H]  # type: ignore
            hnew[:n] = a[:, 3 * H:] * np.tanh(cnew[:n])  # type: ignore[index]
        elif gru:
            rz = _sigmoid(xi[t, :n, :2 * H] + gh[:, :2 * H])
            hn[t, :n] = gh[:, 2 * H:]
            nn = np.tanh(xi[t, :n, 2 * H:] + rz[:, :H] * gh[:, 2 * H:])
            a = np.concatenate([rz, nn], 1)
            hnew[:n] = nn + rz[:, H:] * (hp[:n] - nn)
        else:
            pre = xi[t, :n] + gh
            a = np.tanh(pre) if mode == "rnn_tanh" else np.maximum(pre, 0.0)
            hnew[:n] = a
        acts[t, :n] = a
        h[t], hp = hnew, hnew
        if lstm:
            c[t], cp = cnew, cnew  # type: ignore[index]
    tt = ThroughTime(mode, reverse, order, h, c, s0[:, :H], s0[:, H:] if lstm else None)
    if grad is not None:
        _backward(tt, np.asarray(grad, _F64), acts, hn, prev_h, prev_c, whh, sizes)
        _shares(tt, prev_h, x, wih)
    return tt


def _backward(tt: ThroughTime, g: Any, acts: Any, hn: Any, prev_h: Any, prev_c: Any,
              whh: Any, sizes: list[int]) -> None:
    """dL/dh_t, dL/dc_t and dL/d(gates) of every step, last step run first."""
    T, B, H = tt.h.shape
    lstm = tt.mode == "lstm"
    tt.from_output = g
    tt.dh, tt.from_next, tt.d_gates = np.empty((T, B, H)), np.empty((T, B, H)), \
        np.zeros((T, B, whh.shape[0]))
    tt.d_hidden = np.zeros((T, B, whh.shape[0]))
    if lstm:
        tt.dc, tt.dc_from_next = np.empty((T, B, H)), np.empty((T, B, H))
    nxt_h, nxt_c = np.zeros((B, H)), np.zeros((B, H))
    for t in reversed(tt.order):
        n = sizes[t]
        tt.from_next[t] = nxt_h
        dh = g[t, :, :H] + nxt_h
        tt.dh[t] = dh
        a = acts[t, :n]
        back_h = dh.copy()  # rows past n carry their state and its gradient
        if lstm:
            tt.dc_from_next[t] = nxt_c
            i, f, gg, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            tc = np.tanh(tt.c[t, :n])  # type: ignore[index]
            dc = g[t, :, H:] + nxt_c
            dc[:n] += dh[:n] * o * (1.0 - tc * tc)
            tt.dc[t] = dc
            d = np.concatenate([dc[:n] * gg * i * (1 - i), dc[:n] * prev_c[t, :n] * f * (1 - f),
                                dc[:n] * i * (1 - gg * gg), dh[:n] * tc * o * (1 - o)], 1)
            back_c = dc.copy()
            back_c[:n] = dc[:n] * f
            nxt_c = back_c
            dgh = d
        elif tt.mode == "gru":
            r, z, nn = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
            dnp = dh[:n] * (1 - z) * (1 - nn * nn)
            dr = dnp * hn[t, :n] * r * (1 - r)
            dz = dh[:n] * (prev_h[t, :n] - nn) * z * (1 - z)
            d = np.concatenate([dr, dz, dnp], 1)
            dgh = np.concatenate([dr, dz, dnp * r], 1)
        else:
            d = dh[:n] * ((1 - a * a) if tt.mode == "rnn_tanh" else (a > 0))
            dgh = d
        tt.d_gates[t, :n] = d
        tt.d_hidden[t, :n] = dgh
        back_h[:n] = dgh @ whh + (dh[:n] * a[:, H:2 * H] if tt.mode == "gru" else 0.0)
        nxt_h = back_h
    tt.d_initial = np.concatenate([nxt_h, nxt_c], 1) if lstm else nxt_h


def _shares(tt: ThroughTime, prev_h: Any, x: Any, wih: Any) -> None:
    """Each repeated weight's share of its gradient at every step."""
    dgh = tt.d_hidden
    tt.shares["weight_hh"] = np.einsum("tbg,tbh->tgh", dgh, prev_h)
    tt.shares["bias_hh"] = dgh.sum(1)
    if x is not None and wih is not None:
        x = np.asarray(x, _F64)
        tt.shares["weight_ih"] = np.einsum("tbg,tbi->tgi", tt.d_gates, x)
        tt.shares["bias_ih"] = tt.d_gates.sum(1)
        tt.shares["input"] = tt.d_gates @ np.asarray(wih, _F64)
