"""nn.RNN / LSTM / GRU, their cells and nn.utils.rnn against PyTorch: every option combination
loads a PyTorch state_dict and gives the same outputs, final states and gradients (float64,
1e-10), and back; packed sequences; gradients of the fused RecurrentLayer of every order;
the errors for bad input."""

import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.autograd import gradcheck, gradgradcheck
from chainrule.core.graph import apply
from chainrule.core.primitives.recurrent import GATES, RecurrentLayer, recurrent_composite
from chainrule.nn.utils.rnn import (PackedSequence, pack_padded_sequence, pack_sequence,
                                    pad_packed_sequence, pad_sequence, unpack_sequence)

torch = pytest.importorskip("torch")
tnn = torch.nn
RNG = np.random.default_rng(0)


def randn(*shape):
    return RNG.standard_normal(shape)


def close(a, b, tol=1e-10):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def to_cr(state):
    return {k: cr.tensor(v.detach().numpy().copy()) for k, v in state.items()}


def flat(h):
    return list(h) if isinstance(h, tuple) else [h]


def pair(cls, extra, **kw):
    t = getattr(tnn, cls)(3, 4, dtype=torch.float64, **extra, **kw)
    c = getattr(nn, cls)(3, 4, dtype=cr.float64, **extra, **kw)
    assert list(c.state_dict()) == list(t.state_dict())
    assert [p.shape for p in c.parameters()] == [tuple(p.shape) for p in t.parameters()]
    c.load_state_dict(to_cr(t.state_dict()))
    return c, t


KINDS = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {}),
         ("LSTM", {"proj_size": 2})]
OPTIONS = list(itertools.product((1, 2), (True, False), (False, True), (False, True),
                                 (False, True)))


@pytest.mark.parametrize("cls,extra", KINDS, ids=lambda v: str(v))
@pytest.mark.parametrize("layers,bias,batch_first,bidir,with_hx", OPTIONS)
def test_layer_matches_torch(cls, extra, layers, bias, batch_first, bidir, with_hx):
    c, t = pair(cls, extra, num_layers=layers, bias=bias, batch_first=batch_first,
                bidirectional=bidir)
    x = randn(*((2, 5, 3) if batch_first else (5, 2, 3)))
    tx, cx = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    targs, cargs = [tx], [cx]
    if with_hx:
        D, P = 1 + bidir, extra.get("proj_size") or 4
        hs = [randn(layers * D, 2, P)] + ([randn(layers * D, 2, 4)] if cls == "LSTM" else [])
        th = [torch.tensor(h, requires_grad=True) for h in hs]
        ch = [cr.tensor(h, requires_grad=True) for h in hs]
        targs.append(tuple(th) if cls == "LSTM" else th[0])
        cargs.append(tuple(ch) if cls == "LSTM" else ch[0])
    to, tstate = t(*targs)
    co, cstate = c(*cargs)
    close(co, to)
    for a, b in zip(flat(cstate), flat(tstate)):
        close(a, b)
    w = [randn(*o.shape) for o in [to] + flat(tstate)]
    sum((o * torch.tensor(wi)).sum() for o, wi in zip([to] + flat(tstate), w)).backward()
    sum((o * cr.tensor(wi)).sum() for o, wi in zip([co] + flat(cstate), w)).backward()
    close(cx.grad, tx.grad)
    if with_hx:
        for a, b in zip(ch, th):
            close(a.grad, b.grad)
    for p, q in zip(c.parameters(), t.parameters()):
        close(p.grad, q.grad)


@pytest.mark.parametrize("cls,extra", KINDS, ids=lambda v: str(v))
def test_state_dict_goes_back_to_torch(cls, extra):
    c = getattr(nn, cls)(3, 4, num_layers=2, bidirectional=True, dtype=cr.float64, **extra)
    t = getattr(tnn, cls)(3, 4, num_layers=2, bidirectional=True, dtype=torch.float64, **extra)
    t.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in c.state_dict().items()})
    x = randn(6, 2, 3)
    close(c(cr.tensor(x))[0], t(torch.tensor(x))[0])


