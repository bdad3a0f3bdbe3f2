"""Recurrent layers: nn.RNN, nn.LSTM, nn.GRU and their cells, with PyTorch's parameters
(names, shapes, gate order, default init), arguments, shapes and PackedSequence inputs.

Each layer and direction runs as one :class:`~chainrule.core.primitives.recurrent.
RecurrentLayer` node over the whole sequence (see its NOTE for why and the numbers), after
one matrix product for the input projection of every step. LSTM with ``proj_size`` runs the
same recurrence composed of chainrule ops.

>>> import chainrule as cr
>>> from chainrule import nn
>>> _ = cr.manual_seed(0)
>>> lstm = nn.LSTM(input_size=8, hidden_size=16, num_layers=2, batch_first=True)
>>> out, (h, c) = lstm(cr.randn(4, 5, 8))      # batch 4, 5 steps
>>> out.shape, h.shape, c.shape
(torch.Size([4, 5, 16]), torch.Size([2, 4, 16]), torch.Size([2, 4, 16]))
"""

from __future__ import annotations

import math
from typing import Any

from ..core import functional as _F
from ..core.creation import Generator, empty, zeros
from ..core.graph import apply
from ..core.primitives.recurrent import GATES, RecurrentLayer, recurrent_composite
from ..core.tensor import Tensor
from . import functional as F
from . import init
from .module import Module, Parameter
from .rnn_utils import PackedSequence, packed_to_padded, padded_to_packed

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_NAMES = {"rnn_tanh": "RNN", "rnn_relu": "RNN", "lstm": "LSTM", "gru": "GRU"}


def _check_size(name: str, what: str, v: Any, minimum: int = 1) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < minimum:
        raise ValueError(f"{name}: {what} must be an int >= {minimum}, got {v!r}")
    return v


def _shape(t: Any) -> tuple[int, ...]:
    return tuple(t.shape)


def _reset_uniform(module: Module, hidden_size: int, generator: Generator | None) -> None:
    stdv = 1.0 / math.sqrt(hidden_size)
    for w in module.parameters():
        init.uniform_(w, -stdv, stdv, generator=generator)


