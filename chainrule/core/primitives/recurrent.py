"""Recurrent layers (RNN tanh/relu, LSTM, GRU) over a whole sequence: one primitive per
layer and direction.

NOTE: a primitive for speed. Composed of chainrule ops, one LSTM time step records ~13 nodes
(a matmul, adds, slices, sigmoid, tanh, products), and PyTorch's benchmark LSTM (2 layers,
hidden 128, sequence 50, batch 32, float32, forward + backward + Adam) took 121 ms per step
against PyTorch's 40 ms (one thread each). Here the time loop runs on arrays: per step one
matrix product and a handful of in-place NumPy passes forward, the same backward (by hand,
below), and the hidden-to-hidden weight gradient is one matrix product over all steps at
the end. Measured numbers are in benchmarks/bench_rnn.py's docstring.

Gradients of any order: the hand-written backward runs on arrays only when nothing records
it (plain ``backward()``). Under ``create_graph=True`` the vjp is taken through
:func:`recurrent_composite`, the same recurrence written with chainrule ops, so second
derivatives come from that (slow, exact) graph.

Layout. Inputs: ``xi`` (T, B, G*H), the input projection ``x W_ih^T + b_ih`` of every step
(computed outside by one matrix product); ``whh`` (G*H, H); ``bhh`` (G*H,); ``s0`` (B, S),
the initial state, S = H (RNN, GRU) or 2H (LSTM: h then c). Output (T, B, S): the state
after every step, in time order whichever the direction. Gates in PyTorch's order: LSTM
i, f, g, o; GRU r, z, n with ``n = tanh(x_n + r * (W_hn h + b_hn))``.

Packed sequences: ``batch_sizes[t]`` rows take part in step t (rows sorted by decreasing
length, as in a PackedSequence); the other rows carry their state unchanged, so the state at
the last step of the direction is every row's final state (PyTorch's h_n).
"""

from __future__ import annotations

from typing import Any, Sequence

from ...backend import errstate, xp
from .. import functional as F
from .. import graph
from ..graph import Node, apply
from .structure import Reshape

MODES = ("rnn_tanh", "rnn_relu", "lstm", "gru")
GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


def _sigmoid_(a: Any) -> Any:
    """1 / (1 + exp(-a)) in place (exp overflowing to inf gives exactly 0)."""
    with errstate(over="ignore"):
        xp.negative(a, out=a)
        xp.exp(a, out=a)
    a += 1.0
    xp.reciprocal(a, out=a)
    return a


def _order(T: int, reverse: bool) -> range:
    return range(T - 1, -1, -1) if reverse else range(T)