@pytest.mark.parametrize("cls,extra", KINDS, ids=lambda v: str(v))
def test_unbatched_input(cls, extra):
    c, t = pair(cls, extra, num_layers=2, bidirectional=True)
    x = randn(5, 3)
    P = extra.get("proj_size") or 4
    hs = [randn(4, P)] + ([randn(4, 4)] if cls == "LSTM" else [])
    hx_t = tuple(torch.tensor(h) for h in hs) if cls == "LSTM" else torch.tensor(hs[0])
    hx_c = tuple(cr.tensor(h) for h in hs) if cls == "LSTM" else cr.tensor(hs[0])
    for args_t, args_c in (((torch.tensor(x),), (cr.tensor(x),)),
                           ((torch.tensor(x), hx_t), (cr.tensor(x), hx_c))):
        to, ts = t(*args_t)
        co, cs = c(*args_c)
        close(co, to)
        for a, b in zip(flat(cs), flat(ts)):
            close(a, b)


def test_default_init_is_uniform_in_one_over_sqrt_hidden():
    cr.manual_seed(0)
    m = nn.LSTM(10, 25, num_layers=2, bidirectional=True)
    for p in m.parameters():
        a = p.detach().numpy()
        assert abs(a).max() <= 0.2 and abs(a).max() > 0.19  # 1/sqrt(25), 4*25*10+ draws
    assert p.dtype == cr.float32
    names = [n for n, _ in nn.GRU(2, 3).named_parameters()]
    assert names == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]


def test_dropout_between_layers_only_in_training():
    m = nn.GRU(3, 4, num_layers=3, dropout=0.5, dtype=cr.float64)
    x = cr.tensor(randn(5, 2, 3))
    cr.manual_seed(1)
    a = m(x)[0]
    cr.manual_seed(2)
    b = m(x)[0]
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    m.eval()
    close(m(x)[0], m(x)[0])
    t = tnn.GRU(3, 4, num_layers=3, dropout=0.5, dtype=torch.float64).eval()
    t.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in m.state_dict().items()})
    close(m(x)[0], t(torch.tensor(x.detach().numpy()))[0])


# ---------------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------------

CELLS = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}),
         ("GRUCell", {}), ("LSTMCell", {"bias": False})]


@pytest.mark.parametrize("cls,extra", CELLS, ids=lambda v: str(v))
@pytest.mark.parametrize("batched", (True, False))
@pytest.mark.parametrize("with_hx", (True, False))
def test_cell_matches_torch(cls, extra, batched, with_hx):
    c, t = pair(cls, extra)
    lead = (2,) if batched else ()
    x = randn(*lead, 3)
    tx, cx = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    targs, cargs = [tx], [cx]
    if with_hx:
        hs = [randn(*lead, 4) for _ in range(2 if cls == "LSTMCell" else 1)]
        targs.append(tuple(torch.tensor(h) for h in hs) if len(hs) == 2 else torch.tensor(hs[0]))
        cargs.append(tuple(cr.tensor(h) for h in hs) if len(hs) == 2 else cr.tensor(hs[0]))
    to, co = flat(t(*targs)), flat(c(*cargs))
    for a, b in zip(co, to):
        close(a, b)
    sum(o.sum() * (i + 1) for i, o in enumerate(to)).backward()
    sum(o.sum() * (i + 1) for i, o in enumerate(co)).backward()
    close(cx.grad, tx.grad)
    for p, q in zip(c.parameters(), t.parameters()):
        close(p.grad, q.grad)


# ---------------------------------------------------------------------------------------------
# Packed sequences
# ---------------------------------------------------------------------------------------------


def test_pad_sequence_matches_torch():
    seqs = [randn(3, 2), randn(1, 2), randn(4, 2)]
    for bf, side in itertools.product((False, True), ("right", "left")):
        close(pad_sequence([cr.tensor(s) for s in seqs], bf, -1.0, side),
              tnn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], bf, -1.0, side))


@pytest.mark.parametrize("enforce_sorted,lengths", [(True, [4, 3, 3, 1]),
                                                    (False, [2, 4, 1, 3])])
