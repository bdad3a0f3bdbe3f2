"""Recurrent layers unrolled in time (issue 11, "Seeing it"): draw / to_dot / print_graph /
explain show one box per time step, dL/dh_t flowing back through the steps, and the repeated
weights' gradients as the sums they are. Every number is checked: the steps' states against
the layer's output, dL/dh_t (and dL/dc_t) against autograd through a hand-unrolled loop of
cells with retain_grad, the sums of the steps' shares against W.grad (float64, 1e-12)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.viz.explain import build_explanation, format_explain
from chainrule.viz.unroll import find_layers, layer_numbers
from chainrule.viz.view import build_view

F64 = cr.float64
LAYERS = {"rnn_tanh": (nn.RNN, nn.RNNCell, {}),
          "rnn_relu": (nn.RNN, nn.RNNCell, {"nonlinearity": "relu"}),
          "lstm": (nn.LSTM, nn.LSTMCell, {}), "gru": (nn.GRU, nn.GRUCell, {})}
WEIGHTS = ("weight_ih", "bias_ih", "weight_hh", "bias_hh")


def _run(mode, T=5, B=2, I=3, H=4, seed=0, **kw):
    """A recorded layer, its input, output and a loss reading every step's output."""
    cls, _, extra = LAYERS[mode]
    cr.manual_seed(seed)
    m = cls(I, H, dtype=F64, **extra, **kw)
    bf = kw.get("batch_first", False)
    x = cr.randn(*((B, T, I) if bf else (T, B, I)), dtype=F64)
    with cr.viz.record(m):
        out, _ = m(x)
        weights = cr.randn(*out.shape, dtype=F64)
        loss = (out * weights).sum() + (out ** 2).sum()
    return m, x, out, weights, loss


def _numbers(loss):
    view = build_view(loss, values=True, grads=True)
    return [(lay, layer_numbers(lay, view, lay.rec.grad)) for lay in find_layers(view)]


def _suffix(lay):
    return lay.names["weight_hh"][len("weight_hh"):]


@pytest.mark.parametrize("mode", list(LAYERS))
@pytest.mark.parametrize("kw", [{}, {"bidirectional": True, "num_layers": 2},
                                {"batch_first": True, "num_layers": 2}])
def test_steps_and_sums_equal_the_engine(mode, kw):
    m, x, out, _, loss = _run(mode, **kw)
    found = _numbers(loss)
    D = 1 + kw.get("bidirectional", False)
    assert len(found) == kw.get("num_layers", 1) * D
    loss.backward()
    H = m.hidden_size
    last = out._data.swapaxes(0, 1) if kw.get("batch_first") else out._data
    for lay, tt in found:
        assert lay.x is not None and set(lay.weights) == set(WEIGHTS)
        for t in range(tt.T):  # every step's state is the fused layer's output
            np.testing.assert_allclose(tt.state(t), lay.rec.value[t], rtol=0, atol=1e-12)
        sfx = _suffix(lay)
        if sfx.startswith(f"_l{m.num_layers - 1}"):
            d = H if sfx.endswith("_reverse") else 0
            np.testing.assert_allclose(tt.h, last[:, :, d:d + H], rtol=0, atol=1e-12)
        for w in WEIGHTS:  # the sum over time of the steps' shares is W.grad
            grad = getattr(m, w + sfx).grad._data
            np.testing.assert_allclose(tt.total(w), grad, rtol=0, atol=1e-12)
        # dL/dh_t = what the output sends back + what the next step sends back
        np.testing.assert_allclose(tt.dh, tt.from_output[:, :, :H] + tt.from_next, atol=1e-15)


