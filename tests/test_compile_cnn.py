"""cr.compile's convolution and max-pool kernels (chainrule/compile/cnn.py): the same bits as
the primitives' eager forward, and used where expected."""

import io

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli.recipes import Config, build_model
from chainrule.compile import cnn
from chainrule.core.primitives import conv as C


def _batches(dtype, n=4, batch=16):
    rng = np.random.default_rng(0)
    return [(rng.standard_normal((batch, 1, 8, 8)).astype(dtype),
             rng.integers(0, 10, batch)) for _ in range(n)]


def _run(model, batches, compiled):
    opt = cr.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = cr.nn.CrossEntropyLoss(label_smoothing=0.1)

    def step(x, y):
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    fn = cr.compile(step) if compiled else step
    cr.manual_seed(1)
    losses = [fn(cr.tensor(x), cr.tensor(y)).detach().numpy().tobytes() for x, y in batches]
    return losses, fn


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_digits_cnn_step_bit_equal_and_kernels_used(dtype):
    batches = _batches(dtype)
    runs = []
    for compiled in (False, True):
        cr.manual_seed(0)
        model = build_model(Config(model="cnn"))
        if dtype == np.float64:
            model = model.double()
        losses, fn = _run(model, batches, compiled)
        runs.append((losses, [p.detach().numpy().tobytes()
                              for p in model.state_dict().values()], fn))
    (le, we, _), (lc, wc, fn) = runs
    assert le == lc
    assert we == wc
    text = io.StringIO()
    fn.print_program(file=text)
    listing = text.getvalue()
    for name, n in [("conv2d", 2), ("conv2d_input_grad", 1), ("conv2d_weight_grad", 2),
                    ("max_pool2d", 1), ("max_pool2d_grad", 1), ("batch_norm", 2)]:
        assert listing.count(f"{name} (out= kernel)") == n, (name, listing)
        assert f"{name}.forward" not in listing, (name, listing)  # no generic path left
    assert listing.count("batch_norm.vjp(") == 2
    assert listing.count("[vjp on arrays, an out= kernel]") == 2, listing


def _same(node, make, ins, expect, index=None):
    """The kernel ``make`` for a fresh node writes the eager result's bytes (``index``: the
    max pool's ``_index`` as the plan sets it before each call)."""
    out = np.empty_like(expect)
    call = make(node, ins, out)
    assert call is not None
    for _ in range(2):  # a second call must not depend on what the first left behind
        out.fill(np.nan)
        if isinstance(node, (C.MaxPool2d, C.MaxPool2dGrad)):
            node._index = index
        call()
        assert out.tobytes() == expect.tobytes()


GEOMS = [((1, 1), ((1, 1), (1, 1)), (1, 1)), ((2, 1), ((0, 0), (0, 0)), (1, 1)),
         ((1, 2), ((2, 1), (0, 1)), (2, 1))]


@pytest.mark.parametrize("stride,padding,dilation", GEOMS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_kernels_bit_equal(stride, padding, dilation, dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4, 9, 7)).astype(dtype)
    x_cl = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    w = rng.standard_normal((5, 4, 3, 2)).astype(dtype)
    b = rng.standard_normal(5).astype(dtype)
    for xin, ins in [(x, (x, w, b)), (x_cl, (x_cl, w))]:
        geom = (stride, padding, dilation, 1)
        cnn.new_plan()
        y = C.Conv2d(*geom).forward(*ins)
        _same(C.Conv2d(*geom), cnn.conv_kernel, ins, y)
        g = rng.standard_normal(y.shape).astype(dtype)
        gx = C.Conv2dInputGrad(*geom, x.shape[2:]).forward(g, w)
        _same(C.Conv2dInputGrad(*geom, x.shape[2:]), cnn.input_grad_kernel, (g, w), gx)
        gw = C.Conv2dWeightGrad(*geom, w.shape[2:]).forward(xin, g)
        _same(C.Conv2dWeightGrad(*geom, w.shape[2:]), cnn.weight_grad_kernel,
              (xin, g), gw)  # the columns of the forward kernel above
        cnn.new_plan()
        _same(C.Conv2dWeightGrad(*geom, w.shape[2:]), cnn.weight_grad_kernel,
              (xin, g), gw)  # its own im2col


@pytest.mark.parametrize("kernel,stride,padding,dilation", [
    ((2, 2), (2, 2), (0, 0), (1, 1)), ((3, 3), (1, 1), (1, 1), (1, 1)),
    ((3, 2), (2, 1), (1, 0), (1, 2))])