class RecurrentLayer(Node):
    """One recurrent layer in one direction over a sequence (see the module docstring)."""

    __slots__ = ("mode", "reverse", "batch_sizes", "_hp", "_a", "_c", "_tc")
    name = "recurrent_layer"
    saves = (0, 1, 2, 3)

    def __init__(self, mode: str, reverse: bool = False,
                 batch_sizes: Sequence[int] | None = None) -> None:
        self.mode = mode
        self.reverse = reverse
        self.batch_sizes = None if batch_sizes is None else tuple(int(b) for b in batch_sizes)
        self._hp = self._a = self._c = self._tc = None

    def params(self) -> dict[str, Any]:
        return {"mode": self.mode, "reverse": self.reverse, "batch_sizes": self.batch_sizes}

    def _sizes(self, T: int, B: int) -> tuple[int, ...]:
        return self.batch_sizes if self.batch_sizes is not None else (B,) * T

    # -- forward --------------------------------------------------------------------------
    def forward(self, xi, whh, bhh, s0):
        T, B, GH = xi.shape
        H = whh.shape[1]
        mode, dt = self.mode, xi.dtype
        whhT = xp.ascontiguousarray(whh.T)
        out = xp.empty((T, B, s0.shape[1]), dt)
        h = s0[:, :H].copy()
        c = s0[:, H:].copy() if mode == "lstm" else None
        hp_all = xp.zeros((T, B, H), dt)
        a_all = xp.zeros((T, B, GH if mode != "rnn_relu" and mode != "rnn_tanh" else H), dt)
        if mode == "lstm":
            self._c, self._tc = xp.zeros((T, B, H), dt), xp.zeros((T, B, H), dt)
        elif mode == "gru":
            self._c = xp.zeros((T, B, H), dt)  # W_hn h + b_hn
        for t, n in zip(_order(T, self.reverse), self._sizes(T, B)[::-1] if self.reverse
                        else self._sizes(T, B)):
            hp = h[:n]
            hp_all[t, :n] = hp
            gh = hp @ whhT
            gh += bhh
            if mode == "lstm":
                gh += xi[t, :n]
                g = xp.tanh(gh[:, 2 * H:3 * H])
                a = _sigmoid_(gh)
                a[:, 2 * H:3 * H] = g
                a_all[t, :n] = a
                self._c[t, :n] = c[:n]
                cn = a[:, H:2 * H] * c[:n]
                cn += a[:, :H] * g
                tc = xp.tanh(cn)
                self._tc[t, :n] = tc
                c[:n] = cn
                h[:n] = a[:, 3 * H:] * tc
            elif mode == "gru":
                x = xi[t, :n]
                rz = _sigmoid_(x[:, :2 * H] + gh[:, :2 * H])
                hn = gh[:, 2 * H:]
                nn = xp.tanh(x[:, 2 * H:] + rz[:, :H] * hn)
                a_all[t, :n, :2 * H] = rz
                a_all[t, :n, 2 * H:] = nn
                self._c[t, :n] = hn
                h[:n] = nn + rz[:, H:] * (hp - nn)
            else:
                gh += xi[t, :n]
                hn = xp.tanh(gh, out=gh) if mode == "rnn_tanh" else xp.maximum(gh, 0, out=gh)
                a_all[t, :n] = hn
                h[:n] = hn
            out[t, :, :H] = h
            if c is not None:
                out[t, :, H:] = c
        self._hp, self._a = hp_all, a_all
        return out

    # -- backward -------------------------------------------------------------------------
    def vjp(self, g):
        if graph.is_grad_enabled():
            return self._vjp_differentiable(g)
        xi, whh, bhh, s0 = (t._data for t in self.inputs)
        T, B, GH = xi.shape
        H = whh.shape[1]
        mode, gd = self.mode, g._data
        dx = xp.zeros((T, B, GH), xi.dtype)
        dgh = xp.zeros((T, B, GH), xi.dtype) if mode == "gru" else dx  # hidden-side gates
        dh = xp.zeros((B, H), xi.dtype)
        dc = xp.zeros((B, H), xi.dtype) if mode == "lstm" else None
        sizes = self._sizes(T, B)
        steps = list(zip(_order(T, self.reverse), sizes[::-1] if self.reverse else sizes))
        for t, n in reversed(steps):
            dh += gd[t, :, :H]
            if dc is not None:
                dc += gd[t, :, H:]
            dh[:n] = self._step_back(t, n, H, dh[:n], dc, dx, dgh, whh)
        hp = self._hp.reshape(T * B, H)
        d2 = dgh.reshape(T * B, GH)
        nx = self.next
        ds0 = None
        if nx[3] is not None:
            ds0 = dh if dc is None else xp.concatenate([dh, dc], axis=1)
        return (graph._make(dx) if nx[0] is not None else None,
                graph._make(d2.T @ hp) if nx[1] is not None else None,
                graph._make(d2.sum(0)) if nx[2] is not None else None,
                graph._make(ds0) if ds0 is not None else None)

    def _step_back(self, t, n, H, dh, dc, dx, dgh, whh):
        """Backpropagate one step for the rows :n: fill dx[t], dgh[t] (and dc[:n] in place);
        return the cotangent of the previous hidden state."""
        a = self._a[t, :n]
        if self.mode == "lstm":
            i, f, gg, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            tc = self._tc[t, :n]
            dcn = dc[:n]
            dcn += dh * o * (1.0 - tc * tc)
            d = dx[t, :n]
            d[:, 3 * H:] = dh * tc * o * (1.0 - o)
            d[:, :H] = dcn * gg * i * (1.0 - i)
            d[:, H:2 * H] = dcn * self._c[t, :n] * f * (1.0 - f)
            d[:, 2 * H:3 * H] = dcn * i * (1.0 - gg * gg)
            dcn *= f
            return d @ whh
        if self.mode == "gru":
            r, z, nn = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
            hp = self._hp[t, :n]
            dnp = dh * (1.0 - z) * (1.0 - nn * nn)
            d = dx[t, :n]
            d[:, :H] = dnp * self._c[t, :n] * r * (1.0 - r)
            d[:, H:2 * H] = dh * (hp - nn) * z * (1.0 - z)
            d[:, 2 * H:] = dnp
            e = dgh[t, :n]
            e[:, :2 * H] = d[:, :2 * H]
            e[:, 2 * H:] = dnp * r
            return e @ whh + dh * z
        d = dx[t, :n]
        if self.mode == "rnn_tanh":
            xp.multiply(dh, 1.0 - a * a, out=d)
        else:
            xp.multiply(dh, a > 0, out=d)
        return d @ whh

    def _vjp_differentiable(self, g):
        # The vjp through the composite recurrence: aliases (new nodes) of the inputs, so that
        # grad() captures the partial derivatives, not paths between the inputs.
        from ..autograd import grad

        want = [i for i in range(4) if self.needs_grad(i)]
        xs = [apply(Reshape(t.shape), t) if i in want else t
              for i, t in enumerate(self.inputs)]
        out = recurrent_composite(self.mode, *xs, batch_sizes=self.batch_sizes,
                                  reverse=self.reverse)
        got = grad(out, [xs[i] for i in want], g, create_graph=True, allow_unused=True,
                   materialize_grads=True)
        res: list[Any] = [None] * 4
        for i, d in zip(want, got):
            res[i] = d
        return tuple(res)


