"""Drawing the graph: DOT text that Graphviz accepts, SVG/PNG pictures from both engines, the
module boxes, depth collapse, the Jupyter hook, the CLI, and the errors."""

import importlib
import importlib.util
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

draw_mod = importlib.import_module("chainrule.viz.draw")  # the module; cr.viz.draw: the function

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def python_engine():
    pytest.importorskip("matplotlib")
    pytest.importorskip("grandalf")


# ---------------------------------------------------------------------------------------------
# graphs to draw
# ---------------------------------------------------------------------------------------------


def tutorial():
    """The tutorial's 2-2-1 network and squared error, recorded (so every value is kept)."""
    with cr.viz.record():
        X = cr.tensor(np.array([[0.5, 1.2]]))
        W1 = cr.tensor(np.array([[0.4, 0.3], [0.2, 0.7]]), requires_grad=True)
        b1 = cr.tensor(np.array([[0.1, 0.2]]))
        W2 = cr.tensor(np.array([[0.6], [0.8]]), requires_grad=True)
        b2 = cr.tensor(np.array([[0.3]]))
        a1 = cr.sigmoid(X @ W1 + b1)
        out = cr.sigmoid(a1 @ W2 + b2)
        loss = (0.5 * (out - cr.tensor(np.array([[1.0]]))) ** 2).sum()
    names = {"X": X, "W1": W1, "b1": b1, "W2": W2, "b2": b2, "a1": a1, "output": out}
    return loss, names


def mlp_step(hidden=256):
    """One training step of the 64-hidden-10 MLP with cross-entropy, as the CLI draws it."""
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))
    loss_fn = nn.CrossEntropyLoss()
    x, y = cr.randn(8, 64), cr.tensor(np.arange(8) % 10)
    with cr.viz.record(model, loss_fn):
        loss = loss_fn(model(x), y)
    return model, loss


def cnn_step():
    recipes = pytest.importorskip("chainrule.cli.recipes")
    cr.manual_seed(0)
    cfg = recipes.Config(model="cnn")
    model = recipes.build_model(cfg)
    loss_fn = nn.CrossEntropyLoss()
    x, y = cr.randn(8, 1, 8, 8), cr.tensor(np.arange(8))
    with cr.viz.record(model, loss_fn):
        loss = loss_fn(model(x), y)
    return model, loss


# ---------------------------------------------------------------------------------------------
# checking DOT and SVG
# ---------------------------------------------------------------------------------------------


def dot_structure(src):
    """Check DOT text without Graphviz: balanced braces outside strings and labels, every edge
    endpoint declared; returns (node ids, edges)."""
    assert src.startswith("digraph") and src.rstrip().endswith("}")
    # drop HTML-like labels <...> (nested <>) and quoted strings before counting braces
    plain, depth, k = [], 0, 0
    while k < len(src):
        ch = src[k]
        if depth == 0 and ch == '"':
            end = k + 1
            while src[end] != '"':
                end += 2 if src[end] == "\\" else 1
            k = end + 1
            continue
        if ch == "<" and (depth > 0 or src[k - 1] == "="):
            depth += 1
        elif ch == ">" and depth > 0:
            depth -= 1
        elif depth == 0:
            plain.append(ch)
        k += 1
    assert depth == 0, "unbalanced <...> label"
    text = "".join(plain)
    assert text.count("{") == text.count("}"), "unbalanced braces"
    nodes = set(re.findall(r'^\s*"(\w+)" \[', src, re.M)) | set(
        re.findall(r"^\s*(legend) \[", src, re.M))
    edges = re.findall(r'^\s*"(\w+)" -> "(\w+)"', src, re.M)
    for a, b in edges:
        assert a in nodes and b in nodes, (a, b)
    return nodes, edges


def dot_accepts(src):
    """Graphviz itself parses the DOT (when installed)."""
    if HAS_DOT:
        proc = subprocess.run(["dot", "-Tcanon"], input=src.encode(), capture_output=True)
        assert proc.returncode == 0, proc.stderr.decode()
    if importlib.util.find_spec("pydot") is not None:
        import pydot

        assert pydot.graph_from_dot_data(src)


def svg_texts(data):
    root = ET.fromstring(data)
    assert root.tag.endswith("svg")
    return "\n".join("".join(el.itertext()) for el in root.iter()
                     if el.tag.endswith("text"))


def png_size(data):
    assert data[:8] == PNG_MAGIC
    pytest.importorskip("matplotlib")
    import io

    import matplotlib.image

    img = matplotlib.image.imread(io.BytesIO(data), format="png")
    return img.shape[1], img.shape[0]


