"""Random programs over the public API, written once as Python text and run against both
chainrule and PyTorch.

A program is a list of statements such as ``v3 = L.maximum(v1, x0)`` or ``v4.mul_(v2)``, in
which ``L`` is the library (``chainrule`` or ``torch``) and ``F`` its ``nn.functional``. The
generator builds it one statement at a time while running it in PyTorch (float64), so that
every op is drawn among those that apply to the shapes at hand. The text is the reproducer:
``program.source()`` is one line that runs under ``import torch as L`` as well as under
``import chainrule as L``.

Inputs are float64 leaves that require grad (``x0``, ``x1``, ...) or constants (``c0``, ...):
"smooth" values are uniform in [-2, 2] (no ties, no kinks but those the program makes),
"lattice" values are multiples of 1/2 in [-2, 2] (ties in max and pooling, zeros at relu/abs,
values on clamp's bounds).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

Shape = tuple[int, ...]

# ---------------------------------------------------------------------------------------------
# Programs
# ---------------------------------------------------------------------------------------------


@dataclass
class Program:
    mode: str  # "smooth" or "lattice"
    inputs: dict[str, np.ndarray] = field(default_factory=dict)  # name -> values
    grads: dict[str, bool] = field(default_factory=dict)  # name -> requires_grad
    lines: list[str] = field(default_factory=list)
    ops: list[str] = field(default_factory=list)  # the op name of each line
    out: str | None = None  # the value backpropagated from
    raises: bool = False  # the last line raises in PyTorch

    def input_source(self, name: str) -> str:
        vals = self.inputs[name].tolist()
        rg = ", requires_grad=True" if self.grads[name] else ""
        return f"{name} = L.tensor({vals!r}, dtype=L.float64{rg})"

    def source(self) -> str:
        """The whole program on one line (``L`` and ``F`` bound by the reader)."""
        parts = [self.input_source(n) for n in self.inputs] + self.lines
        if self.out is not None:
            parts.append(f"out = {self.out}")
        return f"[{self.mode}] " + "; ".join(parts)


def _fmt_shape(s: Shape) -> str:
    return "(" + ", ".join(map(str, s)) + ("," if len(s) == 1 else "") + ")"


# ---------------------------------------------------------------------------------------------
# The op catalogue
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    """An op of the catalogue: ``make(gen)`` returns the statement's right-hand side
    (or a full in-place statement) or None when the op does not apply to any value."""

    name: str
    make: Callable[[Any], str | None]
    inplace: bool = False


UNARY = {
    "exp": "L.exp({a})", "tanh": "L.tanh({a})", "sigmoid": "L.sigmoid({a})",
    "sin": "L.sin({a})", "cos": "L.cos({a})", "neg": "-{a}", "abs": "{a}.abs()",
    "relu": "L.relu({a})", "square": "{a} * {a}", "pow3": "{a} ** 3",
    "sqrt": "L.sqrt({a}.abs() + 0.5)", "log": "L.log({a}.abs() + 0.5)",
    "log1p": "L.log1p({a}.abs())", "softplus": "F.softplus({a})", "gelu": "F.gelu({a})",
    "gelu_tanh": "F.gelu({a}, approximate='tanh')", "elu": "F.elu({a})",
    "silu": "F.silu({a})", "leaky_relu": "F.leaky_relu({a}, 0.1)", "erf": "L.erf({a})",
    "erfc": "L.erfc({a})", "expm1": "L.expm1({a})", "erfinv": "L.erfinv(L.tanh({a}) * 0.9)",
    "clamp": "{a}.clamp(-0.5, 0.5)", "clamp_min": "{a}.clamp(min=0.0)",
    "affine": "{a} * 2.5 - 1.0", "recip": "1.0 / ({a} * {a} + 1.0)",
    "where_leaky": "L.where({a} > 0, {a}, {a} * 0.1)",
    "masked_fill": "{a}.masked_fill({a} < 0, 0.5)",
    "xlogy": "L.xlogy({a}, {a}.abs() + 0.5)", "logit": "L.logit(L.sigmoid({a}))",
    "clone": "{a}.clone()",
}
BINARY = {
    "add": "{a} + {b}", "sub": "{a} - {b}", "mul": "{a} * {b}",
    "div": "{a} / ({b}.abs() + 0.5)", "maximum": "L.maximum({a}, {b})",
    "minimum": "L.minimum({a}, {b})", "where": "L.where({a} > {b}, {a}, {b})",
    "pow": "({a}.abs() + 0.5) ** {b}",
}
REDUCE_DIM = {
    "sum_dim": "{a}.sum(dim={d})", "sum_keepdim": "{a}.sum(dim={d}, keepdim=True)",
    "mean_dim": "{a}.mean(dim={d})", "amax_dim": "{a}.amax(dim={d})",
    "max_dim": "{a}.max(dim={d})[0]", "min_dim": "{a}.min(dim={d})[0]",
    "logsumexp": "L.logsumexp({a}, dim={d})", "softmax": "L.softmax({a}, dim={d})",
    "log_softmax": "L.log_softmax({a}, dim={d})", "prod_dim": "{a}.prod(dim={d})",
}
REDUCE_ALL = {"sum": "{a}.sum()", "mean": "{a}.mean()", "max": "{a}.max()",
              "amin": "{a}.amin()"}

# The subgradient conventions chainrule documents where they differ from PyTorch's, at ties
# and kinks (lattice mode only: a mismatch there must involve one of these ops).
SUBGRADIENT_CHOICES: dict[str, str] = {
    "elu": ("at x == 0 PyTorch's first derivative is alpha (the x <= 0 branch) and its second "
            "derivative 0 (the x > 0 branch); chainrule takes the x <= 0 branch for both"),
    "pow": ("(a ** b) at b == 0: PyTorch masks d/da to 0 there, which loses d2/(da db) = 1/a "
            "(see tests/test_torch_oracle.py's pow row); chainrule keeps it"),
}


class Choices:
    """The generator's random choices, from a seeded NumPy generator: uniform over the op
    catalogue (Hypothesis' own draws lean to the first options), reproducible from the seed."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def integers(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi + 1))

    def choice(self, seq: Any) -> Any:
        seq = list(seq)
        return seq[int(self.rng.integers(len(seq)))]

    def boolean(self) -> bool:
        return bool(self.rng.integers(2))

    def permutation(self, n: int) -> list[int]:
        return [int(i) for i in self.rng.permutation(n)]

    def shape(self) -> Shape:
        if self.rng.integers(4) == 0:
            return (self.integers(1, 2), self.integers(1, 2), self.integers(2, 4),
                    self.integers(2, 4))
        return tuple(self.integers(1, 3) for _ in range(self.integers(0, 3)))


class Gen:
    """The state of a program being generated: the values (run in PyTorch) and the draws."""

    def __init__(self, prog: Program, rng: np.random.Generator, torch: Any) -> None:
        self.prog, self.rng, self.torch = prog, rng, torch
        self.r = Choices(rng)
        self.env: dict[str, Any] = {"L": torch, "F": torch.nn.functional}
        self.count = 0

    def new_input(self, shape: Shape, requires_grad: bool = True, kind: str = "x") -> str:
        n = sum(1 for k in self.prog.inputs if k[0] == kind)
        name = f"{kind}{n}"
        if self.prog.mode == "smooth":
            arr = self.rng.uniform(-2.0, 2.0, shape)
        else:
            arr = self.rng.integers(-4, 5, shape) / 2.0
        self.prog.inputs[name] = np.asarray(arr, dtype=np.float64)
        self.prog.grads[name] = requires_grad
        t = self.torch.tensor(arr, dtype=self.torch.float64, requires_grad=requires_grad)
        self.env[name] = t
        return name

    def names(self, pred: Callable[[Any], bool] = lambda t: True) -> list[str]:
        return [k for k, v in self.env.items() if k not in ("L", "F")
                and isinstance(v, self.torch.Tensor) and v.dtype == self.torch.float64 and pred(v)]

    def pick(self, pred: Callable[[Any], bool] = lambda t: True) -> str | None:
        ns = self.names(pred)
        return self.r.choice(ns) if ns else None

    def shape(self, name: str) -> Shape:
        return tuple(self.env[name].shape)

    def dim(self, name: str) -> int:
        nd = max(len(self.shape(name)), 1)
        return self.r.integers(-nd, nd - 1)

    def broadcastable_to(self, shape: Shape) -> str:
        """An existing value, or a new input, whose shape broadcasts to ``shape``."""
        cands = self.names(lambda t: _broadcasts(tuple(t.shape), shape))
        if cands and self.r.boolean():
            return self.r.choice(cands)
        k = self.r.integers(0, len(shape))
        sub = tuple(s if self.r.boolean() else 1 for s in shape[len(shape) - k:])
        return self.new_input(sub)


def _broadcasts(src: Shape, dst: Shape) -> bool:
    if len(src) > len(dst):
        return False
    return all(s in (1, d) for s, d in zip(src[::-1], dst[::-1]))


def _nonempty(t: Any) -> bool:
    return t.numel() > 0 and t.dim() > 0


# -- the ops' makers -----------------------------------------------------------------------------


def _unary(tpl: str) -> Callable[[Gen, Any], str | None]:
    def make(g: Gen) -> str | None:
        a = g.pick()
        return None if a is None else tpl.format(a=a)
    return make


def _binary(tpl: str) -> Callable[[Gen, Any], str | None]:
    def make(g: Gen) -> str | None:
        a = g.pick()
        if a is None:
            return None
        b = g.broadcastable_to(g.shape(a))
        if b == a and g.prog.mode == "smooth":
            return None  # a tie by construction: lattice mode's business
        return tpl.format(a=a, b=b) if g.r.boolean() else tpl.format(a=b, b=a)
    return make


def _reduce_dim(tpl: str) -> Callable[[Gen, Any], str | None]:
    def make(g: Gen) -> str | None:
        a = g.pick(_nonempty)
        return None if a is None else tpl.format(a=a, d=g.dim(a))
    return make


def _var(g: Gen) -> str | None:
    a = g.pick(lambda t: t.dim() > 0 and min(t.shape) >= 2)
    return None if a is None else f"{a}.var(dim={g.dim(a)})"


def _reshape(g: Gen) -> str | None:
    a = g.pick()
    if a is None:
        return None
    s = g.shape(a)
    choice = g.r.choice(["flat", "reverse", "front1"])
    if choice == "flat":
        return f"{a}.reshape(-1)"
    if choice == "reverse":
        return f"{a}.reshape({_fmt_shape(s[::-1])})"
    return f"{a}.reshape({_fmt_shape((1,) + s)})"


def _to4d(g: Gen) -> str | None:
    a = g.pick(lambda t: t.dim() == 2 and min(t.shape) >= 2)
    return None if a is None else f"{a}.reshape({_fmt_shape((1, 1) + g.shape(a))})"


def _transpose(g: Gen) -> str | None:
    a = g.pick(lambda t: t.dim() >= 2)
    if a is None:
        return None
    return f"{a}.transpose({g.dim(a)}, {g.dim(a)})"


def _permute(g: Gen) -> str | None:
    a = g.pick(lambda t: t.dim() >= 2)
    if a is None:
        return None
    perm = g.r.permutation(len(g.shape(a)))
    return f"{a}.permute({', '.join(map(str, perm))})"


def _unsqueeze(g: Gen) -> str | None:
    a = g.pick(lambda t: t.dim() < 4)
    if a is None:
        return None
    nd = len(g.shape(a)) + 1
    return f"{a}.unsqueeze({g.r.integers(-nd, nd - 1)})"


def _squeeze(g: Gen) -> str | None:
    a = g.pick(lambda t: 1 in t.shape)
    return None if a is None else f"{a}.squeeze()"


def _expand(g: Gen) -> str | None:
    a = g.pick(lambda t: t.dim() < 4)
    if a is None:
        return None
    s = g.shape(a)
    new = (2,) + tuple(3 if d == 1 and g.r.boolean() else d for d in s)
    return f"{a}.expand({', '.join(map(str, new))})"


def _index(g: Gen) -> str | None:
    a = g.pick(_nonempty)
    if a is None:
        return None
    s = g.shape(a)
    n = s[0]
    i = g.r.integers(0, max(n - 1, 0))
    kind = g.r.choice(["int", "slice", "col", "step", "adv", "mask", "mixed"])
    if kind == "int":
        return f"{a}[{i}]"
    if kind == "slice":
        return f"{a}[{i}:]"
    if kind == "col" and len(s) >= 2:
        return f"{a}[:, {g.r.integers(0, s[1] - 1)}]"
    if kind == "step":
        return f"{a}[..., ::2]"
    if kind == "adv":
        return f"{a}[[{i}, 0, {i}]]"
    if kind == "mixed" and len(s) >= 3:
        return f"{a}[{i}, :, [0, {s[2] - 1}]]"
    return f"{a}[{a} > 0]"


def _view_op(g: Gen) -> str | None:
    """The view functions: each result shares its input's memory (see core/views.py)."""
    a = g.pick(lambda t: t.dim() >= 1)
    if a is None:
        return None
    s = g.shape(a)
    kind = g.r.choice(["narrow", "select", "view", "diagonal", "t", "unbind"])
    d = g.dim(a)
    if kind == "narrow":
        start = g.r.integers(0, s[d] - 1) if s[d] else 0
        return f"{a}.narrow({d}, {start}, {g.r.integers(0, s[d] - start)})"
    if kind == "select" and s[d]:
        return f"{a}.select({d}, {g.r.integers(-s[d], s[d] - 1)})"
    if kind == "diagonal" and len(s) >= 2:
        d1, d2 = g.r.choice([(0, 1), (1, 0), (-1, 0), (0, -1)])
        return f"{a}.diagonal({g.r.integers(-1, 1)}, {d1}, {d2})"
    if kind == "t" and len(s) == 2:
        return f"{a}.t()"
    if kind == "unbind" and s[0]:
        return f"{a}.unbind(0)[{g.r.integers(0, s[0] - 1)}]"
    return f"{a}.view(-1)"


def _cat(g: Gen) -> str | None:
    a = g.pick(_nonempty)
    if a is None:
        return None
    d = g.dim(a)
    s = g.shape(a)
    cands = g.names(lambda t: t.dim() == len(s) and all(
        x == y for j, (x, y) in enumerate(zip(t.shape, s)) if j != d % len(s)))
    b = g.r.choice(cands)
    return f"L.cat([{a}, {b}], {d})"


def _stack(g: Gen) -> str | None:
    a = g.pick()
    if a is None:
        return None
    b = g.pick(lambda t: tuple(t.shape) == g.shape(a))
    return f"L.stack([{a}, {b} * 0.5], {g.r.integers(0, len(g.shape(a)))})"


def _flip(g: Gen) -> str | None:
    a = g.pick(_nonempty)
    return None if a is None else f"{a}.flip({g.dim(a)})"


def _matmul(g: Gen) -> str | None:
    a = g.pick(_nonempty)
    if a is None:
        return None
    s = g.shape(a)
    kind = g.r.choice(["new", "self", "linear"])
    if kind == "self" and len(s) >= 2:
        return f"{a} @ {a}.transpose(-1, -2)"
    m = g.r.integers(1, 3)
    if kind == "linear":
        w, b = g.new_input((m, s[-1])), g.new_input((m,))
        return f"F.linear({a}, {w}, {b})"
    w = g.new_input((s[-1], m) if g.r.boolean() else (s[-1],))
    return f"{a} @ {w}"


def _conv(g: Gen) -> str | None:
    a = g.pick(lambda t: t.dim() == 4 and t.shape[1] <= 3)
    if a is None:
        return None
    n, c, h, w = g.shape(a)
    pad = g.r.integers(0, 1)
    kh, kw = g.r.integers(1, min(3, h + 2 * pad)), g.r.integers(1, min(3, w + 2 * pad))
    stride = g.r.integers(1, 2)
    o = g.r.integers(1, 3)
    wt = g.new_input((o, c, kh, kw))
    bias = g.new_input((o,)) if g.r.boolean() else "None"
    return f"F.conv2d({a}, {wt}, {bias}, stride={stride}, padding={pad})"


def _pool(g: Gen) -> str | None:
    a = g.pick(lambda t: t.dim() == 4 and min(t.shape[2:]) >= 2)
    if a is None:
        return None
    kind = g.r.choice(["max_pool2d", "avg_pool2d"])
    k = g.r.integers(1, 2)
    return f"F.{kind}({a}, {k})"


def _batch_norm(g: Gen) -> str | None:
    a = g.pick(lambda t: t.dim() >= 2 and t.numel() // t.shape[1] >= 2)
    return None if a is None else f"F.batch_norm({a}, None, None, training=True)"


def _loss(g: Gen) -> str | None:
    a = g.pick(lambda t: t.dim() == 2)
    if a is None:
        return None
    kind = g.r.choice(["mse", "ce", "bce"])
    if kind == "ce":
        n, c = g.shape(a)
        tgt = [int(g.r.integers(0, c - 1)) for _ in range(n)]
        return f"F.cross_entropy({a}, L.tensor({tgt}))"
    t = g.new_input(g.shape(a), requires_grad=False, kind="c")
    if kind == "mse":
        return f"F.mse_loss({a}, {t})"
    return f"F.binary_cross_entropy_with_logits({a}, L.sigmoid({t}))"


# -- the layers of attention and recurrence -----------------------------------------------------


def _layer_norm(g: Gen) -> str | None:
    a = g.pick(lambda t: t.dim() >= 1 and t.shape[-1] >= 2)
    if a is None:
        return None
    s = g.shape(a)
    shape = s[-2:] if len(s) >= 2 and g.r.boolean() else s[-1:]
    if g.r.boolean():
        return f"F.layer_norm({a}, {_fmt_shape(shape)})"
    w, b = g.new_input(shape), g.new_input(shape)
    return f"F.layer_norm({a}, {_fmt_shape(shape)}, {w}, {b}, eps=0.01)"


def _sdpa(g: Gen) -> str | None:
    """scaled_dot_product_attention (the Softmax primitive), self- or cross-attention."""
    a = g.pick(lambda t: 2 <= t.dim() <= 4 and t.numel() > 0)
    if a is None:
        return None
    s = g.shape(a)
    if g.r.boolean():
        k = v = a
    else:
        n = g.r.integers(1, 3)
        k = g.new_input(s[:-2] + (n, s[-1]))
        v = g.new_input(s[:-2] + (n, g.r.integers(1, 3)))
    kind = g.r.choice(["plain", "causal", "scale", "mask"])
    if kind == "causal":
        return f"F.scaled_dot_product_attention({a}, {k}, {v}, is_causal=True)"
    if kind == "scale":
        return f"F.scaled_dot_product_attention({a}, {k}, {v}, scale=0.7)"
    if kind == "mask":
        m = g.new_input((s[-2], g.shape(k)[-2]), requires_grad=False, kind="c")
        return f"F.scaled_dot_product_attention({a}, {k}, {v}, attn_mask={m} > 0)"
    return f"F.scaled_dot_product_attention({a}, {k}, {v})"


def _embedding(g: Gen) -> str | None:
    """Rows of a (weight) value by index, repeats included (their gradients add)."""
    a = g.pick(lambda t: t.dim() == 2 and t.shape[0] >= 1)
    if a is None:
        return None
    n = g.shape(a)[0]
    k = g.r.integers(1, 3)
    idx = [[g.r.integers(0, n - 1) for _ in range(k)] for _ in range(g.r.integers(1, 2))]
    pad = f", padding_idx={g.r.integers(0, n - 1)}" if g.r.boolean() else ""
    return f"F.embedding(L.tensor({idx}), {a}{pad})"


def _recurrent(g: Gen) -> str | None:
    """An RNN/LSTM/GRU layer (the RecurrentLayer primitive), its weights loaded from constants:
    gradients and second-order gradients flow through it to the input and the initial state."""
    a = g.pick(lambda t: t.dim() in (2, 3) and 0 < t.shape[-1] <= 3 and t.numel() > 0)
    if a is None:
        return None
    s = g.shape(a)
    E, batch = s[-1], s[1:-1]  # (T, B, E), or (T, E) unbatched
    H = g.r.integers(1, 3)
    kind = g.r.choice(["RNN", "LSTM", "GRU"])
    G = {"RNN": 1, "LSTM": 4, "GRU": 3}[kind]
    bidir = g.r.boolean()
    ws = [g.new_input(sh, requires_grad=False, kind="c")
          for sh in ((G * H, E), (G * H, H), (G * H,), (G * H,))]
    names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    sd = ", ".join(f"{n}={w}" for n, w in zip(names, ws))
    if bidir:
        sd += ", " + ", ".join(f"{n}_reverse={w} * 0.5" for n, w in zip(names, ws))
    layer = (f"L.nn.{kind}({E}, {H}, bidirectional={bidir}, dtype=L.float64)")
    args = a
    if kind != "LSTM" and g.r.boolean():
        args += f", {g.new_input((2 if bidir else 1,) + batch + (H,))}"
    return (f"(lambda m: (m.load_state_dict(dict({sd})), m({args})[0])[1])({layer})")


# -- in place -----------------------------------------------------------------------------------


def _inplace(g: Gen) -> str | None:
    a = g.pick(lambda t: t.numel() > 0 and (not t.is_leaf or t._base is not None))
    if a is None:
        return None
    s = g.shape(a)
    kind = g.r.choice(["add_", "sub_", "mul_", "div_", "copy_", "clamp_", "relu_",
                                 "exp_", "neg_", "zero_", "fill_", "setitem", "iadd", "imul"])
    if kind in ("add_", "sub_", "mul_", "copy_", "iadd", "imul", "div_"):
        b = g.broadcastable_to(s)
        if b == a:
            return None
        if kind == "iadd":
            return f"{a} += {b}"
        if kind == "imul":
            return f"{a} *= {b}"
        if kind == "div_":
            return f"{a}.div_({b}.abs() + 0.5)"
        return f"{a}.{kind}({b})"
    if kind == "clamp_":
        return f"{a}.clamp_(-0.5, 0.5)"
    if kind == "fill_":
        return f"{a}.fill_(0.25)"
    if kind == "setitem":
        if not s:
            return None
        b = g.broadcastable_to(s[1:])
        return f"{a}[{g.r.integers(0, s[0] - 1)}] = {b}"
    return f"{a}.{kind}()"


def _ops() -> list[Op]:
    ops = [Op(k, _unary(v)) for k, v in UNARY.items()]
    ops += [Op(k, _binary(v)) for k, v in BINARY.items()]
    ops += [Op(k, _reduce_dim(v)) for k, v in REDUCE_DIM.items()]
    ops += [Op(k, _unary(v)) for k, v in REDUCE_ALL.items()]
    ops += [Op("var", _var), Op("reshape", _reshape), Op("to4d", _to4d),
            Op("transpose", _transpose), Op("permute", _permute), Op("unsqueeze", _unsqueeze),
            Op("squeeze", _squeeze), Op("expand", _expand), Op("index", _index),
            Op("view_op", _view_op),
            Op("cat", _cat), Op("stack", _stack), Op("flip", _flip), Op("matmul", _matmul),
            Op("conv2d", _conv), Op("pool", _pool), Op("batch_norm", _batch_norm),
            Op("loss", _loss), Op("inplace", _inplace, inplace=True),
            Op("layer_norm", _layer_norm), Op("sdpa", _sdpa), Op("embedding", _embedding),
            Op("recurrent", _recurrent)]
    return ops


OPS = _ops()
OPS_BY_NAME = {o.name: o for o in OPS}


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------

def generate(seed: int, n_stmts: int, mode: str, torch: Any) -> Program:
    """The program of ``seed``: 1-2 inputs and up to ``n_stmts`` statements, drawn while
    running it in PyTorch (so every op is drawn among those that apply)."""
    prog = Program(mode)
    g = Gen(prog, np.random.default_rng(seed), torch)
    for _ in range(g.r.integers(1, 2)):
        g.new_input(g.r.shape())
    last = None
    attempts = 0
    while len(prog.lines) < n_stmts and attempts < 40:
        attempts += 1
        op = g.r.choice(OPS)
        snapshot = (dict(prog.inputs), dict(prog.grads), dict(g.env))
        rhs = op.make(g)
        if rhs is None:
            prog.inputs, prog.grads, g.env = snapshot
            continue
        name = f"v{len(prog.lines) + 1}"
        line = rhs if op.inplace else f"{name} = {rhs}"
        prog.lines.append(line)
        prog.ops.append(op.name)
        try:
            exec(line, g.env)
        except Exception:  # noqa: BLE001 - PyTorch refuses it: chainrule must refuse it too
            prog.raises = True
            return prog
        last = _target(line) if op.inplace else name
    if last is None or not _is_float_graph(g.env.get(last), torch):
        cands = g.names(lambda t: t.requires_grad)
        last = cands[-1] if cands else None
    prog.out = last
    return prog


def _target(stmt: str) -> str:
    """The variable an in-place statement changes (``v3`` of ``v3[0] = x0``, ``v3 += c``)."""
    return re.split(r"[.\[ ]", stmt, maxsplit=1)[0]


def _is_float_graph(t: Any, torch: Any) -> bool:
    return isinstance(t, torch.Tensor) and t.dtype == torch.float64 and t.requires_grad


# ---------------------------------------------------------------------------------------------
# Running and comparing
# ---------------------------------------------------------------------------------------------


@dataclass
class Run:
    error: str | None = None  # the exception of the first failing line (or of backward)
    values: dict[str, np.ndarray] = field(default_factory=dict)
    grads: list[np.ndarray | None] = field(default_factory=list)
    grads2: list[np.ndarray | None] = field(default_factory=list)


def run(prog: Program, lib: Any) -> Run:
    """Run the program with ``lib`` (chainrule or torch): values, gradients of
    sum(out * C), and gradients of sum(grad * W) (second order)."""
    if getattr(lib, "__name__", "") == "torch":
        # NOTE: PyTorch's fused CPU attention kernel has no second derivative; its math
        # kernel (the reference formula) has
        from torch.nn.attention import SDPBackend, sdpa_kernel

        with sdpa_kernel([SDPBackend.MATH]):
            return _run(prog, lib)
    return _run(prog, lib)


def _run(prog: Program, lib: Any) -> Run:
    env: dict[str, Any] = {"L": lib, "F": lib.nn.functional}
    res = Run()
    try:
        for n in prog.inputs:
            exec(prog.input_source(n), env)
        for line in prog.lines:
            exec(line, env)
    except Exception as e:  # noqa: BLE001 - any error is the result being compared
        res.error = f"{type(e).__name__}: {e}"
        return res
    for k, v in env.items():
        if k[0] == "v" and isinstance(v, lib.Tensor):
            res.values[k] = v.detach().numpy(force=True).copy()
    if prog.out is None:
        return res
    rng = np.random.default_rng(len(prog.lines))
    xs = [env[n] for n in prog.inputs if prog.grads[n]]
    try:
        out = env[prog.out]
        c = lib.tensor(rng.uniform(-1, 1, tuple(out.shape)), dtype=lib.float64)
        loss = (out * c).sum()
        gs = lib.autograd.grad(loss, xs, create_graph=True, allow_unused=True)
        res.grads = [None if g is None else g.detach().numpy(force=True).copy() for g in gs]
        # NOTE: one weight per input, drawn whether or not its gradient is differentiable
        # (which can differ between the libraries: a gradient that is 0 * f(x) may or may not
        # be recorded), so that both sides weigh the same gradients the same.
        ws = [rng.uniform(-1, 1, tuple(x.shape)) for x in xs]
        s = None
        for g, w in zip(gs, ws):
            if g is not None and g.requires_grad:
                term = (g * lib.tensor(w, dtype=lib.float64)).sum()
                s = term if s is None else s + term
        if s is not None:
            g2 = lib.autograd.grad(s, xs, allow_unused=True)
            res.grads2 = [None if g is None else g.detach().numpy(force=True).copy() for g in g2]
        else:
            res.grads2 = [None] * len(xs)
    except Exception as e:  # noqa: BLE001
        res.error = f"backward: {type(e).__name__}: {e}"
    return res


RTOL = 1e-9


def _close(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:  # an unused input: no gradient is a gradient of zeros
        z = b if a is None else a
        return z is None or not np.any(z)
    if a.shape != b.shape:
        return False
    finite = b[np.isfinite(b)]
    scale = max(1.0, float(np.abs(finite).max())) if finite.size else 1.0
    return bool(np.allclose(a, b, rtol=RTOL, atol=RTOL * scale, equal_nan=True))


# Errors PyTorch raises where chainrule has no reason to: PyTorch saved a value for backward
# that chainrule's vjp does not read (amin's result: chainrule's amin is -amax(-x); the output
# of erfinv), so an in-place change of it breaks PyTorch's backward only. chainrule's own
# version check still guards everything it saved.
TORCH_ONLY_REFUSALS = ("has been modified by an inplace operation",)


def compare(ours: Run, ref: Run) -> list[str]:
    """What differs between chainrule's run and PyTorch's (empty: they agree)."""
    if ref.error is not None and ours.error is None and any(
            m in ref.error for m in TORCH_ONLY_REFUSALS):
        return []
    if ref.error is not None or ours.error is not None:
        if (ref.error is None) != (ours.error is None):
            return [f"error: chainrule {ours.error!r}, torch {ref.error!r}"]
        return []
    diffs = [f"value {k}" for k in ref.values
             if k not in ours.values or not _close(ours.values[k], ref.values[k])]
    diffs += [f"grad of input {i}" for i, (a, b) in enumerate(zip(ours.grads, ref.grads))
              if not _close(a, b)]
    diffs += [f"second-order grad of input {i}"
              for i, (a, b) in enumerate(zip(ours.grads2, ref.grads2)) if not _close(a, b)]
    return diffs


def shrink(prog: Program, fails: Callable[[Program], bool]) -> Program:
    """Delete statements one at a time while the program still fails (a smaller reproducer
    than Hypothesis' shrinking of the seed can find)."""
    changed = True
    while changed:
        changed = False
        for i in range(len(prog.lines) - 1, -1, -1):
            cand = Program(prog.mode, dict(prog.inputs), dict(prog.grads),
                           prog.lines[:i] + prog.lines[i + 1:], prog.ops[:i] + prog.ops[i + 1:],
                           prog.out, prog.raises)
            if cand.out is not None and not any(cand.out in ln for ln in cand.lines) \
                    and cand.out not in cand.inputs:
                continue
            if fails(cand):
                prog, changed = cand, True
    return prog