def _cell(mode: str, gx: Any, hp: Any, cp: Any, whhT: Any, bhh: Any, whrT: Any) -> Any:
    """One step of the recurrence with chainrule ops: (h, c) from the input gates gx, the
    previous state (hp, cp) and the hidden weights."""
    gh = F.matmul(hp, whhT)
    if bhh is not None:
        gh = F.add(gh, bhh)
    if mode == "lstm":
        H = cp.shape[1]
        z = F.add(gx, gh)
        i, f = F.sigmoid(z[:, :H]), F.sigmoid(z[:, H:2 * H])
        g, o = F.tanh(z[:, 2 * H:3 * H]), F.sigmoid(z[:, 3 * H:])
        c = F.add(F.mul(f, cp), F.mul(i, g))
        h = F.mul(o, F.tanh(c))
        return (F.matmul(h, whrT) if whrT is not None else h), c
    if mode == "gru":
        H = hp.shape[1]
        r = F.sigmoid(F.add(gx[:, :H], gh[:, :H]))
        z = F.sigmoid(F.add(gx[:, H:2 * H], gh[:, H:2 * H]))
        n = F.tanh(F.add(gx[:, 2 * H:], F.mul(r, gh[:, 2 * H:])))
        return F.add(n, F.mul(z, F.sub(hp, n))), None
    pre = F.add(gx, gh)
    return (F.tanh(pre) if mode == "rnn_tanh" else F.relu(pre)), None


def recurrent_composite(mode: str, xi: Any, whh: Any, bhh: Any, s0: Any,
                        batch_sizes: Sequence[int] | None = None, reverse: bool = False,
                        whr: Any = None) -> Any:
    """The recurrence of :class:`RecurrentLayer` with chainrule ops (same inputs and output).

    ``whr`` (P, H), LSTM only: the projection of PyTorch's ``proj_size`` (h = W_hr h); then
    ``whh`` is (4H, P) and the state is h (P) then c (H).
    """
    T, B = xi.shape[0], xi.shape[1]
    P = whh.shape[1]
    h = s0[:, :P]
    c = s0[:, P:] if mode == "lstm" else None
    whhT = F.transpose(whh, 0, 1)
    whrT = F.transpose(whr, 0, 1) if whr is not None else None
    sizes = tuple(batch_sizes) if batch_sizes is not None else (B,) * T
    outs: list[Any] = [None] * T
    for t, n in zip(_order(T, reverse), sizes[::-1] if reverse else sizes):
        part = n < B
        hn, cn = _cell(mode, xi[t, :n] if part else xi[t], h[:n] if part else h,
                       (c[:n] if part else c) if c is not None else None, whhT, bhh, whrT)
        h = F.cat([hn, h[n:]]) if part else hn
        if c is not None:
            c = F.cat([cn, c[n:]]) if part else cn
        outs[t] = F.cat([h, c], 1) if c is not None else h
    return F.stack(outs)