# ---------------------------------------------------------------------------------------------
# DOT
# ---------------------------------------------------------------------------------------------


def test_dot_of_the_tutorial_network_names_shapes_values_grads():
    loss, names = tutorial()
    src = cr.viz.to_dot(loss, names=names, values=True, grads=True)
    nodes, edges = dot_structure(src)
    dot_accepts(src)
    view = cr.viz.build_view(loss)
    assert len([n for n in nodes if n != "legend"]) == len(view.nodes)
    assert len(edges) == len(view.edges)
    for text in ["<B>t1 = matmul</B>", "<B>W2</B>", "(2, 1) float64", "<B>a1 = sigmoid</B>",
                 "<B>output = sigmoid</B>", "value [[0.6], [0.8]]", "value [[0.5, 1.2]]",
                 "grad [[-0.02301], [-0.02792]]", "(2, 2)<BR/>", "legend"]:
        assert text in src, text
    assert "grad [" not in cr.viz.to_dot(loss, names=names, values=True)
    assert "value [" not in cr.viz.to_dot(loss, names=names)


def test_dot_of_a_recorded_mlp_has_nested_module_boxes():
    model, loss = mlp_step(hidden=16)
    src = cr.viz.to_dot(loss)
    nodes, edges = dot_structure(src)
    dot_accepts(src)
    for text in ['label="0 (Linear)"', 'label="1 (ReLU)"', 'label="2 (Linear)"',
                 'label="CrossEntropyLoss"', "<B>0.weight</B>", "<B>2.bias</B>",
                 "(16, 64) float32", "subgraph cluster_"]:
        assert text in src, text
    # the parameters of layer 0 are drawn inside its box
    box = src[src.index('label="0 (Linear)"'):]
    box = box[:box.index("subgraph") if "subgraph" in box else len(box)]
    assert "0.weight" in box and "0.bias" in box and "2.weight" not in box


def test_depth_one_collapses_to_a_node_per_layer():
    model, loss = mlp_step(hidden=16)
    src = cr.viz.to_dot(loss, depth=1, values=True)
    nodes, edges = dot_structure(src)
    dot_accepts(src)
    assert "permute" not in src and "subgraph cluster_0" not in src
    for text in ["<B>0 (Linear)</B>", "<B>1 (ReLU)</B>", "<B>2 (Linear)</B>",
                 "<B>CrossEntropyLoss</B>", "1,040 parameters", "peripheries=2"]:
        assert text in src, text
    assert len(nodes) - 1 < len(dot_structure(cr.viz.to_dot(loss))[0]) - 1


def test_labels_are_escaped():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    name = 'x <"a" & b\\c>'
    src = cr.viz.to_dot((x * 2).sum(), names={name: x})
    dot_structure(src)
    dot_accepts(src)
    assert "x &lt;&quot;a&quot; &amp; b\\c&gt;" in src
    assert name not in src


def test_dot_options_and_determinism():
    loss, names = tutorial()
    src = cr.viz.to_dot(loss, names=names, rankdir="LR", legend=False)
    assert "rankdir=LR" in src and "cluster_legend" not in src
    dot_accepts(src)
    assert cr.viz.to_dot(loss, names=names) == cr.viz.to_dot(loss, names=names)
    with pytest.raises(ValueError, match="rankdir"):
        cr.viz.to_dot(loss, rankdir="sideways")


def test_a_tensor_without_graph_is_one_box():
    src = cr.viz.to_dot(cr.ones(2, 3))
    nodes, _ = dot_structure(src)
    assert "no graph" in src and "(2, 3) float32" in src
    dot_accepts(src)


# ---------------------------------------------------------------------------------------------
# pictures: the Python engine
# ---------------------------------------------------------------------------------------------


def test_python_engine_svg_keeps_text_and_boxes(tmp_path):
    python_engine()
    model, loss = mlp_step()
    d = cr.viz.draw(loss, tmp_path / "mlp.svg", engine="python", values=True, grads=True)
    assert d.engine == "python" and d.path == tmp_path / "mlp.svg"
    data = (tmp_path / "mlp.svg").read_bytes()
    assert data == d.svg()
    texts = svg_texts(data)
    for text in ["matmul", "0.weight", "(256, 64) float32", "0 (Linear)", "2 (Linear)",
                 "CrossEntropyLoss", "(8, 256)", "legend", "value min", "grad min"]:
        assert text in texts, text
    assert d.source == cr.viz.to_dot(loss, values=True, grads=True)