@pytest.mark.parametrize("batch_first", (False, True))
def test_pack_and_pad_match_torch(enforce_sorted, lengths, batch_first):
    x = randn(*((4, 4, 2) if batch_first else (4, 4, 2)))
    tp = tnn.utils.rnn.pack_padded_sequence(torch.tensor(x), lengths, batch_first,
                                            enforce_sorted)
    cp = pack_padded_sequence(cr.tensor(x), lengths, batch_first, enforce_sorted)
    assert isinstance(cp, PackedSequence)
    close(cp.data, tp.data)
    assert cp.batch_sizes.tolist() == tp.batch_sizes.tolist()
    for a, b in ((cp.sorted_indices, tp.sorted_indices),
                 (cp.unsorted_indices, tp.unsorted_indices)):
        assert (a is None) == (b is None) and (a is None or a.tolist() == b.tolist())
    for total in (None, 6):
        tpad, tl = tnn.utils.rnn.pad_packed_sequence(tp, batch_first, 0.5, total)
        cpad, cl = pad_packed_sequence(cp, batch_first, 0.5, total)
        close(cpad, tpad)
        assert cl.tolist() == tl.tolist()


def test_pack_sequence_and_unpack():
    seqs = [randn(2, 3), randn(4, 3), randn(1, 3)]
    cp = pack_sequence([cr.tensor(s) for s in seqs], enforce_sorted=False)
    tp = tnn.utils.rnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    close(cp.data, tp.data)
    for a, s in zip(unpack_sequence(cp), seqs):
        close(a, s)


@pytest.mark.parametrize("cls,extra", KINDS, ids=lambda v: str(v))
@pytest.mark.parametrize("enforce_sorted", (True, False))
def test_layers_run_packed_sequences_as_torch(cls, extra, enforce_sorted):
    c, t = pair(cls, extra, num_layers=2, bidirectional=True)
    lengths = [5, 3, 3, 1] if enforce_sorted else [3, 5, 1, 3]
    x = randn(5, 4, 3)
    tx, cx = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    P = extra.get("proj_size") or 4
    hs = [randn(4, 4, P)] + ([randn(4, 4, 4)] if cls == "LSTM" else [])
    hx_t = tuple(torch.tensor(h) for h in hs) if cls == "LSTM" else torch.tensor(hs[0])
    hx_c = tuple(cr.tensor(h) for h in hs) if cls == "LSTM" else cr.tensor(hs[0])
    to, ts = t(tnn.utils.rnn.pack_padded_sequence(tx, lengths, enforce_sorted=enforce_sorted),
               hx_t)
    co, cs = c(pack_padded_sequence(cx, lengths, enforce_sorted=enforce_sorted), hx_c)
    assert isinstance(co, PackedSequence)
    close(co.data, to.data)
    for a, b in zip(flat(cs), flat(ts)):
        close(a, b)
    tpad, _ = tnn.utils.rnn.pad_packed_sequence(to)
    cpad, _ = pad_packed_sequence(co)
    w = randn(*tpad.shape)
    ((tpad * torch.tensor(w)).sum() + sum(h.sum() for h in flat(ts))).backward()
    ((cpad * cr.tensor(w)).sum() + sum(h.sum() for h in flat(cs))).backward()
    close(cx.grad, tx.grad)
    for p, q in zip(c.parameters(), t.parameters()):
        close(p.grad, q.grad)


# ---------------------------------------------------------------------------------------------
# The fused primitive: gradients of every order, the composite it stands for
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(GATES))
@pytest.mark.parametrize("reverse", (False, True))
@pytest.mark.parametrize("sizes", (None, (3, 2, 2, 1)))
def test_recurrent_layer_gradients_of_every_order(mode, reverse, sizes):
    H, S = 2, 4 if mode == "lstm" else 2
    xs = [cr.tensor(a, requires_grad=True) for a in
          (randn(4, 3, GATES[mode] * H), randn(GATES[mode] * H, H), randn(GATES[mode] * H),
           randn(3, S))]

    def fused(*a):
        return apply(RecurrentLayer(mode, reverse, sizes), *a)

    close(fused(*xs), recurrent_composite(mode, *xs, batch_sizes=sizes, reverse=reverse))
    assert gradcheck(fused, xs)
    assert gradgradcheck(fused, xs)