@pytest.mark.parametrize("channels_last", [False, True])
def test_max_pool_kernels_bit_equal(kernel, stride, padding, dilation, channels_last):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 8, 7)).astype(np.float32)
    x[0, 0, :2, :2] = 1.0  # ties: the first tap wins
    x[1, 2, 3, 3] = np.nan
    if channels_last:
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    geom = (kernel, stride, padding, dilation)
    eager = C.MaxPool2d(*geom)
    y = eager.forward(x)
    node = C.MaxPool2d(*geom)
    _same(node, cnn.max_pool_kernel, (x,), y)
    assert node._index.tobytes() == eager._index.tobytes()
    assert node._index.strides == eager._index.strides
    g = rng.standard_normal(y.shape).astype(np.float32)
    if channels_last:
        g = np.ascontiguousarray(g.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    for gg in (g, np.where(g > 1.5, np.inf, g).astype(np.float32)):  # finite and not
        gx = C.MaxPool2dGrad(*geom, x.shape[2:], eager._index).forward(gg)
        _same(C.MaxPool2dGrad(*geom, x.shape[2:], eager._index),
              cnn.max_pool_grad_kernel, (gg,), gx, eager._index)
    # the gather form (the grad's vjp) keeps its eager forward inside the kernel
    gathered = C.MaxPool2d(*geom, eager._index).forward(x)
    _same(C.MaxPool2d(*geom, eager._index), cnn.max_pool_kernel, (x,), gathered,
          eager._index)


@pytest.mark.parametrize("layout", ["nchw", "channels_last", "2d", "3d"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_kernel_bit_equal(layout, dtype):
    from chainrule.core.primitives.batchnorm import BatchNorm

    rng = np.random.default_rng(3)
    shape = {"2d": (12, 6), "3d": (4, 6, 5)}.get(layout, (4, 6, 5, 3))
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    if layout == "channels_last":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    w, b = rng.standard_normal(6).astype(dtype), rng.standard_normal(6).astype(dtype)
    eager = BatchNorm(1e-5)
    y = eager.forward(x, w, b)
    node = BatchNorm(1e-5)
    _same(node, cnn.batch_norm_kernel, (x, w, b), y)
    for k in ("_mean", "_var", "_invstd"):
        assert getattr(node, k).tobytes() == getattr(eager, k).tobytes()


@pytest.mark.parametrize("layout", ["nchw", "channels_last", "2d", "mixed"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_vjp_kernel_bit_equal(layout, dtype):
    from chainrule.core.primitives.batchnorm import BatchNorm

    rng = np.random.default_rng(4)
    shape = (12, 6) if layout == "2d" else (4, 6, 5, 3)
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    if layout in ("channels_last", "mixed"):  # mixed: x channels-last, g not
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    if layout == "channels_last":
        g = np.ascontiguousarray(g.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    w, b = rng.standard_normal(6).astype(dtype), rng.standard_normal(6).astype(dtype)
    xt, wt, bt = (cr.tensor(a, requires_grad=True) for a in (x, w, b))
    y = cr.nn.functional.batch_norm(xt, None, None, wt, bt, training=True)
    node = y._node
    assert isinstance(node, BatchNorm)
    y.backward(cr.tensor(g))
    expect = [t.grad.numpy() for t in (xt, wt, bt)]
    outs = (np.empty_like(x),) + tuple(np.empty_like(e) for e in expect[1:])  # eager layout
    call = cnn.batch_norm_vjp_kernel(node, g, (x, w, b), (1, 1, 1), outs)
    assert call is not None
    for _ in range(2):
        for o in outs:
            o.fill(np.nan)
        call()
        assert [o.tobytes() for o in outs] == [e.tobytes() for e in expect]
    assert cnn.batch_norm_vjp_kernel(node, g, (x, w, b), (1, None, 1), outs) is None


def test_grouped_convolution_keeps_the_generic_path():
    x = np.ones((2, 4, 5, 5), np.float32)
    w = np.ones((6, 2, 3, 3), np.float32)
    node = C.Conv2d((1, 1), ((0, 0), (0, 0)), (1, 1), 2)
    out = np.empty_like(node.forward(x, w))
    assert cnn.conv_kernel(node, (x, w), out) is None
    assert cnn.cnn_kernel(node, (x, w), out) is None