def test_python_engine_png_is_an_image(tmp_path):
    python_engine()
    loss, names = tutorial()
    d = cr.viz.draw(loss, tmp_path / "tutorial.png", names=names, values=True, grads=True,
                    engine="python")
    w, h = png_size((tmp_path / "tutorial.png").read_bytes())
    assert w > 100 and h > 100
    assert d.png() == (tmp_path / "tutorial.png").read_bytes()


def test_python_engine_layout_is_clean_on_real_models():
    """Boxes never overlap, module boxes hold their members and nothing else, and every
    edge ends at its boxes."""
    python_engine()
    for make in (mlp_step, cnn_step):
        model, loss = make()
        for depth in (None, 1):
            view = cr.viz.build_view(loss, values=True, grads=True, depth=depth)
            lay = draw_mod._Layout(view)
            boxes = {n.id: lay.by_node[n.id] for n in view.nodes}

            def rect(it):
                return (it.x - it.w / 2, it.y - it.h / 2, it.x + it.w / 2, it.y + it.h / 2)

            def overlap(a, b):
                return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]

            rects = {k: rect(it) for k, it in boxes.items()}
            keys = sorted(rects)
            for i, a in enumerate(keys):
                for b in keys[i + 1:]:
                    assert not overlap(rects[a], rects[b]), (a, b)
            for path, (x0, y0, x1, y1) in lay.boxes.items():
                for n in view.nodes:
                    r = rects[n.id]
                    inside = x0 < r[0] and r[2] < x1 and y0 < r[1] and r[3] < y1
                    member = path in draw_mod._chain(view, n.group)
                    assert inside == member, (path, n.id, n.title())
            for e, verts in zip(view.edges, lay.edge_paths):
                s, d = rects[e.src], rects[e.dst]
                (xs, ys), (xe, ye) = verts[0], verts[-1]
                assert s[0] - 1 <= xs <= s[2] + 1 and s[1] - 1 <= ys <= s[3] + 1
                assert d[0] - 1 <= xe <= d[2] + 1 and d[1] - 1 <= ye <= d[3] + 1


def test_python_engine_output_is_deterministic():
    python_engine()
    loss, names = tutorial()
    a = cr.viz.draw(loss, names=names, engine="python").svg()
    b = cr.viz.draw(loss, names=names, engine="python").svg()
    assert a == b


def test_python_engine_survives_odd_graphs():
    """x * x (two edges between the same boxes), a module called twice (it stays a box),
    a lone leaf, a tensor with no graph: each drawing holds the boxes it should."""
    python_engine()
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    inner = nn.Sequential(nn.Linear(3, 3), nn.Tanh())
    model = nn.Sequential(inner, nn.Linear(3, 3), inner)
    with cr.viz.record(model):
        z = model(cr.randn(2, 3)).sum()
    cases = [((x * x).sum(), {}, ["mul", "sum"]),
             (z, {}, ["0 (Sequential)", "1 (Linear)", "tanh", "matmul"]),
             (z, {"depth": 1}, ["0 (Sequential)", "1 (Linear)", "tanh"]),  # 0 is called twice
             (z, {"depth": 2}, ["1 (Linear)", "0.1 (Tanh)"]),
             (x, {}, ["parameter"]), (cr.ones(2), {}, [])]
    for t, kw, expected in cases:
        d = cr.viz.draw(t, engine="python", **kw)
        texts = svg_texts(d.svg())
        assert "legend" in texts
        for label in expected:
            assert label in texts, (kw, label, texts)
        if t.requires_grad:  # (a tensor without a graph is drawn as one placeholder box)
            assert d.n_nodes == len(cr.viz.build_view(t, **kw).nodes)


def test_repr_svg_for_jupyter():
    python_engine()
    loss, names = tutorial()
    d = cr.viz.draw(loss, names=names, engine="python")
    svg = d._repr_svg_()
    assert isinstance(svg, str) and "<svg" in svg and "matmul" in svg
    assert "python engine" in repr(d)


# ---------------------------------------------------------------------------------------------
# pictures: Graphviz, and choosing the engine
# ---------------------------------------------------------------------------------------------


