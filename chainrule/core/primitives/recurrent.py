"""Recurrent layers (RNN tanh/relu, LSTM, GRU) over a whole sequence: one primitive per
layer and direction.

NOTE: a primitive for speed. Composed of chainrule ops, one LSTM time step records ~13 nodes
(a matmul, adds, slices, sigmoid, tanh, products), and the issue's benchmark LSTM (2 layers,
hidden 128, sequence 50, batch 32, float32, forward + backward + Adam) took 121 ms per step
against PyTorch's 40 ms (one thread each, 2-core machine): 3x. Here the time loop runs on
arrays: per step one matrix product and ~10 in-place NumPy calls forward, 7 calls and one
matrix product backward (the factors that do not depend on the incoming gradient are
computed for all steps at once), and the hidden-to-hidden weight gradient is one matrix
product over all steps. Measured with benchmarks/run.py --only rnn (OPENBLAS_NUM_THREADS=1,
OMP_NUM_THREADS=1, on the shared 2-core machine under load): a per-step backward 1.73x
PyTorch's time, the all-steps factors 1.55x, without zero-filled buffers 1.39x, the gates
with one tanh 1.29x (chainrule 388 ms, PyTorch 302 ms per step, load average 16). The small
per-step matrix products ((32, 128) @ (128, 512)) cost the same in NumPy and PyTorch; what
is left is NumPy's per-call overhead on (32, 512) arrays.

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


_SCALES: dict[tuple[int, Any], tuple[Any, Any, Any]] = {}


def _lstm_scales(H: int, dt: Any) -> tuple[Any, Any, Any]:
    """Per-column factors over the gates i, f, g, o: the pre-activation scale (1/2 for the
    sigmoid gates, 1 for g), then a * mul + add turns tanh into the sigmoid for i, f, o."""
    key = (H, xp.dtype(dt))
    if key not in _SCALES:
        half = xp.full(4 * H, 0.5, dt)
        half[2 * H:3 * H] = 1.0
        add = xp.full(4 * H, 0.5, dt)
        add[2 * H:3 * H] = 0.0
        for v in (half, add):
            v.flags.writeable = False
        _SCALES[key] = (half, half, add)
        if len(_SCALES) > 64:
            _SCALES.pop(next(iter(_SCALES)))
    return _SCALES[key]


def _order(T: int, reverse: bool) -> range:
    return range(T - 1, -1, -1) if reverse else range(T)


class RecurrentLayer(Node):
    """One recurrent layer in one direction over a sequence (see the module docstring).

    The forward pass keeps, in processing order k (time T-1-k when reversed): ``_h`` (T+1,
    B, H), the hidden states (``_h[k]`` feeds step k); ``_a`` the gate activations; for the
    LSTM ``_c`` (T+1, B, H) the cell states and ``_tc`` = tanh(c); for the GRU ``_c`` holds
    W_hn h + b_hn. Rows not running at a step (packed sequences) carry their state; their
    LSTM forget gate is stored as 1 and the other gates as 0, so the backward pass carries
    the cell gradient through them unchanged.
    """

    __slots__ = ("mode", "reverse", "batch_sizes", "_h", "_a", "_c", "_tc")
    name = "recurrent_layer"
    saves = (0, 1, 2, 3)

    def __init__(self, mode: str, reverse: bool = False,
                 batch_sizes: Sequence[int] | None = None) -> None:
        self.mode = mode
        self.reverse = reverse
        self.batch_sizes = None if batch_sizes is None else tuple(int(b) for b in batch_sizes)
        self._h = self._a = self._c = self._tc = None

    def params(self) -> dict[str, Any]:
        return {"mode": self.mode, "reverse": self.reverse, "batch_sizes": self.batch_sizes}

    def _steps(self, T: int, B: int) -> list[tuple[int, int, int]]:
        """(k, t, rows) for every step in processing order."""
        sizes = self.batch_sizes if self.batch_sizes is not None else (B,) * T
        return [(k, t, sizes[t]) for k, t in enumerate(_order(T, self.reverse))]

    def _in_time_order(self, a: Any) -> Any:
        """A (T, ...) array in processing order, in time order."""
        return a[::-1] if self.reverse else a

    # -- forward --------------------------------------------------------------------------
    def forward(self, xi, whh, bhh, s0):
        T, B, GH = xi.shape
        H = whh.shape[1]
        mode, dt = self.mode, xi.dtype
        whhT = xp.ascontiguousarray(whh.T)
        hs = xp.empty((T + 1, B, H), dt)
        hs[0] = s0[:, :H]
        # every row of a step is written unless the step runs fewer rows (packed): zeros then
        alloc = xp.empty if self.batch_sizes is None else xp.zeros
        self._a = alloc((T, B, GH), dt)
        if mode == "lstm":
            self._c, self._tc = xp.empty((T + 1, B, H), dt), alloc((T, B, H), dt)
            self._c[0] = s0[:, H:]
        elif mode == "gru":
            self._c = alloc((T, B, H), dt)
        xb = xi if mode == "gru" else xi + bhh
        if mode == "lstm":  # gate pre-activations scaled for _lstm_step (see there)
            scale = _lstm_scales(H, dt)[0]
            xb *= scale
            whhT = whhT * scale
        for k, t, n in self._steps(T, B):
            if n < B:
                hs[k + 1, n:] = hs[k, n:]
            if mode == "lstm":
                self._lstm_step(k, n, hs, xb[t, :n], whhT, H)
            elif mode == "gru":
                self._gru_step(k, n, hs, xi[t, :n], whhT, bhh, H)
            else:
                a = self._a[k, :n]
                xp.matmul(hs[k, :n], whhT, out=a)
                a += xb[t, :n]
                if mode == "rnn_tanh":
                    xp.tanh(a, out=a)
                else:
                    xp.maximum(a, 0, out=a)
                hs[k + 1, :n] = a
        self._h = hs
        out = xp.empty((T, B, s0.shape[1]), dt)
        out[:, :, :H] = self._in_time_order(hs[1:])
        if mode == "lstm":
            out[:, :, H:] = self._in_time_order(self._c[1:])
        return out

    def _lstm_step(self, k, n, hs, xb, whhT, H):
        # NOTE: all four gates with one tanh: sigmoid(x) = 0.5 + 0.5 tanh(x / 2), and the
        # pre-activations of i, f, o come pre-halved (weights and inputs scaled by 0.5, exact
        # in floating point): 4 NumPy calls for the gates instead of 8 (and no overflow).
        a, cs = self._a[k, :n], self._c
        xp.matmul(hs[k, :n], whhT, out=a)
        a += xb
        xp.tanh(a, out=a)
        _, mul, add = _lstm_scales(H, a.dtype)
        a *= mul
        a += add
        if n < hs.shape[1]:
            cs[k + 1, n:] = cs[k, n:]
            self._a[k, n:, H:2 * H] = 1.0  # carried rows: c = 1 * c, nothing else
        c = cs[k + 1, :n]
        xp.multiply(a[:, H:2 * H], cs[k, :n], out=c)
        c += a[:, :H] * a[:, 2 * H:3 * H]
        tc = xp.tanh(c, out=self._tc[k, :n])
        xp.multiply(a[:, 3 * H:], tc, out=hs[k + 1, :n])

    def _gru_step(self, k, n, hs, x, whhT, bhh, H):
        hp = hs[k, :n]
        gh = hp @ whhT
        gh += bhh
        rz = self._a[k, :n, :2 * H]
        xp.add(x[:, :2 * H], gh[:, :2 * H], out=rz)
        _sigmoid_(rz)
        hn = self._c[k, :n]
        hn[...] = gh[:, 2 * H:]
        nn = self._a[k, :n, 2 * H:]
        xp.multiply(rz[:, :H], hn, out=nn)
        nn += x[:, 2 * H:]
        xp.tanh(nn, out=nn)
        h = hs[k + 1, :n]
        xp.subtract(hp, nn, out=h)
        h *= rz[:, H:]
        h += nn

    # -- backward -------------------------------------------------------------------------
    def vjp(self, g):
        if graph.is_grad_enabled():
            return self._vjp_differentiable(g)
        xi, whh, bhh, s0 = (t._data for t in self.inputs)
        T, B, GH = xi.shape
        H = whh.shape[1]
        gd = self._in_time_order(g._data)  # processing order from here on
        if self.mode == "lstm":
            dx, dh, dc = self._lstm_back(gd, whh, T, B, H)
            dgh, ds0 = dx, (dh, dc)
        else:
            dx, dgh, dh = self._back(gd, whh, T, B, H)
            ds0 = (dh,)
        nx = self.next
        d2 = dgh.reshape(T * B, GH)
        return (graph._make(self._in_time_order(dx)) if nx[0] is not None else None,
                graph._make(d2.T @ self._h[:-1].reshape(T * B, H))
                if nx[1] is not None else None,
                graph._make(d2.sum(0)) if nx[2] is not None else None,
                graph._make(xp.concatenate(ds0, axis=1)) if nx[3] is not None else None)

    def _lstm_back(self, gd, whh, T, B, H):
        # NOTE: every factor that does not depend on the incoming gradient is computed for
        # all steps at once (a few large array ops); the loop over time is then 7 NumPy calls
        # per step: dc gathers dh * o (1 - tanh(c)^2), the gate gradients are dc or dh times
        # those factors, and dh flows back through one matrix product.
        a, tc = self._a, self._tc
        i, f, gg, o = a[..., :H], a[..., H:2 * H], a[..., 2 * H:3 * H], a[..., 3 * H:]
        k3 = xp.empty((T, B, 3, H), a.dtype)
        xp.multiply(gg * i, 1.0 - i, out=k3[:, :, 0])
        xp.multiply(self._c[:-1] * f, 1.0 - f, out=k3[:, :, 1])
        xp.multiply(i, 1.0 - gg * gg, out=k3[:, :, 2])
        ko = tc * o * (1.0 - o)
        kc = o * (1.0 - tc * tc)
        dx = xp.empty((T, B, 4 * H), a.dtype)
        dh, dc = xp.zeros((B, H), a.dtype), xp.zeros((B, H), a.dtype)
        tmp = xp.empty((B, H), a.dtype)
        for k, _, n in reversed(self._steps(T, B)):
            dh += gd[k, :, :H]
            dc += gd[k, :, H:]
            xp.multiply(dh, kc[k], out=tmp)
            dc += tmp
            d = dx[k].reshape(B, 4, H)
            xp.multiply(dc[:, None], k3[k], out=d[:, :3])
            xp.multiply(dh, ko[k], out=d[:, 3])
            dc *= f[k]
            if n == B:
                xp.matmul(dx[k], whh, out=dh)
            else:
                dh[:n] = dx[k, :n] @ whh
        return dx, dh, dc

    def _back(self, gd, whh, T, B, H):
        """RNN and GRU: step by step (see _step_back)."""
        GH = whh.shape[0]
        dx = xp.zeros((T, B, GH), gd.dtype)
        dgh = xp.zeros((T, B, GH), gd.dtype) if self.mode == "gru" else dx
        dh = xp.zeros((B, H), gd.dtype)
        for k, _, n in reversed(self._steps(T, B)):
            dh += gd[k, :, :H]
            dh[:n] = self._step_back(k, n, H, dh[:n], dx, dgh, whh)
        return dx, dgh, dh

    def _step_back(self, k, n, H, dh, dx, dgh, whh):
        """Backpropagate step k for the rows :n: fill dx[k], dgh[k]; return the cotangent
        of the previous hidden state."""
        a = self._a[k, :n]
        if self.mode == "gru":
            r, z, nn = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
            dnp = dh * (1.0 - z) * (1.0 - nn * nn)
            d = dx[k, :n]
            d[:, :H] = dnp * self._c[k, :n] * r * (1.0 - r)
            d[:, H:2 * H] = dh * (self._h[k, :n] - nn) * z * (1.0 - z)
            d[:, 2 * H:] = dnp
            e = dgh[k, :n]
            e[:, :2 * H] = d[:, :2 * H]
            e[:, 2 * H:] = dnp * r
            return e @ whh + dh * z
        d = dx[k, :n]
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