class RNNBase(Module):
    """What RNN, LSTM and GRU share: the parameters ``weight_ih_l{k}[_reverse]``,
    ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}`` (and ``weight_hr_l{k}`` for an LSTM
    with ``proj_size``), all U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), and the forward
    pass over layers and directions."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: Any = None,
                 dtype: Any = None, generator: Generator | None = None) -> None:
        super().__init__()
        name = _NAMES[mode]
        self.mode = mode
        self.input_size = _check_size(name, "input_size", input_size, 0)
        self.hidden_size = _check_size(name, "hidden_size", hidden_size)
        self.num_layers = _check_size(name, "num_layers", num_layers)
        self.proj_size = _check_size(name, "proj_size", proj_size, 0)
        if proj_size and mode != "lstm":
            raise ValueError(f"{name}: proj_size is supported only by LSTM")
        if proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size has to be smaller than hidden_size, got "
                             f"proj_size={proj_size}, hidden_size={hidden_size}")
        if (not isinstance(dropout, (int, float)) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError(f"{name}: dropout should be a number in range [0, 1] representing "
                             f"the probability of an element being zeroed, got {dropout!r}")
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        self.dropout, self.bidirectional = float(dropout), bool(bidirectional)
        G, H, P = GATES[mode], hidden_size, proj_size or hidden_size
        D = 2 if bidirectional else 1
        self._flat_weights_names: list[str] = []
        for k in range(num_layers):
            for d in range(D):
                sfx = f"_l{k}" + ("_reverse" if d else "")
                shapes: list[tuple[str, tuple[int, ...]]] = [
                    ("weight_ih", (G * H, input_size if k == 0 else P * D)),
                    ("weight_hh", (G * H, P))]
                if bias:
                    shapes += [("bias_ih", (G * H,)), ("bias_hh", (G * H,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, H)))
                for pname, shape in shapes:
                    setattr(self, pname + sfx, Parameter(empty(*shape, dtype=dtype)))
                    self._flat_weights_names.append(pname + sfx)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: Generator | None = None) -> None:
        """PyTorch's default: every parameter U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        _reset_uniform(self, self.hidden_size, generator)

    def flatten_parameters(self) -> None:
        """PyTorch's cuDNN weight-layout call: on the CPU (PyTorch's too) there is nothing to
        flatten, so programs that call it run unchanged."""

    @property
    def all_weights(self) -> list[list[Parameter]]:
        per = len(self._flat_weights_names) // (self.num_layers * (1 + self.bidirectional))
        names = self._flat_weights_names
        return [[getattr(self, n) for n in names[i:i + per]] for i in range(0, len(names), per)]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s

    # -- argument checks ------------------------------------------------------------------
    def _name(self) -> str:
        return type(self).__name__

    def _check_input(self, x: Any, packed: bool) -> None:
        name = self._name()
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}: expected the input to be a Tensor or PackedSequence, got "
                            f"{type(x).__name__}")
        if x.ndim not in ((2,) if packed else (2, 3)):
            layout = "(N, L, H_in)" if self.batch_first else "(L, N, H_in)"
            raise ValueError(f"{name}: expected input to be {'2D' if packed else '2D or 3D'}, "
                             f"got {x.ndim}D instead (shape {_shape(x)}); the layout is "
                             f"{layout} (batch_first={self.batch_first}), or (L, H_in) "
                             "unbatched")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input.size(-1) must be equal to input_size. Expected "
                             f"{self.input_size}, got {x.shape[-1]} (input shape {_shape(x)})")
        if not x.is_floating_point():
            raise TypeError(f"{name}: expected a floating-point input, got {x.dtype}; convert "
                            "it with x.float()")
        w = self.weight_ih_l0
        if x._data.dtype != w._data.dtype:
            raise TypeError(f"{name}: input dtype {x.dtype} does not match the parameters' "
                            f"dtype {w.dtype}; convert the input (x.to({w.dtype.name!r})) or the "
                            f"layer (.to({x.dtype.name!r}))")

    def _check_hidden(self, h: Any, expected: tuple[int, ...], what: str) -> None:
        if not isinstance(h, Tensor):
            raise TypeError(f"{self._name()}: expected {what} to be a Tensor, got "
                            f"{type(h).__name__}")
        if _shape(h) != expected:
            last = "proj_size" if what != "hidden[1]" and self.proj_size else "hidden_size"
            raise RuntimeError(f"{self._name()}: expected {what} size {expected}, got "
                               f"{_shape(h)} (num_layers * num_directions, batch, {last})")
        if h._data.dtype != self.weight_ih_l0._data.dtype:
            raise TypeError(f"{self._name()}: {what} dtype {h.dtype} does not match the "
                            f"parameters' dtype {self.weight_ih_l0.dtype}")

    def _initial(self, hx: Any, B: int, unbatched: bool, dt: Any) -> tuple[Tensor, Tensor | None]:
        """(h0, c0) of shapes (L*D, B, P) and (L*D, B, H); zeros where hx is None."""
        LD = self.num_layers * (1 + self.bidirectional)
        H, P = self.hidden_size, self.proj_size or self.hidden_size
        lstm = self.mode == "lstm"
        if hx is None:
            return zeros(LD, B, P, dtype=dt), (zeros(LD, B, H, dtype=dt) if lstm else None)
        if lstm:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"LSTM: expected hx to be a tuple (h_0, c_0), got "
                                f"{type(hx).__name__}")
            hs = list(hx)
        else:
            hs = [hx]
        out = []
        for i, (h, size) in enumerate(zip(hs, (P, H))):
            what = f"hidden[{i}]" if lstm else "hidden"
            if unbatched:
                if isinstance(h, Tensor) and h.ndim != 2:
                    raise RuntimeError(f"{self._name()}: for unbatched 2-D input, {what} "
                                       f"should also be 2-D but got {h.ndim}-D tensor (shape "
                                       f"{_shape(h)})")
                self._check_hidden(h, (LD, size), what)
                h = _F.unsqueeze(h, 1)
            else:
                if isinstance(h, Tensor) and h.ndim != 3:
                    raise RuntimeError(f"{self._name()}: for batched 3-D input, {what} should "
                                       f"also be 3-D but got {h.ndim}-D tensor (shape "
                                       f"{_shape(h)})")
                self._check_hidden(h, (LD, B, size), what)
            out.append(h)
        return out[0], (out[1] if lstm else None)

    # -- forward --------------------------------------------------------------------------
    def forward(self, input: Any, hx: Any = None) -> tuple[Any, Any]:
        packed = isinstance(input, PackedSequence)
        if packed:
            self._check_input(input.data, True)
            sizes = [int(b) for b in input.batch_sizes._data]
            x = packed_to_padded(input.data, sizes)
            unbatched = False
        else:
            self._check_input(input, False)
            sizes = None
            unbatched = input.ndim == 2
            x = _F.unsqueeze(input, 1) if unbatched else input
            if self.batch_first and not unbatched:
                x = _F.transpose(x, 0, 1)
        B = x.shape[1]
        h0, c0 = self._initial(hx, B, unbatched, x._data.dtype)
        if packed and input.sorted_indices is not None:  # hx is in the caller's batch order
            idx = input.sorted_indices
            h0 = h0[:, idx]
            c0 = c0[:, idx] if c0 is not None else None
        out, h_n, c_n = self._run(x, h0, c0, sizes)
        if packed:
            if input.unsorted_indices is not None:
                h_n = h_n[:, input.unsorted_indices]
                c_n = c_n[:, input.unsorted_indices] if c_n is not None else None
            assert sizes is not None
            result: Any = input._replace(data=padded_to_packed(out, sizes))
        elif unbatched:
            result = _F.squeeze(out, 1)
            h_n = _F.squeeze(h_n, 1)
            c_n = _F.squeeze(c_n, 1) if c_n is not None else None
        else:
            result = _F.transpose(out, 0, 1) if self.batch_first else out
        return result, ((h_n, c_n) if self.mode == "lstm" else h_n)

    def _run(self, x: Tensor, h0: Tensor, c0: Tensor | None,
             sizes: list[int] | None) -> tuple[Tensor, Tensor, Tensor | None]:
        T, B = x.shape[0], x.shape[1]
        D = 1 + self.bidirectional
        P = self.proj_size or self.hidden_size
        hs, cs = [], []
        layer_in = x
        for k in range(self.num_layers):
            if k and self.dropout and self.training:
                layer_in = F.dropout(layer_in, self.dropout, training=True)
            flat = _F.reshape(layer_in, (T * B, layer_in.shape[2]))
            outs = []
            for d in range(D):
                i = k * D + d
                s0 = h0[i] if c0 is None else _F.cat([h0[i], c0[i]], 1)
                states = self._direction(flat, T, B, k, d, s0, sizes)
                last = states[0 if d else T - 1]
                hs.append(last[:, :P] if c0 is not None else last)
                if c0 is not None:
                    cs.append(last[:, P:])
                outs.append(states[:, :, :P] if c0 is not None else states)
            layer_in = outs[0] if D == 1 else _F.cat(outs, 2)
        return layer_in, _F.stack(hs), (_F.stack(cs) if cs else None)

    def _direction(self, flat: Tensor, T: int, B: int, k: int, d: int, s0: Tensor,
                   sizes: list[int] | None) -> Tensor:
        """The states (T, B, S) of layer k in direction d, from its input rows (T*B, I)."""
        sfx = f"_l{k}" + ("_reverse" if d else "")
        w_ih, w_hh = getattr(self, "weight_ih" + sfx), getattr(self, "weight_hh" + sfx)
        b_ih = getattr(self, "bias_ih" + sfx) if self.bias else None
        b_hh = (getattr(self, "bias_hh" + sfx) if self.bias
                else zeros(w_hh.shape[0], dtype=w_hh._data.dtype))
        xi = _F.reshape(F.linear(flat, w_ih, b_ih), (T, B, w_ih.shape[0]))
        if self.proj_size:
            return recurrent_composite(self.mode, xi, w_hh, b_hh, s0, sizes, bool(d),
                                       getattr(self, "weight_hr" + sfx))
        return apply(RecurrentLayer(self.mode, bool(d), sizes), xi, w_hh, b_hh, s0)


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> rnn = nn.RNN(3, 5, num_layers=2, nonlinearity="relu", bidirectional=True)
    >>> out, h_n = rnn(cr.randn(7, 2, 3))
    >>> out.shape, h_n.shape
    (torch.Size([7, 2, 10]), torch.Size([4, 2, 5]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device: Any = None,
                 dtype: Any = None, generator: Generator | None = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; select from "
                             "'tanh' or 'relu'")
        self.nonlinearity = nonlinearity
        super().__init__("rnn_" + nonlinearity, input_size, hidden_size, num_layers, bias,
                         batch_first, dropout, bidirectional, 0, device, dtype, generator)


class LSTM(RNNBase):
    """Long short-term memory, gates i, f, g, o (PyTorch's order in weight_ih/weight_hh):
    c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t) (then h_t W_hr^T with proj_size).
    Returns ``output, (h_n, c_n)``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: Any = None,
                 dtype: Any = None, generator: Generator | None = None) -> None:
        super().__init__("lstm", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype, generator)


class GRU(RNNBase):
    """Gated recurrent unit, gates r, z, n: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),
    h_t = (1 - z) * n + z * h_{t-1}."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device: Any = None, dtype: Any = None,
                 generator: Generator | None = None) -> None:
        super().__init__("gru", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device, dtype, generator)


