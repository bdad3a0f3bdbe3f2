"""nn.Embedding / F.embedding and nn.EmbeddingBag / F.embedding_bag against PyTorch: values,
gradients (scatter-added into rows, none for the padding row, scaled by frequency), max_norm
renormalisation, from_pretrained, and the errors for bad indices."""

import itertools

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
tF = torch.nn.functional
RNG = np.random.default_rng(0)
IDX = np.array([[1, 2, 0, 2], [4, 0, 3, 2]])


def close(a, b, tol=1e-10):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("padding_idx,scale,max_norm",
                         list(itertools.product((None, 0, -3), (False, True), (None, 1.5))))
def test_embedding_matches_torch(padding_idx, scale, max_norm):
    w = RNG.standard_normal((5, 3))
    tw, cw = torch.tensor(w, requires_grad=True), cr.tensor(w.copy(), requires_grad=True)
    to = tF.embedding(torch.tensor(IDX), tw, padding_idx, max_norm, 2.0, scale)
    co = F.embedding(cr.tensor(IDX), cw, padding_idx, max_norm, 2.0, scale)
    close(co, to)
    close(cw, tw)  # max_norm renormalised the same rows in place
    g = RNG.standard_normal(to.shape)
    (to * torch.tensor(g)).sum().backward()
    (co * cr.tensor(g)).sum().backward()
    close(cw.grad, tw.grad)


def test_embedding_module_and_from_pretrained():
    cr.manual_seed(0)
    m = nn.Embedding(6, 4, padding_idx=2)
    assert m.weight[2].tolist() == [0.0] * 4 and m.weight.dtype == cr.float32
    t = torch.nn.Embedding(6, 4, padding_idx=2)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    close(m(cr.tensor(IDX)), t(torch.tensor(IDX)))
    assert repr(m) == repr(t)
    table = cr.tensor(RNG.standard_normal((3, 2)))
    e = nn.Embedding.from_pretrained(table)
    assert not e.weight.requires_grad and e(cr.tensor([2])).tolist() == [table[2].tolist()]
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad


def test_embedding_gradients_of_every_order():
    # (padding_idx and scale_grad_by_freq change the gradient on purpose: torch checks them)
    w = cr.tensor(RNG.standard_normal((5, 2)), requires_grad=True)
    assert gradcheck(lambda w: F.embedding(cr.tensor(IDX), w) ** 2, [w])
    assert gradgradcheck(lambda w: F.embedding(cr.tensor(IDX), w) ** 2, [w])
    assert gradgradcheck(lambda w: F.embedding_bag(cr.tensor(IDX), w, mode="max") ** 2, [w])


@pytest.mark.parametrize("mode", ("sum", "mean", "max"))
@pytest.mark.parametrize("padding_idx", (None, 2))
def test_embedding_bag_matches_torch(mode, padding_idx):
    w = RNG.standard_normal((5, 3))
    cases = [(IDX, None, False), (np.array([1, 2, 4, 4, 3, 0, 2]), np.array([0, 3, 3, 5]), False),
             (np.array([1, 2, 4, 4, 3]), np.array([0, 2, 5]), True)]
    for idx, off, last in cases:
        tw, cw = torch.tensor(w, requires_grad=True), cr.tensor(w, requires_grad=True)
        to = tF.embedding_bag(torch.tensor(idx), tw, None if off is None else torch.tensor(off),
                              mode=mode, include_last_offset=last, padding_idx=padding_idx)
        co = F.embedding_bag(cr.tensor(idx), cw, None if off is None else cr.tensor(off),
                             mode=mode, include_last_offset=last, padding_idx=padding_idx)
        close(co, to)
        g = RNG.standard_normal(to.shape)
        (to * torch.tensor(g)).sum().backward()
        (co * cr.tensor(g)).sum().backward()
        close(cw.grad, tw.grad)


def test_embedding_bag_per_sample_weights_and_module():
    w = RNG.standard_normal((5, 3))
    psw = RNG.standard_normal(IDX.shape)
    tp, cp = torch.tensor(psw, requires_grad=True), cr.tensor(psw, requires_grad=True)
    to = tF.embedding_bag(torch.tensor(IDX), torch.tensor(w), mode="sum", per_sample_weights=tp)
    co = F.embedding_bag(cr.tensor(IDX), cr.tensor(w), mode="sum", per_sample_weights=cp)
    close(co, to)
    to.sum().backward()
    co.sum().backward()
    close(cp.grad, tp.grad)
    bag = nn.EmbeddingBag.from_pretrained(cr.tensor(w), mode="max")
    close(bag(cr.tensor(IDX)), torch.nn.EmbeddingBag.from_pretrained(
        torch.tensor(w), mode="max")(torch.tensor(IDX)))


def test_bad_indices_get_clear_errors():
    emb = nn.Embedding(10, 3)
    with pytest.raises(IndexError, match=r"embedding: index 12 is out of range for an "
                                         r"embedding of 10 rows.*\[0, 9\]"):
        emb(cr.tensor([1, 12]))
    with pytest.raises(IndexError, match="index -1 is out of range"):
        emb(cr.tensor([-1]))
    with pytest.raises(TypeError, match=r"integer tensor.*got torch.float32.*\.long\(\)"):
        emb(cr.tensor([1.0]))
    with pytest.raises(ValueError, match=r"padding_idx must be within num_embeddings \(10\)"):
        nn.Embedding(10, 3, padding_idx=10)
    with pytest.raises(ValueError, match="offsets\\[0\\] has to be 0"):
        F.embedding_bag(cr.tensor([1, 2]), emb.weight, cr.tensor([1]))
    with pytest.raises(NotImplementedError, match="only supported for mode='sum'"):
        F.embedding_bag(cr.tensor([[1, 2]]), emb.weight, per_sample_weights=cr.ones(1, 2))
