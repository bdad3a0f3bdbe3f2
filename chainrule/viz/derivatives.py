"""The local derivative of every primitive, as ``explain`` and the stepper show it.

Adding a primitive: give it a :class:`Rule` in :data:`DERIVATIVES` (without one, the
walkthrough falls back to a generic "vjp of op" line).
"""

from __future__ import annotations

from dataclasses import dataclass

from .i18n import translate

__all__ = ["Rule", "DERIVATIVES", "rule_for"]


@dataclass(frozen=True)
class Rule:
    """How one primitive's backward step is shown.

    ``local`` is the local derivative in symbols. ``grads`` has one template per input (the
    last one serves any further input); the templates may use ``{G}`` (the incoming
    gradient's symbol), ``{out}`` (the op's output), ``{a} {b} {c}`` (its inputs),
    ``{me}`` and ``{shape}`` (the input being served and its shape). ``kind`` says how the
    numbers are shown:

    - ``"elementwise"``: the template is the local factor f, and dL/dinput = G * f;
    - ``"pass"``: the same with f = 1 or -1 (dL/dinput = G or -G);
    - ``"matmul"``: the template is the product, with its operands' numbers;
    - ``"other"``: the template describes the result, which is shown on its own.
    """

    local: str | tuple[str, ...]  # a tuple: one part per input, shown for those needing grad
    grads: tuple[str, ...] = ()
    kind: str = "other"
    intro: str = ""  # shown before the parts of a tuple ``local``
    op: str = ""  # the op of the generic rule (an op without an entry)

    def text(self, needed: tuple[bool, ...] | None = None, lang: str = "en") -> str:
        """The local derivative in ``lang`` (its prose translated by
        :func:`~chainrule.viz.i18n.translate`); only the parts for the inputs that need a
        gradient."""
        if self.op:
            return translate(_GENERIC, lang).format(op=self.op)
        if isinstance(self.local, str):
            return translate(self.local, lang)
        parts = [p for i, p in enumerate(self.local)
                 if needed is None or (i < len(needed) and needed[i])] or list(self.local)
        sep = "," if lang == "zh" else ", "
        return translate(self.intro, lang) + sep.join(translate(p, lang) for p in parts)


_EW = "elementwise"
_GENERIC = "vjp of {op}"  # the local derivative of an op without a rule
GENERIC_GRAD = "vjp of {out} applied to {G}"  # and what it sends back