def _hand_unrolled(mode, m, x, weights, reverse):
    """The same layer as a Python loop of cells, through autograd, each state retaining its
    gradient."""
    _, cell_cls, extra = LAYERS[mode]
    sfx = "_reverse" if reverse else ""
    cell = cell_cls(m.input_size, m.hidden_size, dtype=F64, **extra)
    with cr.no_grad():
        for w in WEIGHTS:
            getattr(cell, w).copy_(getattr(m, f"{w}_l0{sfx}"))
    T, B = x.shape[0], x.shape[1]
    h = cr.zeros(B, m.hidden_size, dtype=F64)
    c = cr.zeros(B, m.hidden_size, dtype=F64)
    hs, cs = [None] * T, [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        if mode == "lstm":
            h, c = cell(x[t], (h, c))
            c.retain_grad()
            cs[t] = c
        else:
            h = cell(x[t], h)
        h.retain_grad()
        hs[t] = h
    H = m.hidden_size
    d = H if reverse else 0
    loss = sum(((hs[t] * weights[t, :, d:d + H]).sum() + (hs[t] ** 2).sum()) for t in range(T))
    loss.backward()
    return hs, cs, cell


@pytest.mark.parametrize("mode", list(LAYERS))
def test_dl_dh_of_every_step_is_autograds_through_a_loop_of_cells(mode):
    m, x, out, weights, loss = _run(mode, bidirectional=True)
    found = {_suffix(lay): tt for lay, tt in _numbers(loss)}
    for reverse in (False, True):
        tt = found["_l0_reverse" if reverse else "_l0"]
        hs, cs, cell = _hand_unrolled(mode, m, x, weights, reverse)
        for t in range(x.shape[0]):
            np.testing.assert_allclose(tt.h[t], hs[t]._data, rtol=0, atol=1e-12)
            np.testing.assert_allclose(tt.dh[t], hs[t].grad._data, rtol=0, atol=1e-12)
            if mode == "lstm":  # c_t and h_t are both outputs of LSTMCell: what reaches c_t
                H = m.hidden_size  # from outside the step (the next step, the output)
                got = cs[t].grad._data if cs[t].grad is not None else 0.0  # (the last: none)
                np.testing.assert_allclose(tt.dc_from_next[t] + tt.from_output[t][:, H:],
                                           np.broadcast_to(got, tt.dc[t].shape), rtol=0,
                                           atol=1e-12)
        for w in WEIGHTS:  # the loop's weights collected the same sums
            np.testing.assert_allclose(tt.total(w), getattr(cell, w).grad._data, atol=1e-12)


def test_dl_dc_of_every_step_is_autograds_through_an_lstm_written_with_ops():
    """dL/dc_t counts the path through h_t = o_t * tanh(c_t) too: autograd through the LSTM
    step written with chainrule ops (c_t a node of its own) agrees."""
    m, x, out, weights, loss = _run("lstm")
    (lay, tt), = _numbers(loss)
    W = {w: getattr(m, w + "_l0") for w in WEIGHTS}
    H = m.hidden_size
    h = cr.zeros(x.shape[1], H, dtype=F64)
    c = cr.zeros(x.shape[1], H, dtype=F64)
    hs, cs = [], []
    for t in range(x.shape[0]):
        z = x[t] @ W["weight_ih"].T + W["bias_ih"] + h @ W["weight_hh"].T + W["bias_hh"]
        i, f, g, o = (z[:, k * H:(k + 1) * H] for k in range(4))
        c = i.sigmoid() * g.tanh() + f.sigmoid() * c
        h = o.sigmoid() * c.tanh()
        h.retain_grad()
        c.retain_grad()
        hs.append(h)
        cs.append(c)
    total = sum(((hs[t] * weights[t]).sum() + (hs[t] ** 2).sum()) for t in range(len(hs)))
    total.backward()
    for t in range(len(hs)):
        np.testing.assert_allclose(tt.dh[t], hs[t].grad._data, rtol=0, atol=1e-12)
        np.testing.assert_allclose(tt.dc[t], cs[t].grad._data, rtol=0, atol=1e-12)


class _Classifier(nn.Module):
    def __init__(self, mode):
        super().__init__()
        cls, _, extra = LAYERS[mode]
        self.rnn = cls(2, 3, batch_first=True, dtype=F64, **extra)
        self.fc = nn.Linear(3, 2, dtype=F64)

    def forward(self, x):
        return self.fc(self.rnn(x)[0][:, -1])


def _classifier(mode="rnn_tanh", T=4):
    cr.manual_seed(1)
    model = _Classifier(mode)
    with cr.viz.record(model):
        loss = model(cr.randn(1, T, 2, dtype=F64)).pow(2).sum()
    return model, loss


def _ops(view):
    return [n.op for n in view.nodes if n.kind == "op"]


def test_depth_reaching_inside_the_layer_unrolls_it():
    _, loss = _classifier()
    assert "recurrent_layer" in _ops(build_view(loss))  # the engine's graph: one fused op
    outer = build_view(loss, depth=1)  # one box per layer
    assert [n.name for n in outer.nodes if n.kind == "module"] == ["rnn (RNN)", "fc (Linear)"]
    inner = build_view(loss, depth=2)
    steps = [op for op in _ops(inner) if op.startswith("RNN step")]
    assert steps == [f"RNN step t={t}" for t in range(1, 5)]
    # the fused op and the input projection (matmul, add) are drawn as the steps
    assert [n.op for n in inner.nodes if n.group and n.group.startswith("rnn")
            and n.kind == "op"] == ["sum over t=1..4"] * 4 + steps + ["stack", "permute"]
    assert "recurrent_layer" in _ops(build_view(loss, depth=2, unroll=False))
    assert _ops(build_view(loss, unroll=True)) == _ops(inner)


def test_edges_carry_the_state_forward_and_its_gradient_back():
    _, loss = _classifier("lstm")
    view = build_view(loss, unroll=True, values=True, grads=True)
    by_id = {n.id: n for n in view.nodes}
    steps = [n for n in view.nodes if n.op.startswith("LSTM step")]
    assert len(steps) == 4
    stack = next(n for n in view.nodes if n.op == "stack")
    for k, s in enumerate(steps):
        out = [e for e in view.edges if e.src == s.id]
        want = {f"(h_{k + 1}, c_{k + 1})"} | ({f"h_{k + 1}", f"c_{k + 1}"} if k < 3 else set())
        assert {e.label for e in out} == want
        # dL/dh_t in the box = the share back from the next step + the one from the output
        to_next = [e for e in out if e.label == f"h_{k + 1}"]
        to_stack = next(e for e in out if e.dst == stack.id)
        total = to_stack.grad[:, :3] + (to_next[0].grad if to_next else 0)
        np.testing.assert_allclose(s.grad, total, atol=1e-15)
    sums = [n for n in view.nodes if n.op == "sum over t=1..4"]
    assert sorted(n.name for n in sums) == sorted(f"dL/drnn.{w}_l0" for w in WEIGHTS)
    loss.backward()
    for n in sums:  # each weight feeds its sum, whose box shows W.grad; the sum feeds the steps
        (w,) = [by_id[e.src] for e in view.edges if e.dst == n.id]
        assert n.name == f"dL/d{w.name}" and w.kind == "param"
        np.testing.assert_allclose(n.grad, w.node.variable().grad._data, rtol=0, atol=1e-12)
        assert [by_id[e.dst].op for e in view.edges if e.src == n.id] == [s.op for s in steps]


def test_long_sequences_keep_the_first_and_last_steps():
    _, loss = _classifier("gru", T=12)
    view = build_view(loss, unroll=2, grads=True)
    names = [n.op for n in view.nodes if n.op.startswith("GRU step")]
    assert names == ["GRU step t=1", "GRU step t=2", "GRU steps t=3..10", "GRU step t=11",
                     "GRU step t=12"]
    assert len([n for n in build_view(loss, unroll=True).nodes
                if n.op.startswith("GRU step")]) == 7  # 3 + the middle + 3
    assert "t=3..10" in next(n.params for n in view.nodes if n.op == "sum over t=1..12")


@pytest.mark.parametrize("bad", [0, -1, 2.5, "all"])
def test_a_bad_unroll_is_refused_clearly(bad):
    _, loss = _classifier()
    with pytest.raises(ValueError, match="unroll must be True, False, None or a number"):
        build_view(loss, unroll=bad)


def test_dot_text_and_pictures(tmp_path):
    pytest.importorskip("matplotlib")
    pytest.importorskip("grandalf")
    _, loss = _classifier("lstm")
    dot = cr.viz.to_dot(loss, depth=2, grads=True)
    for text in ("LSTM step t=1", "LSTM step t=4", "layer 0: unrolled over 4 time steps",
                 "sum over t=1..4", "c_2 (1, 3)", "h_0, c_0"):
        assert text in dot, text
    d = cr.viz.draw(loss, tmp_path / "lstm.png", depth=2, grads=True, engine="python")
    assert d.n_nodes == len(build_view(loss, depth=2).nodes)
    assert (tmp_path / "lstm.png").stat().st_size > 10000
    m = nn.RNN(2, 3, num_layers=2, bidirectional=True, dtype=F64)
    with cr.viz.record(m):
        out, h = m(cr.randn(6, 1, 2, dtype=F64))
    dot = cr.viz.to_dot(out.sum() + h.sum(), unroll=True, values=True, grads=True)
    for k in range(2):
        for way in ("", ", reverse"):
            assert f"layer {k}{way}: unrolled over 6 time steps" in dot
    cr.viz.draw(out.sum(), tmp_path / "birnn.svg", unroll=2, engine="python")


def test_print_graph_one_line_per_step():
    _, loss = _classifier(T=3)
    text = cr.viz.format_graph(loss, unroll=True)
    assert "recurrent_layer" in cr.viz.format_graph(loss)
    lines = [ln for ln in text.splitlines() if "RNN step t=" in ln]
    assert len(lines) == 3 and "tanh(W_ih x_2 + b_ih + W_hh h_1 + b_hh)" in lines[1]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_explain_walks_the_steps_back_and_sums_the_shares(lang):
    model, loss = _classifier("lstm", T=3)
    text = format_explain(loss, lang=lang)
    assert "dL/dh_3 = " in text and "dL/dc_1 = " in text
    assert "dL/drnn.weight_hh_l0 = (t=1) + (t=2) + (t=3)" in text
    assert ("Unrolled over its 3 time steps" in text) == (lang == "en")
    assert "Unrolled" not in format_explain(loss, unroll=False)
    ex = build_explanation(loss)
    walk = next(s.through_time for s in ex.steps if s.through_time is not None)
    loss.backward()
    for w in WEIGHTS:
        np.testing.assert_allclose(walk.tt.total(w), getattr(model.rnn, w + "_l0").grad._data,
                                   rtol=0, atol=1e-12)


def test_explain_of_a_long_sequence_writes_the_ends_and_all_of_the_sum():
    _, loss = _classifier("rnn_tanh", T=9)
    text = format_explain(loss, unroll=2, max_nodes=80)
    assert "steps t=3..7: 5 steps not shown" in text
    assert "dL/drnn.weight_hh_l0 = (t=1) + (t=2) + (t=3..7) + (t=8) + (t=9)" in text


@pytest.mark.parametrize("mode", ["rnn_tanh", "lstm", "gru"])
def test_packed_sequences_and_the_initial_state(mode):
    """Rows that stop early carry their state; the gradient reaching the initial state is
    autograd's, and the sums of the shares are still W.grad."""
    from chainrule.nn.utils.rnn import pack_padded_sequence

    cls, _, extra = LAYERS[mode]
    cr.manual_seed(3)
    m = cls(2, 3, bidirectional=True, dtype=F64, **extra)
    x = cr.randn(5, 3, 2, dtype=F64)
    h0 = cr.randn(2, 3, 3, dtype=F64, requires_grad=True)
    hx = (h0, h0 * 0.5) if mode == "lstm" else h0
    with cr.viz.record(m):
        out, hn = m(pack_padded_sequence(x, [5, 3, 2]), hx)
        hn = hn[0] if mode == "lstm" else hn
        loss = (out.data ** 2).sum() + (hn ** 3).sum()
    found = _numbers(loss)
    loss.backward()
    d_h0 = np.zeros((2, 3, 3))
    for lay, tt in found:
        sfx = _suffix(lay)
        for t in range(5):
            np.testing.assert_allclose(tt.state(t), lay.rec.value[t], rtol=0, atol=1e-12)
        for w in WEIGHTS:
            np.testing.assert_allclose(tt.total(w), getattr(m, w + sfx).grad._data, rtol=0,
                                       atol=1e-12)
        d = 1 if sfx.endswith("_reverse") else 0
        d_h0[d] = tt.d_initial[:, :3] + (0.5 * tt.d_initial[:, 3:] if mode == "lstm" else 0)
    np.testing.assert_allclose(d_h0, h0.grad._data, rtol=0, atol=1e-12)


def test_the_command_line_draws_the_lstm_digits_model_unrolled(tmp_path, capsys):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    pytest.importorskip("grandalf")
    from chainrule.cli import main

    counts = []
    for depth in ("2", "3"):
        out = tmp_path / f"lstm{depth}.svg"
        assert main(["graph", "digits", "--model", "lstm", "--depth", depth, "--out",
                     str(out), "--engine", "python"]) == 0
        counts.append(int(capsys.readouterr().out.split(": ")[1].split()[0]))
        text = out.read_text()
        assert ("LSTM step t=8" in text) == (depth == "3")
    assert counts[1] > counts[0] + 8  # one box per time step, and the weights' sums


def test_graphviz_lays_out_the_unrolled_dot_text(tmp_path):
    import shutil

    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    _, loss = _classifier("lstm", T=6)
    d = cr.viz.draw(loss, tmp_path / "lstm.png", unroll=1, grads=True, engine="graphviz")
    assert d.engine == "graphviz" and (tmp_path / "lstm.png").stat().st_size > 10000