@needs_dot
def test_graphviz_engine_svg_png_pdf(tmp_path):
    model, loss = mlp_step(hidden=32)
    d = cr.viz.draw(loss, tmp_path / "g.svg", grads=True, engine="graphviz")
    assert d.engine == "graphviz"
    texts = svg_texts((tmp_path / "g.svg").read_bytes())
    for text in ["matmul", "0.weight", "(32, 64) float32", "0 (Linear)", "CrossEntropyLoss",
                 "grad min"]:
        assert text in texts, text
    d.save(tmp_path / "g.png")
    w, h = png_size((tmp_path / "g.png").read_bytes())
    assert w > 100 and h > 100
    assert d.pdf()[:5] == b"%PDF-"
    d1 = cr.viz.draw(loss, depth=1, engine="graphviz")
    assert "0 (Linear)" in svg_texts(d1.svg()) and "permute" not in svg_texts(d1.svg())


def test_auto_engine_follows_dot_on_the_path(monkeypatch):
    loss, names = tutorial()
    if HAS_DOT:
        assert cr.viz.draw(loss, engine="auto").engine == "graphviz"
    monkeypatch.setattr(draw_mod.shutil, "which", lambda name: None)
    if draw_mod._python_engine_missing() is None:
        d = cr.viz.draw(loss, engine="auto")
        assert d.engine == "python" and "<svg" in d._repr_svg_()
    with pytest.raises(RuntimeError, match="'dot' program"):
        cr.viz.draw(loss, engine="graphviz")


def test_missing_extras_name_the_install(monkeypatch):
    loss, _ = tutorial()
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "grandalf" else real(name, *a))
    monkeypatch.setattr(draw_mod.shutil, "which", lambda name: None)
    with pytest.raises(ImportError, match=r'chainrule\[viz\]'):
        cr.viz.draw(loss, engine="python")
    with pytest.raises(ImportError, match="Graphviz"):
        cr.viz.draw(loss)


def test_bad_requests():
    loss, _ = tutorial()
    with pytest.raises(ValueError, match=r"\.svg, \.png or \.pdf"):
        cr.viz.draw(loss, "graph.jpg")
    with pytest.raises(ValueError, match="format"):
        cr.viz.draw(loss, format="gif")
    with pytest.raises(ValueError, match="engine"):
        cr.viz.draw(loss, engine="tikz")
    with pytest.raises(ValueError, match="depth"):
        cr.viz.to_dot(loss, depth=0)


def test_format_overrides_the_suffix(tmp_path):
    python_engine()
    loss, _ = tutorial()
    cr.viz.draw(loss, tmp_path / "graph.out", format="png", engine="python")
    assert (tmp_path / "graph.out").read_bytes()[:8] == PNG_MAGIC


# ---------------------------------------------------------------------------------------------
# the command line
# ---------------------------------------------------------------------------------------------


def test_cli_graph_writes_the_picture(tmp_path, capsys):
    pytest.importorskip("sklearn")
    python_engine()
    from chainrule.cli import main

    out = tmp_path / "step.svg"
    assert main(["graph", "digits", "--engine", "python", "--values", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert str(out) in said and "24 nodes" in said
    texts = svg_texts(out.read_bytes())
    assert "0 (Linear)" in texts and "value min" in texts
    out = tmp_path / "cnn.png"
    assert main(["graph", "digits", "--model", "cnn", "--depth", "1", "--engine", "python",
                 "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == PNG_MAGIC


def test_cli_graph_bad_input(tmp_path, capsys):
    from chainrule.cli import main

    for args, msg in [(["--out", str(tmp_path / "g.jpg")], ".svg, .png or .pdf"),
                      (["--out", str(tmp_path / "nowhere" / "g.svg")], "no such folder"),
                      (["--depth", "0", "--out", str(tmp_path / "g.svg")], "--depth")]:
        assert main(["graph", "digits", *args]) == 2
        err = capsys.readouterr().err
        assert msg in err and len(err.strip().splitlines()) == 1
    assert main(["graph", "digits"]) == 2  # --out is required
    capsys.readouterr()


def test_draw_is_the_function_whichever_is_imported_first():
    """The submodules ``draw``, ``explain`` and ``summary`` do not shadow their functions."""
    code = ("import chainrule.viz.draw, chainrule.viz.explain, chainrule.viz.summary\n"
            "import chainrule as cr\n"
            "from chainrule.viz.draw import Drawing\n"
            "assert all(callable(f) for f in (cr.viz.draw, cr.viz.explain, cr.viz.summary))\n"
            "assert cr.viz.to_dot(cr.ones(2, requires_grad=True).sum()).startswith('digraph')\n")
    subprocess.run([sys.executable, "-c", code], check=True)
