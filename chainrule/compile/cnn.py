"""out= kernels for the convolution, max-pool (core/primitives/conv.py) and batch norm
(batchnorm.py) primitives.

Each kernel runs the NumPy calls of the primitive's ``forward`` on the same operands in the
same order, with every intermediate array preallocated once at build time instead of made at
every call, and writes into the value's buffer: the same bits, fewer allocations and copies.

- ``conv2d``: the zero-padded NHWC input is a buffer whose border is zeroed once (only the
  interior is written at each call); im2col copies the strided window view into a column
  buffer; the GEMM writes into the output buffer seen as (1, N*Ho*Wo, O) (its channels-last
  memory); the bias is added in place. The columns are remembered for the weight gradient
  of the same input buffer later in the same plan (eager mode hands them over the same way).
- ``conv2d_input_grad``: the tap GEMM into a buffer, col2im adds into a zeroed padded buffer,
  the interior copied into the output (the eager forward returns that interior as a view).
- ``conv2d_weight_grad``: the forward's columns (or its own im2col), the GEMM into a buffer,
  copied into the output in (O, Cg, kh, kw) order.
- ``max_pool2d``: the running maximum and tap index in the output buffer and an index buffer
  (handed to ``max_pool2d_grad`` through the node, as eager mode does); the gather form (an
  index given) runs its eager forward.
- ``max_pool2d_grad``: the masked writes (or adds) into a zeroed buffer.
- ``batch_norm``: the centred activations computed in the output buffer (scaled and shifted
  there in place), their squares in a buffer; the per-channel statistics as eager mode
  computes them, left on the node for the running estimates and the vjp.

Only groups == 1 convolutions, and outputs in the memory layout these kernels assume, get a
kernel; anything else keeps the generic path (the eager forward, copied into the buffer).
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

from ..backend import ndarray, xp
from ..core.primitives import conv as C
from ..core.primitives.batchnorm import BatchNorm, _PerChannel

# (id of an input buffer, geometry) -> (that buffer, its column buffer), for the plan being
# built: a weight gradient of the same input reuses the forward's columns. Cleared when a
# plan starts (new_plan), so no plan reads another's columns.
_cols_of: dict[tuple, tuple[ndarray, ndarray]] = {}


def new_plan() -> None:
    _cols_of.clear()


def _nhwc(out: ndarray) -> ndarray | None:
    """``out`` (N, C, H, W) seen as its C-contiguous NHWC memory, if it is channels-last."""
    t = out.transpose(0, 2, 3, 1)
    return t if t.flags.c_contiguous else None


class _Im2col:
    """``_columns(_pad_nhwc(x, padding), ...)`` for groups == 1, into fixed buffers."""

    def __init__(self, x: ndarray, padding: tuple, kernel: tuple, stride: tuple,
                 dilation: tuple, out_hw: tuple) -> None:
        (pt, pb), (pl, pr) = padding
        N, Cin, H, W = x.shape
        self.xt = x.transpose(0, 2, 3, 1)
        self.pad = None
        src = self.xt
        if pt or pb or pl or pr:
            self.pad = xp.zeros((N, H + pt + pb, W + pl + pr, Cin), x.dtype)
            self.inner = self.pad[:, pt:pt + H, pl:pl + W]
            src = self.pad
        elif not self.xt.flags.c_contiguous:
            src = self.pad = xp.empty(self.xt.shape, x.dtype)
            self.inner = self.pad
        (kh, kw), (sh, sw), (dh, dw), (Ho, Wo) = kernel, stride, dilation, out_hw
        s0, s1, s2, s3 = src.strides
        self.win = C._as_strided(src, (N, Ho, Wo, kh, kw, Cin),
                                 (s0, s1 * sh, s2 * sw, s1 * dh, s2 * dw, s3), writeable=False)
        self.cols = xp.empty((1, N * Ho * Wo, kh * kw * Cin), x.dtype)
        self.cols6 = self.cols.reshape(self.win.shape)

    def __call__(self) -> ndarray:
        if self.pad is not None:
            xp.copyto(self.inner, self.xt)
        xp.copyto(self.cols6, self.win)
        return self.cols


def _conv(node: Any, im: _Im2col, w: ndarray, b: ndarray | None, y: ndarray) -> None:
    xp.matmul(im(), C._w_cols(w, 1), out=y)
    if b is not None:
        xp.add(y, b, out=y)


def conv_kernel(node: Any, ins: tuple, out: ndarray) -> Callable[[], None] | None:
    x, w = ins[0], ins[1]
    y = _nhwc(out)
    if node.groups != 1 or y is None or x.ndim != 4 or out.dtype != x.dtype:
        return None
    kernel = tuple(w.shape[2:])
    geom = (node.padding, kernel, node.stride, node.dilation)
    im = _Im2col(x, *geom, tuple(out.shape[2:]))
    _cols_of[(id(x),) + geom] = (x, im.cols)
    return partial(_conv, node, im, w, ins[2] if len(ins) > 2 else None,
                   y.reshape(1, -1, out.shape[1]))


def _input_grad(node: Any, g: ndarray, w: ndarray, taps: ndarray, dx: ndarray,
                views: list, inner: ndarray, out: ndarray) -> None:
    O, Cg, kh, kw = w.shape
    N, _, Ho, Wo = g.shape
    wt = xp.ascontiguousarray(w.reshape(1, O, Cg, kh * kw).transpose(0, 3, 1, 2))
    xp.matmul(C._g_rows(g, 1)[:, None], wt, out=taps)
    dx.fill(0)
    for t, view in enumerate(views):
        view += taps[:, t].reshape(1, N, Ho, Wo, Cg).transpose(1, 2, 3, 0, 4)
    xp.copyto(out, inner)


def input_grad_kernel(node: Any, ins: tuple, out: ndarray) -> Callable[[], None] | None:
    g, w = ins
    if node.groups != 1 or g.ndim != 4 or out.dtype != g.dtype:
        return None
    N, _, Ho, Wo = g.shape
    O, Cg, kh, kw = w.shape
    (pt, pb), (pl, pr) = node.padding
    H, W = node.in_hw
    taps = xp.empty((1, kh * kw, N * Ho * Wo, Cg), g.dtype)
    dx = xp.empty((N, H + pt + pb, W + pl + pr, 1, Cg), g.dtype)
    views = list(C._taps(dx, (kh, kw), node.stride, node.dilation, (Ho, Wo), 1))
    inner = dx.reshape(N, H + pt + pb, W + pl + pr, Cg)[
        :, pt:pt + H, pl:pl + W].transpose(0, 3, 1, 2)
    return partial(_input_grad, node, g, w, taps, dx, views, inner, out)


def _weight_grad(cols: Callable[[], ndarray], g: ndarray, dw: ndarray, dw_view: ndarray,
                 out: ndarray) -> None:
    xp.matmul(cols().transpose(0, 2, 1), C._g_rows(g, 1), out=dw)
    xp.copyto(out, dw_view)


def weight_grad_kernel(node: Any, ins: tuple, out: ndarray) -> Callable[[], None] | None:
    x, g = ins
    if node.groups != 1 or x.ndim != 4 or out.dtype != x.dtype or g.dtype != x.dtype:
        return None
    geom = (node.padding, node.kernel, node.stride, node.dilation)
    known = _cols_of.get((id(x),) + geom)
    if known is not None and known[0] is x:
        cols = known[1]
        fetch: Callable[[], ndarray] = lambda: cols  # noqa: E731
    else:
        fetch = _Im2col(x, *geom, tuple(g.shape[2:]))
    (kh, kw), O, Cg = node.kernel, g.shape[1], x.shape[1]
    dw = xp.empty((1, kh * kw * Cg, O), x.dtype)
    dw_view = dw.reshape(1, kh, kw, Cg, O).transpose(0, 4, 3, 1, 2)
    return partial(_weight_grad, fetch, g, dw, dw_view, out[None])


def _max_pool(node: Any, x: ndarray, xin: ndarray, pad: ndarray | None, taps: list,
              best: ndarray, idx: ndarray, m: ndarray, nan: ndarray, step: ndarray,
              ax: int, out: ndarray) -> None:
    if node._index is not None:  # the gather form (a vjp): its eager forward
        xp.copyto(out, node.forward(x))
        return
    if pad is not None:
        xp.copyto(pad, xin)
    xp.copyto(best, taps[0])
    idx.fill(0)
    for t in range(1, len(taps)):
        v = taps[t]
        xp.greater(v, best, out=m)
        xp.not_equal(v, v, out=nan)
        xp.bitwise_or(m, nan, out=m)
        xp.subtract(t, idx, out=step)
        xp.multiply(step, m, out=step)
        xp.add(idx, step, out=idx)
        xp.maximum(best, v, out=best)
    node._index = C._unwork(idx, ax)


def max_pool_kernel(node: Any, ins: tuple, out: ndarray) -> Callable[[], None] | None:
    x = ins[0]
    if x.ndim != 4 or out.dtype != x.dtype:
        return None
    xw, ax = C._work(x)
    best = out.transpose(0, 2, 3, 1) if ax == 1 else out
    if not best.flags.c_contiguous:
        return None
    ph, pw = node.padding
    pad = None
    src = xw
    if ph or pw:
        shape = list(xw.shape)
        shape[ax] += 2 * ph
        shape[ax + 1] += 2 * pw
        src = pad = xp.full(shape, -xp.inf, x.dtype)
        pad = C._unpad_work(pad, ax, node.padding, x.shape[2:])
    taps = list(C._taps(src, node.kernel, node.stride, node.dilation,
                        best.shape[ax:ax + 2], ax))
    idx = xp.zeros(best.shape, xp.min_scalar_type(node.kernel[0] * node.kernel[1]))
    m, nan = xp.empty(best.shape, bool), xp.empty(best.shape, bool)
    return partial(_max_pool, node, x, xw, pad, taps, best, idx, m, nan,
                   xp.empty_like(idx), ax, out)


def _max_pool_grad(node: Any, g: ndarray, dx: ndarray, views: list, sel: ndarray,
                   overlap: bool, ax: int, inner: ndarray | None, out: ndarray) -> None:
    idx, ax2 = C._work(node._index)
    if ax2 != ax:
        xp.copyto(out, node.forward(g))
        return
    gw = C._as_work(g, ax)
    dx.fill(0)
    finite = bool(xp.isfinite(gw).all())
    for t, view in enumerate(views):
        xp.equal(idx, t, out=sel)
        if not finite:
            view += xp.where(sel, gw, 0)
        elif overlap:
            view += gw * sel
        else:
            xp.multiply(gw, sel, out=view)
    if inner is not None:
        xp.copyto(out, inner)


def max_pool_grad_kernel(node: Any, ins: tuple, out: ndarray) -> Callable[[], None] | None:
    g = ins[0]
    if g.ndim != 4 or out.dtype != g.dtype:
        return None
    ax = 1 if _nhwc(out) is not None and not out.flags.c_contiguous else 2
    gw = C._as_work(g, ax)
    ph, pw = node.padding
    if ph or pw:
        dx = C._zeros_work(gw, ax, node.padding, node.in_hw)
        inner = C._unwork(C._unpad_work(dx, ax, node.padding, node.in_hw), ax)
    else:
        dx, inner = (out.transpose(0, 2, 3, 1) if ax == 1 else out), None
        if not dx.flags.c_contiguous:
            return None
    views = list(C._taps(dx, node.kernel, node.stride, node.dilation, gw.shape[ax:ax + 2], ax))
    overlap = C._overlapping(node.kernel, node.stride, node.dilation)
    return partial(_max_pool_grad, node, g, dx, views, xp.empty(gw.shape, bool), overlap, ax,
                   inner, out)


def _batch_norm(node: Any, x: ndarray, w: ndarray, b: ndarray, pc: Any, xw: ndarray,
                xc: ndarray, sq: ndarray, sq_back: ndarray) -> None:
    M = x.size // x.shape[1]
    mean = C.channel_sum(x) / M
    xp.subtract(xw, pc.vec(mean), out=xc)
    xp.multiply(xc, xc, out=sq)
    var = C.channel_sum(sq_back) / M
    invstd = 1.0 / xp.sqrt(var + node.eps)
    node._mean, node._var, node._invstd = mean, var, invstd
    xc *= pc.vec(invstd * w)
    xc += pc.vec(b)


def batch_norm_kernel(node: Any, ins: tuple, out: ndarray) -> Callable[[], None] | None:
    x, w, b = ins
    if out.dtype != x.dtype or out.shape != x.shape or out.strides != x.strides:
        return None
    pc = _PerChannel(x)
    if not (pc.cl or x.flags.c_contiguous):  # eager's temporaries in another layout
        return None
    xc = pc.view(out)
    if not xp.shares_memory(xc, out):
        return None
    sq = xp.empty(xc.shape, x.dtype)
    return partial(_batch_norm, node, x, w, b, pc, pc.view(x), xc, sq, pc.back(sq))


def _bn_vjp(node: Any, g: ndarray, gd: ndarray, x: ndarray, w: ndarray, pc: Any,
            xc: ndarray, gv: ndarray, tmp: ndarray, tmp_back: ndarray, gx: ndarray,
            dw: ndarray, db_out: ndarray) -> None:
    if gd is not g:
        xp.copyto(gd, g)
    M = x.size // x.shape[1]
    mean, invstd = node._mean, node._invstd
    xp.subtract(pc.view(x), pc.vec(mean), out=xc)
    db = C.channel_sum(gd)
    xp.multiply(gv, xc, out=tmp)
    gxc = C.channel_sum(tmp_back)
    a = w * invstd
    xc *= pc.vec(-a * invstd * invstd * gxc / M)
    xc += pc.vec(-a * db / M)
    xp.multiply(gv, pc.vec(a), out=gx)
    gx += xc
    xp.multiply(gxc, invstd, out=dw)
    xp.copyto(db_out, db)


def batch_norm_vjp_kernel(node: Any, g: ndarray, saved: tuple, nxt: tuple,
                          outs: tuple) -> Callable[[], None] | None:
    """batch_norm's vjp on arrays (no create_graph) into its three result buffers, the
    same NumPy calls in the same order; None where the generic replay must run it."""
    if not isinstance(node, BatchNorm) or any(e is None for e in nxt) or \
            any(o is None for o in outs) or len(outs) != 3 or len(saved) < 2:
        return None
    x, w = saved[0], saved[1]
    gx, dw, db = outs
    pc = _PerChannel(x)
    if not (pc.cl or x.flags.c_contiguous) or g.dtype != x.dtype or gx.shape != x.shape \
            or gx.strides != x.strides or gx.dtype != x.dtype:
        return None
    gd = pc.adopt(g)
    if not xp.shares_memory(gd, g):  # adopt copies: into a buffer of that layout
        gd = xp.empty_like(gd)
    else:
        gd = g
    if not (pc.cl or gd.flags.c_contiguous):
        return None
    gv, gxw = pc.view(gd), pc.view(gx)
    if not xp.shares_memory(gxw, gx):
        return None
    tmp = xp.empty(gv.shape, x.dtype)
    return partial(_bn_vjp, node, g, gd, x, w, pc, xp.empty(gv.shape, x.dtype), gv, tmp,
                   pc.back(tmp), gxw, dw, db)


def cnn_kernel(node: Any, ins: tuple, out: ndarray) -> tuple[Callable[[], None], str] | None:
    """A kernel for a convolution or max-pool primitive, and its listing label, if it has
    one for these buffers."""
    make = _KERNELS.get(type(node))
    call = make(node, ins, out) if make is not None else None
    return None if call is None else (call, f"{node.name} (out= kernel)")


_KERNELS: dict[type, Callable] = {
    C.Conv2d: conv_kernel, C.Conv2dInputGrad: input_grad_kernel,
    C.Conv2dWeightGrad: weight_grad_kernel, C.MaxPool2d: max_pool_kernel,
    C.MaxPool2dGrad: max_pool_grad_kernel, BatchNorm: batch_norm_kernel,
}
