"""The nn.Transformer family against PyTorch (float64): PyTorch state dicts load (strictly)
and give the same outputs and gradients for the option combinations and masks; programs
subclass nn.Transformer as PyTorch's word_language_model example does."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor is True",
                                        "ignore:Support for mismatched")

rng = np.random.default_rng(0)
TOL = dict(rtol=1e-10, atol=1e-12)
# chainrule's exact GELU uses an erfc fit with relative error < 1.2e-7 (nn/functional.py)
GELU_TOL = dict(rtol=1e-5, atol=1e-6)


def randn(*shape):
    return rng.standard_normal(shape)


def load(ours, theirs):
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    return ours


def both(tm, cm, inputs, kw, tol=TOL):
    """Outputs and every gradient (inputs and parameters) of sum(w * out) agree."""
    tx = [torch.tensor(a, requires_grad=True) for a in inputs]
    cx = [cr.tensor(a, requires_grad=True) for a in inputs]
    tkw = {k: (torch.from_numpy(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    ckw = {k: (cr.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    t, c = tm(*tx, **tkw), cm(*cx, **ckw)
    np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), **tol)
    w = np.cos(np.arange(c.detach().numpy().size)).reshape(c.shape)
    (t * torch.from_numpy(w)).sum().backward()
    (c * cr.tensor(w)).sum().backward()
    for a, b in zip(tx, cx):
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), **tol)
    cp = dict(cm.named_parameters())
    assert sorted(cp) == sorted(n for n, _ in tm.named_parameters())
    for n, p in tm.named_parameters():
        np.testing.assert_allclose(cp[n].grad.numpy(), p.grad.numpy(), err_msg=n, **tol)


def pair(tcls, ccls, *args, **kw):
    torch.manual_seed(0)
    tm = tcls(*args, **kw).double()
    return tm, load(ccls(*args, **kw).double(), tm)


def masks(L, S, N, kind):
    """src/tgt masks of each kind, and key padding masks (never a fully padded sequence)."""
    if kind == "causal_float":
        m = np.triu(np.full((L, S), -np.inf), 1)
    elif kind == "bool":
        m = np.triu(np.ones((L, S), bool), 1)
    else:
        m = randn(L, S) if kind == "float" else None
    kpm = np.zeros((N, S), bool)
    kpm[0, -1] = True
    return m, kpm


ACTIVATIONS = {"relu": ("relu", "relu"), "gelu": ("gelu", "gelu"),
               "callable": (torch.tanh, cr.tanh)}


@pytest.mark.parametrize("norm_first,activation,batch_first,bias,mask", [
    (nf, act, bf, b, m) for nf, act, bf, b, m in itertools.product(
        [False, True], list(ACTIVATIONS), [False, True], [True, False],
        ["causal_float", "bool", "float", None])
    if (b or act == "relu")  # bias=False once per layout is enough
])
def test_encoder_layer_matches_torch(norm_first, activation, batch_first, bias, mask):
    ta, ca = ACTIVATIONS[activation]
    torch.manual_seed(0)
    opts = dict(dim_feedforward=12, dropout=0.0, batch_first=batch_first,
                norm_first=norm_first, bias=bias, layer_norm_eps=1e-4)
    tm = torch.nn.TransformerEncoderLayer(8, 2, activation=ta, **opts).double()
    cm = load(nn.TransformerEncoderLayer(8, 2, activation=ca, **opts).double(), tm)
    L, N = 5, 3
    x = randn(N, L, 8) if batch_first else randn(L, N, 8)
    m, kpm = masks(L, L, N, mask)
    both(tm, cm, [x], dict(src_mask=m, src_key_padding_mask=kpm),
         GELU_TOL if activation == "gelu" else TOL)


@pytest.mark.parametrize("norm_first,batch_first", list(itertools.product([False, True],
                                                                          [False, True])))
def test_decoder_layer_matches_torch(norm_first, batch_first):
    tm, cm = pair(torch.nn.TransformerDecoderLayer, nn.TransformerDecoderLayer, 8, 2, 12, 0.0,
                  batch_first=batch_first, norm_first=norm_first, activation=torch.sigmoid)
    cm.activation = cr.sigmoid
    L, S, N = 4, 6, 2
    tgt = randn(N, L, 8) if batch_first else randn(L, N, 8)
    mem = randn(N, S, 8) if batch_first else randn(S, N, 8)
    tm_mask, tkpm = masks(L, L, N, "causal_float")
    mm, mkpm = masks(L, S, N, "float")
    both(tm, cm, [tgt, mem], dict(tgt_mask=tm_mask, memory_mask=mm, tgt_key_padding_mask=tkpm,
                                  memory_key_padding_mask=mkpm, tgt_is_causal=True))


def test_transformer_matches_torch_with_every_mask():
    tm, cm = pair(torch.nn.Transformer, nn.Transformer, d_model=8, nhead=2,
                  num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16, dropout=0.0)
    S, L, N = 6, 4, 3
    src_mask, src_kpm = masks(S, S, N, "bool")
    tgt_mask = nn.Transformer.generate_square_subsequent_mask(L, dtype=cr.float64).detach().numpy()
    _, tgt_kpm = masks(L, L, N, None)
    mem_mask, mem_kpm = masks(L, S, N, "float")
    both(tm, cm, [randn(S, N, 8), randn(L, N, 8)],
         dict(src_mask=src_mask, tgt_mask=tgt_mask, memory_mask=mem_mask,
              src_key_padding_mask=src_kpm, tgt_key_padding_mask=tgt_kpm,
              memory_key_padding_mask=mem_kpm))


def test_stacks_with_final_norms_match_torch():
    torch.manual_seed(0)
    tl = torch.nn.TransformerEncoderLayer(8, 4, 16, 0.0, batch_first=True, norm_first=True)
    tm = torch.nn.TransformerEncoder(tl, 3, norm=torch.nn.LayerNorm(8)).double()
    cl = nn.TransformerEncoderLayer(8, 4, 16, 0.0, batch_first=True, norm_first=True)
    cm = load(nn.TransformerEncoder(cl, 3, norm=nn.LayerNorm(8)).double(), tm)
    mask = np.triu(np.full((5, 5), -np.inf), 1)
    both(tm, cm, [randn(2, 5, 8)], dict(mask=mask, is_causal=True))
    both(tm, cm, [randn(2, 5, 8)], dict(mask=mask))  # the causal mask detected, as in torch
    # the copies are independent (deep copies), as in torch
    assert cm.layers[0].linear1.weight is not cm.layers[1].linear1.weight
    assert cm.layers[0].linear1.weight is not cl.linear1.weight


def test_generate_square_subsequent_mask_is_pytorchs():
    for sz in (1, 4):
        ours = nn.Transformer.generate_square_subsequent_mask(sz)
        theirs = torch.nn.Transformer.generate_square_subsequent_mask(sz)
        np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
        assert ours.dtype == cr.float32
    assert nn.Transformer.generate_square_subsequent_mask(3, dtype=cr.float64).dtype == \
        cr.float64
    m = nn.Transformer().generate_square_subsequent_mask(2)  # also through an instance
    assert m.shape == (2, 2)


def test_transformer_state_dict_and_init_are_pytorchs():
    ours, theirs = nn.Transformer(16, 2, 1, 1, 32), torch.nn.Transformer(16, 2, 1, 1, 32)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    w = ours.encoder.layers[0].linear1.weight.detach().numpy()  # xavier_uniform_: +-sqrt(6/(16+32))
    assert np.abs(w).max() <= math.sqrt(6 / 48) and np.abs(w).max() > 0.8 * math.sqrt(6 / 48)


# ---------------------------------------------------------------------------------------------
# Subclassing, as PyTorch's word_language_model example does
# ---------------------------------------------------------------------------------------------


def word_language_model(lib):
    """PyTorch's examples/word_language_model TransformerModel, with its token embedding
    written as a Linear of one-hot rows (the example's nn.Embedding is another branch's)."""
    nn_, F_ = lib.nn, lib.nn.functional

    class PositionalEncoding(nn_.Module):
        def __init__(self, d_model, dropout=0.1, max_len=50):
            super().__init__()
            self.dropout = nn_.Dropout(p=dropout)
            pe = np.zeros((max_len, d_model))
            position = np.arange(max_len)[:, None]
            div_term = np.exp(np.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
            pe[:, 0::2] = np.sin(position * div_term)
            pe[:, 1::2] = np.cos(position * div_term)
            self.register_buffer("pe", lib.tensor(pe[:, None, :]))

        def forward(self, x):
            x = x + self.pe[:x.size(0), :]
            return self.dropout(x)

    class TransformerModel(nn_.Transformer):
        def __init__(self, ntoken, ninp, nhead, nhid, nlayers, dropout=0.5):
            super().__init__(d_model=ninp, nhead=nhead, dim_feedforward=nhid,
                             num_encoder_layers=nlayers)
            self.model_type = "Transformer"
            self.src_mask = None
            self.pos_encoder = PositionalEncoding(ninp, dropout)
            self.input_emb = nn_.Linear(ntoken, ninp, bias=False)
            self.ninp = ninp
            self.decoder = nn_.Linear(ninp, ntoken)

        def _generate_square_subsequent_mask(self, sz):
            # the example's torch.log(torch.tril(torch.ones(sz, sz))), tril done in NumPy
            # (chainrule has no tril yet)
            return lib.log(lib.tensor(np.tril(np.ones((sz, sz)))))

        def forward(self, src, has_mask=True):
            if has_mask:
                if self.src_mask is None or self.src_mask.size(0) != len(src):
                    self.src_mask = self._generate_square_subsequent_mask(len(src)).double()
            else:
                self.src_mask = None
            src = self.input_emb(src) * math.sqrt(self.ninp)
            src = self.pos_encoder(src)
            output = self.encoder(src, mask=self.src_mask)
            output = self.decoder(output)
            return F_.log_softmax(output, dim=-1)

    return TransformerModel(11, 8, 2, 16, 2, dropout=0.0)


@pytest.mark.filterwarnings("ignore:divide by zero encountered in log")  # log(0) = -inf: wanted
def test_word_language_model_subclass_matches_torch():
    torch.manual_seed(0)
    tm = word_language_model(torch).double().eval()  # eval: the layers' dropout is 0.1
    cm = load(word_language_model(cr).double(), tm).eval()
    assert isinstance(cm.decoder, nn.Linear) and "decoder.weight" in cm.state_dict()
    onehot = np.eye(11)[rng.integers(0, 11, (7, 3))]
    both(tm, cm, [onehot], {})


def test_word_language_model_pattern_without_tril():
    """The same subclass, its mask built with generate_square_subsequent_mask."""
    class LM(nn.Transformer):
        def __init__(self):
            super().__init__(d_model=8, nhead=2, dim_feedforward=16, num_encoder_layers=2,
                             dropout=0.0)
            self.src_mask = None
            self.decoder = nn.Linear(8, 5)  # replaces the TransformerDecoder

        def forward(self, src):
            if self.src_mask is None or self.src_mask.size(0) != len(src):
                self.src_mask = self.generate_square_subsequent_mask(len(src))
            return self.decoder(self.encoder(src, mask=self.src_mask))

    m = LM()
    assert not any(k.startswith("decoder.layers") for k in m.state_dict())
    x = cr.randn(6, 2, 8)
    y = m(x)
    assert y.shape == (6, 2, 5)
    y2 = m(cr.cat([x, cr.randn(2, 2, 8)]))  # causal: later tokens leave earlier ones alone
    np.testing.assert_allclose(y2.detach().numpy()[:6], y.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_dropout_is_seeded_and_off_in_eval():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.3)
    x = cr.randn(4, 2, 8)
    cr.manual_seed(5)
    a = layer(x).detach().numpy()
    cr.manual_seed(5)
    np.testing.assert_array_equal(layer(x).detach().numpy(), a)
    layer.eval()
    np.testing.assert_array_equal(layer(x).detach().numpy(), layer(x).detach().numpy())
    assert not np.allclose(layer(x).detach().numpy(), a)


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


def test_bad_input_names_the_layer_and_shapes():
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    with pytest.raises(ValueError, match=r"TransformerEncoderLayer\(d_model=8, nhead=2\): "
                                         r"expected src with d_model=8 features in its last dim, "
                                         r"got shape \(4, 2, 6\)"):
        layer(cr.randn(4, 2, 6))
    with pytest.raises(ValueError, match=r"the shape of the 2-D attn_mask is \(3, 3\), but "
                                         r"should be \(L, S\) = \(4, 4\)"):
        layer(cr.randn(4, 2, 8), src_mask=cr.zeros(3, 3))
    with pytest.raises(ValueError, match="embed_dim must be divisible by num_heads"):
        nn.TransformerEncoderLayer(10, 3)
    with pytest.raises(ValueError, match="activation should be 'relu', 'gelu' or a callable, "
                                         "not 'tanh'"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    dec = nn.TransformerDecoderLayer(8, 2, 16)
    with pytest.raises(ValueError, match=r"expected memory with d_model=8.*\(5, 2, 4\)"):
        dec(cr.randn(3, 2, 8), cr.randn(5, 2, 4))
    t = nn.Transformer(8, 2, 1, 1, 16)
    with pytest.raises(ValueError, match=r"the batch number of src and tgt must be equal \(dim 1"):
        t(cr.randn(5, 2, 8), cr.randn(4, 3, 8))
    with pytest.raises(ValueError, match="the feature number of src and tgt must be equal to "
                                         "d_model=8"):
        t(cr.randn(5, 2, 8), cr.randn(4, 2, 6))