# ---------------------------------------------------------------------------------------------
# Cells: one time step
# ---------------------------------------------------------------------------------------------


class RNNCellBase(Module):
    """Parameters ``weight_ih`` (G*H, input_size), ``weight_hh`` (G*H, H), ``bias_ih``,
    ``bias_hh``, U(-1/sqrt(H), 1/sqrt(H)); one step as a one-step RecurrentLayer."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None,
                 generator: Generator | None = None) -> None:
        super().__init__()
        name = type(self).__name__
        self.mode = mode
        self.input_size = _check_size(name, "input_size", input_size, 0)
        self.hidden_size = _check_size(name, "hidden_size", hidden_size)
        self.bias = bool(bias)
        GH = GATES[mode] * hidden_size
        self.weight_ih = Parameter(empty(GH, input_size, dtype=dtype))
        self.weight_hh = Parameter(empty(GH, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(GH, dtype=dtype))
            self.bias_hh = Parameter(empty(GH, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: Generator | None = None) -> None:
        """PyTorch's default: every parameter U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        _reset_uniform(self, self.hidden_size, generator)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _step(self, input: Any, hx: Any) -> tuple[Tensor, Tensor | None]:
        name, H = type(self).__name__, self.hidden_size
        if not isinstance(input, Tensor) or input.ndim not in (1, 2):
            raise ValueError(f"{name}: expected input to be 1D or 2D, got "
                             f"{getattr(input, 'ndim', type(input).__name__)}D instead (shape "
                             f"{_shape(input) if isinstance(input, Tensor) else '-'})")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input has inconsistent input_size: got "
                             f"{input.shape[-1]} expected {self.input_size} (input shape "
                             f"{_shape(input)})")
        unbatched = input.ndim == 1
        x = _F.unsqueeze(input, 0) if unbatched else input
        B = x.shape[0]
        lstm = self.mode == "lstm"
        if hx is None:
            z = zeros(B, H, dtype=x._data.dtype)
            hs = [z, z] if lstm else [z]
        else:
            hs = list(hx) if lstm else [hx]
            if lstm and len(hs) != 2:
                raise TypeError("LSTMCell: expected hx to be a tuple (h_0, c_0)")
            want = (H,) if unbatched else (B, H)
            for i, h in enumerate(hs):
                if not isinstance(h, Tensor) or _shape(h) != want:
                    raise RuntimeError(f"{name}: expected hidden{f'[{i}]' if lstm else ''} "
                                       f"of shape {want} for input of shape {_shape(input)}, "
                                       f"got {_shape(h) if isinstance(h, Tensor) else h!r}")
            if unbatched:
                hs = [_F.unsqueeze(h, 0) for h in hs]
        xi = _F.unsqueeze(F.linear(x, self.weight_ih, self.bias_ih), 0)
        b_hh = self.bias_hh if self.bias else zeros(self.weight_hh.shape[0], dtype=x._data.dtype)
        s0 = _F.cat(hs, 1) if lstm else hs[0]
        s = apply(RecurrentLayer(self.mode), xi, self.weight_hh, b_hh, s0)[0]
        h, c = (s[:, :H], s[:, H:]) if lstm else (s, None)
        if unbatched:
            h = _F.squeeze(h, 0)
            c = _F.squeeze(c, 0) if c is not None else None
        return h, c


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device: Any = None, dtype: Any = None,
                 generator: Generator | None = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r}; select from "
                             "'tanh' or 'relu'")
        self.nonlinearity = nonlinearity
        super().__init__("rnn_" + nonlinearity, input_size, hidden_size, bias, device, dtype,
                         generator)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx)[0]


class LSTMCell(RNNCellBase):
    """One LSTM step: returns ``(h', c')``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None,
                 generator: Generator | None = None) -> None:
        super().__init__("lstm", input_size, hidden_size, bias, device, dtype, generator)

    def forward(self, input: Tensor, hx: Any = None) -> tuple[Tensor, Tensor]:
        h, c = self._step(input, hx)
        return h, c  # type: ignore[return-value]


class GRUCell(RNNCellBase):
    """One GRU step: returns h'."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None,
                 generator: Generator | None = None) -> None:
        super().__init__("gru", input_size, hidden_size, bias, device, dtype, generator)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx)[0]