#: The primitive's name (``Node.name``) -> how its backward step reads.
DERIVATIVES: dict[str, Rule] = {
    # binary elementwise (broadcasting: gradients are summed back to each input's shape)
    "add": Rule(("d(a + b)/da = 1", "d(a + b)/db = 1"), ("1", "1"), "pass"),
    "sub": Rule(("d(a - b)/da = 1", "d(a - b)/db = -1"), ("1", "-1"), "pass"),
    "mul": Rule(("d(a*b)/da = b", "d(a*b)/db = a"), ("{b}", "{a}"), _EW),
    "div": Rule(("d(a/b)/da = 1/b", "d(a/b)/db = -a/b^2"), ("(1 / {b})", "(-{a} / {b}^2)"), _EW),
    "pow": Rule(("d a^p/da = p a^(p-1)", "d a^p/dp = a^p log(a)"),
                ("{b} * {a}^({b} - 1)", "{out} * log({a})"), _EW),
    "maximum": Rule(("d max(a, b)/da = [a > b] (1/2 at a tie)",
                     "d max(a, b)/db = [b > a] (1/2 at a tie)"),
                    ("[{a} > {b}]", "[{b} > {a}]"), _EW),
    "minimum": Rule(("d min(a, b)/da = [a < b] (1/2 at a tie)",
                     "d min(a, b)/db = [b < a] (1/2 at a tie)"),
                    ("[{a} < {b}]", "[{b} < {a}]"), _EW),
    "where": Rule(("c is a condition: no gradient", "d where(c, x, y)/dx = [c]",
                   "d where(c, x, y)/dy = [not c]"),
                  ("", "[{a}]", "[not {a}]"), _EW),
    "tanh_grad": Rule("tanh_grad(g, t) = g (1 - t^2): d/dg = 1 - t^2, d/dt = -2 g t",
                      ("(1 - {b}^2)", "(-2 * {a} * {b})"), _EW),
    "sigmoid_grad": Rule("sigmoid_grad(g, s) = g s (1 - s): d/dg = s(1 - s), d/ds = g(1 - 2s)",
                         ("{b} * (1 - {b})", "{a} * (1 - 2 * {b})"), _EW),
    # unary elementwise
    "neg": Rule("d(-x)/dx = -1", ("-1",), "pass"),
    "exp": Rule("d exp(x)/dx = exp(x)", ("{out}",), _EW),
    "log": Rule("d log(x)/dx = 1/x", ("(1 / {a})",), _EW),
    "log1p": Rule("d log(1 + x)/dx = 1/(1 + x)", ("(1 / (1 + {a}))",), _EW),
    "sqrt": Rule("d sqrt(x)/dx = 1/(2 sqrt(x))", ("(1 / (2 * {out}))",), _EW),
    "sin": Rule("d sin(x)/dx = cos(x)", ("cos({a})",), _EW),
    "cos": Rule("d cos(x)/dx = -sin(x)", ("-sin({a})",), _EW),
    "tanh": Rule("d tanh(x)/dx = 1 - tanh(x)^2", ("(1 - {out}^2)",), _EW),
    "sigmoid": Rule("d sigmoid(z)/dz = s(1 - s), s = sigmoid(z)", ("{out} * (1 - {out})",),
                    _EW),
    "softplus": Rule("d log(1 + e^x)/dx = sigmoid(x)", ("sigmoid({a})",), _EW),
    "relu": Rule("d relu(x)/dx = 1 where x > 0, else 0", ("[{a} > 0]",), _EW),
    "abs": Rule("d|x|/dx = sign(x)", ("sign({a})",), _EW),
    "cast": Rule("d cast(x)/dx = 1 (the gradient goes back in x's dtype)", ("1",), "pass"),
    "erf": Rule("d erf(x)/dx = 2/sqrt(pi) exp(-x^2)", ("2/sqrt(pi) * exp(-{a}^2)",), _EW),
    "erfc": Rule("d erfc(x)/dx = -2/sqrt(pi) exp(-x^2)", ("-2/sqrt(pi) * exp(-{a}^2)",), _EW),
    "erfinv": Rule("d erfinv(y)/dy = sqrt(pi)/2 exp(erfinv(y)^2)",
                   ("sqrt(pi)/2 * exp({out}^2)",), _EW),
    "expm1": Rule("d (e^x - 1)/dx = e^x", ("({out} + 1)",), _EW),
    # reductions
    "sum": Rule("d sum(x)/dx_i = 1: G is copied back over the summed axes",
                ("{G} copied back to shape {shape}",)),
    "amax": Rule("d max(x)/dx_i = 1 at the maximum (shared at ties), 0 elsewhere",
                 ("{G} at the maxima of {a}, 0 elsewhere",)),
    "prod": Rule("d prod(x)/dx_i = the product of the other elements",
                 ("{G} * {out} / {a} (the product of the others)",)),
    # shapes
    "reshape": Rule("reshape only relabels the elements: G is reshaped back",
                    ("{G} reshaped to {shape}",)),
    "permute": Rule("permute only moves axes: G is permuted back", ("{G} permuted back",)),
    "broadcast_to": Rule("each copy of x_i gets a gradient: G is summed over the copies",
                         ("{G} summed back to shape {shape}",)),
    "diagonal": Rule("the diagonal is a selection: G goes back onto the diagonal, 0 elsewhere",
                     ("zeros{shape} with {G} on the diagonal",)),
    "diag_embed": Rule("diag_embed(g) puts g on a diagonal of zeros: linear, its vjp reads "
                       "the diagonal of G", ("the diagonal of {G}",)),
    "copy_slices": Rule("an in-place change of a view: the base with the view's elements "
                        "replaced by v: d/dbase = 1 outside the view, 0 inside; d/dv = 1 in it",
                        ("{G} with zeros in the view", "the view of {G}")),
    "cat": Rule("cat puts its inputs side by side: each input gets its slice of G",
                ("the slice of {G} that holds {me}",)),
    # indexing
    "getitem": Rule("d x[index]/dx = 1 at the selected elements, 0 elsewhere",
                    ("zeros{shape} with {G} added at the index",)),
    "index_add": Rule("index_add(g) puts g at an index in zeros: linear, its vjp reads G "
                      "back at the index", ("{G} at the index",)),
    "index_put": Rule("x with v written at an index: d/dx = 1 outside the index, 0 inside; "
                      "d/dv = 1 at the index", ("{G} with zeros at the index", "{G} at the index")),
    # products
    "matmul": Rule(("dL/dA = G @ B^T", "dL/dB = A^T @ G"), ("{G} @ {b}.T", "{a}.T @ {G}"),
                   "matmul", intro="for C = A @ B, "),
    "conv2d": Rule("conv2d: dL/dx = conv_transpose(G, w), dL/dw = correlate(x, G), "
                   "dL/db = G summed over (N, H, W)",
                   ("conv_transpose({G}, {b})", "correlate({a}, {G})",
                    "{G} summed over (N, H, W)")),
    "conv2d_input_grad": Rule("conv_transpose(g, w) is linear in g and w: d/dg is a "
                              "convolution, d/dw a correlation",
                              ("conv2d({G}, {b})", "correlate({G}, {a})")),
    "conv2d_weight_grad": Rule("correlate(x, g) is linear in x and g: d/dx is a transposed "
                               "convolution, d/dg a convolution",
                               ("conv_transpose({b}, {G})", "conv2d({a}, {G})")),
    "max_pool2d": Rule("d max/dx = 1 at the winning element of each window, 0 elsewhere",
                       ("{G} sent to the maximum of each window",)),
    "max_pool2d_grad": Rule("linear in g: its vjp gathers G at the same winning elements",
                            ("{G} read at the winning elements",)),
    "avg_pool2d": Rule("d mean/dx = 1/k for each of the k elements of a window",
                       ("{G} / k spread over each window",)),
    "avg_pool2d_grad": Rule("linear in g: its vjp is the average pool of G",
                            ("avg_pool2d({G})",)),
    "batch_norm": Rule("y = xh w + b, xh = (x - mean)/sqrt(var + eps): "
                       "dL/dx = w/sqrt(var + eps) (G - mean(G) - xh mean(G xh)), "
                       "dL/dw = sum(G xh), dL/db = sum(G)",
                       ("w/sqrt(var + eps) * ({G} - mean({G}) - xh * mean({G} * xh))",
                        "sum({G} * xh)", "sum({G})")),
    "recurrent_layer": Rule("a recurrent layer unrolled over T steps (backpropagation through "
                            "time): each step's gradient flows into the previous state, and "
                            "the weights' gradients are summed over the steps",
                            ("dL/d(input gates) of every step, from {G} flowing back in time",
                             "sum over steps of dL/d(hidden gates)^T h_(t-1)",
                             "sum over steps and batch of dL/d(hidden gates)",
                             "dL/d(initial state): {G} after flowing back through every step")),
    # row-wise ops of attention (issue 11)
    "softmax": Rule("y = softmax(x) over the last dim: dL/dx = y (G - sum(G y))",
                    ("{out} * ({G} - sum({G} * {out}))",)),
    "layer_norm": Rule("y = (x - mean)/sqrt(var + eps) over the trailing dims: "
                       "dL/dx = (G - mean(G) - y mean(G y)) / sqrt(var + eps)",
                       ("({G} - mean({G}) - {out} * mean({G} * {out})) / sqrt(var + eps)",)),
}


def rule_for(op: str) -> Rule:
    """The :class:`Rule` of primitive ``op``; a generic one for an op without an entry."""
    return DERIVATIVES.get(op) or Rule(_GENERIC.format(op=op), (GENERIC_GRAD,), op=op)