def test_clip_grad_functions_match_torch():
    for norm_type in (2.0, 1.0, float("inf"), 3.0):
        g = randn(3, 4)
        tp = torch.zeros(3, 4, dtype=torch.float64, requires_grad=True)
        cp = cr.zeros(3, 4, dtype=cr.float64, requires_grad=True)
        tp.grad, cp.grad = torch.tensor(g), cr.tensor(g)
        a = tnn.utils.clip_grad_norm_([tp], 0.5, norm_type, foreach=True)
        b = nn.utils.clip_grad_norm_([cp], 0.5, norm_type, foreach=True)
        close(b, a, 1e-12)
        close(cp.grad, tp.grad, 1e-12)
    tnn.utils.clip_grad_value_([tp], 0.01, foreach=None)
    nn.utils.clip_grad_value_([cp], 0.01, foreach=None)
    close(cp.grad, tp.grad)
    cp.grad = cr.tensor(np.array([[np.inf]]))
    with pytest.raises(RuntimeError, match="error_if_nonfinite"):
        nn.utils.clip_grad_norm_([cp], 1.0, error_if_nonfinite=True)


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


def test_bad_input_gets_clear_errors():
    lstm = nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"LSTM: expected input to be 2D or 3D, got 4D.*"
                                         r"\(1, 2, 3, 3\)"):
        lstm(cr.randn(1, 2, 3, 3))
    with pytest.raises(ValueError, match=r"LSTM: input.size\(-1\) must be equal to input_size. "
                                         r"Expected 3, got 5"):
        lstm(cr.randn(4, 2, 5))
    with pytest.raises(RuntimeError, match=r"LSTM: expected hidden\[0\] size \(2, 2, 4\), got "
                                           r"\(1, 2, 4\)"):
        lstm(cr.randn(4, 2, 3), (cr.zeros(1, 2, 4), cr.zeros(2, 2, 4)))
    with pytest.raises(RuntimeError, match=r"hidden\[1\] size \(2, 2, 4\), got \(2, 3, 4\)"):
        lstm(cr.randn(4, 2, 3), (cr.zeros(2, 2, 4), cr.zeros(2, 3, 4)))
    with pytest.raises(RuntimeError, match=r"GRU: for unbatched 2-D input, hidden should also "
                                           r"be 2-D but got 3-D"):
        nn.GRU(3, 4)(cr.randn(5, 3), cr.zeros(1, 1, 4))
    with pytest.raises(TypeError, match=r"RNN: input dtype torch.float64 does not match"):
        nn.RNN(3, 4)(cr.randn(5, 2, 3, dtype=cr.float64))
    with pytest.raises(ValueError, match=r"GRUCell: input has inconsistent input_size: got 2 "
                                         r"expected 3"):
        nn.GRUCell(3, 4)(cr.randn(2, 2))
    with pytest.raises(RuntimeError, match=r"LSTMCell: expected hidden\[0\] of shape \(2, 4\)"):
        nn.LSTMCell(3, 4)(cr.randn(2, 3), (cr.zeros(3, 4), cr.zeros(2, 4)))
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="unknown nonlinearity 'sigmoid'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")


def test_bad_lengths_get_clear_errors():
    x = cr.randn(4, 3, 2)
    with pytest.raises(RuntimeError, match=r"must be sorted in decreasing order.*\[2, 4, 1\]"):
        pack_padded_sequence(x, [2, 4, 1])
    with pytest.raises(ValueError, match=r"len\(lengths\) to be equal to batch_size, but got 2 "
                                         r"\(batch_size=3\)"):
        pack_padded_sequence(x, [4, 1])
    with pytest.raises(ValueError, match="greater than 0"):
        pack_padded_sequence(x, [4, 1, 0])
    with pytest.raises(ValueError, match=r"a length \(5\) exceeds the padded length 4"):
        pack_padded_sequence(x, [5, 1, 1])
    with pytest.raises(ValueError, match="total_length to be at least"):
        pad_packed_sequence(pack_padded_sequence(x, [4, 2, 1]), total_length=3)


def test_all_weights_and_flatten_parameters_as_torch():
    c, t = pair("LSTM", {"proj_size": 2}, num_layers=2, bidirectional=True)
    assert [[tuple(w.shape) for w in ws] for ws in c.all_weights] == [
        [tuple(w.shape) for w in ws] for ws in t.all_weights]
    x = cr.tensor(randn(3, 2, 3))
    before = c(x)[0].detach().numpy()
    assert c.flatten_parameters() is None
    close(c(x)[0], before)
    for a, b in ((c, t), (nn.RNN(2, 3, nonlinearity="relu"), tnn.RNN(2, 3, nonlinearity="relu")),
                 (nn.RNNCell(2, 3, False, "relu"), tnn.RNNCell(2, 3, False, "relu"))):
        assert repr(a) == repr(b)
