"""``cr.onnx.export``: a model's inference graph as an ONNX file (torch.onnx.export's call).

The model runs once in eval mode on the example inputs (see :mod:`chainrule.onnx.trace`);
every recorded node becomes ONNX nodes through the converter of its op (``ops_basic.py``,
``ops_nn.py``); parameters become initializers named by their ``state_dict`` names, the
example inputs the graph's inputs. ``onnx`` is imported here, when an export runs.
"""

from __future__ import annotations

import difflib
import enum
import inspect
import io
from typing import Any, Mapping, Sequence

from ..backend import ndarray
from ..core.graph import AccumulateGrad, Node
from . import ops_basic, ops_nn  # noqa: F401  (register the converters)
from .builder import CONVERTERS, SIZE_PARAMS, Arg, Ctx
from .trace import (OnnxExporterError, Trace, UnsupportedOperatorError, describe, flatten,
                    other_inputs, pair_nodes, run, same)

DEFAULT_OPSET = 17
MIN_OPSET = 17
_exporting = False


def is_in_onnx_export() -> bool:
    """Whether the model is being run for an export (``torch.onnx.is_in_onnx_export``)."""
    return _exporting


class TrainingMode(enum.IntEnum):
    """PyTorch's ``torch.onnx.TrainingMode``; chainrule exports inference graphs (EVAL)."""

    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


# torch.onnx.export keywords with nothing to do here: accepted at PyTorch's default value
_TORCH_DEFAULTS: dict[str, Any] = {
    "dynamic_shapes": None, "custom_translation_table": None, "report": False,
    "optimize": True, "verify": False, "profile": False, "dump_exported_program": False,
    "artifacts_dir": ".", "operator_export_type": None, "custom_opsets": None,
    "export_modules_as_functions": False, "autograd_inlining": True,
}


def export(model: Any, args: Any = (), f: Any = None, *, kwargs: dict[str, Any] | None = None,
           verbose: bool | None = None, input_names: Sequence[str] | None = None,
           output_names: Sequence[str] | None = None, opset_version: int | None = None,
           dynamo: bool = True, external_data: bool = True, export_params: bool = True,
           keep_initializers_as_inputs: bool = False,
           dynamic_axes: Mapping[str, Any] | None = None,
           training: Any = TrainingMode.EVAL, do_constant_folding: bool = True,
           **options: Any) -> Any:
    """Export ``model`` run on ``args`` to the ONNX file ``f``; returns the ``onnx.ModelProto``.

    PyTorch's ``torch.onnx.export`` call: ``args`` are the example inputs (a tensor or a
    tuple; tensors become the graph's inputs, in order, other values are fixed),
    ``input_names``/``output_names`` name them, ``dynamic_axes`` marks sizes known only at
    run time (``{"x": {0: "batch"}}`` or ``{"x": [0]}``), ``opset_version`` is 17 (default)
    or later. ``export_params=False`` leaves the weights out (they become inputs);
    ``keep_initializers_as_inputs`` also lists them as inputs. ``f`` is a path (written
    atomically), a binary file object, or None. ``dynamo``, ``external_data`` and
    ``do_constant_folding`` are accepted and change nothing: there is one exporter, the
    weights are stored in the file, and the graph holds only ops that read an input or a
    parameter. An op without an ONNX converter raises :class:`UnsupportedOperatorError`
    naming it and its layer.

    >>> import chainrule as cr, io
    >>> model = cr.nn.Sequential(cr.nn.Linear(4, 3), cr.nn.ReLU())
    >>> proto = cr.onnx.export(model, (cr.randn(2, 4),), io.BytesIO(), input_names=["x"],
    ...                        dynamic_axes={"x": {0: "batch"}})  # doctest: +SKIP
    >>> [n.op_type for n in proto.graph.node]  # doctest: +SKIP
    ['Transpose', 'MatMul', 'Add', 'Relu']
    """
    global _exporting
    import onnx

    _check_options(options)
    opset = _opset(onnx, opset_version)
    _check_training(model, training)
    args, kwargs = _split_args(args, kwargs)
    example = flatten((args, kwargs))
    if not example:
        raise TypeError("export: args holds no tensor; pass the model's example inputs, e.g. "
                        "(cr.randn(1, 64),)")
    names = _input_names(model, args, len(example), input_names)
    dyn = _dynamic_axes(dynamic_axes, names, example)
    data = [t._data.copy() for t in example]
    _exporting = True
    try:
        t1 = run(model, args, kwargs, data)
        t2 = run(model, args, kwargs, other_inputs(data, [dyn.get(n, {}) for n in names]))
    finally:
        _exporting = False
    pair = pair_nodes(t1, t2)
    outs = _output_names(output_names, len(t1.outputs))
    for key in set(dyn) - set(names) - set(outs):
        raise ValueError(f"export: dynamic_axes names {key!r}, which is not an input or output "
                         f"name ({names + outs}); name them with input_names/output_names")
    ctx = _new_ctx(onnx, opset, model, t1, t2, pair, names, outs, dyn)
    params = _convert(ctx, model, t1, pair, export_params)
    _outputs(ctx, t1, outs, set(params))
    proto = _model(onnx, ctx, t1, t2, names, outs, dyn, params, export_params,
                   keep_initializers_as_inputs)
    if verbose:
        print(onnx.printer.to_text(proto.graph))
    if f is not None:
        _write(f, proto.SerializeToString())
    return proto


# ---------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------


def _check_options(options: dict[str, Any]) -> None:
    for key, value in options.items():
        if key not in _TORCH_DEFAULTS:
            near = difflib.get_close_matches(key, list(inspect.signature(export).parameters)
                                             + list(_TORCH_DEFAULTS), n=1)
            raise TypeError(f"export() got an unexpected keyword argument {key!r}"
                            + (f"; did you mean {near[0]!r}?" if near else ""))
        default = _TORCH_DEFAULTS[key]
        if value is not default and value != default and not (
                key == "operator_export_type" and getattr(value, "name", value) in ("ONNX", 0)):
            raise TypeError(
                f"export: {key}={value!r} is a torch.onnx.export option chainrule's exporter "
                f"does not implement (it accepts only the default, {default!r}); "
                + ("use dynamic_axes for sizes known at run time" if key == "dynamic_shapes"
                   else "leave it out"))


def _opset(onnx: Any, opset_version: Any) -> int:
    top = int(onnx.defs.onnx_opset_version())
    if opset_version is None:
        return DEFAULT_OPSET
    if isinstance(opset_version, bool) or not isinstance(opset_version, int) or not (
            MIN_OPSET <= opset_version <= top):
        raise ValueError(f"export: opset_version must be an int from {MIN_OPSET} to {top} (the "
                         f"installed onnx's newest), got {opset_version!r}")
    return opset_version


def _check_training(model: Any, training: Any) -> None:
    mode = TrainingMode.EVAL if training in (None, False) else training
    name = getattr(mode, "name", str(mode))
    training_now = any(m.training for m in model.modules()) if hasattr(model, "modules") \
        else False
    if name == "EVAL" or (name == "PRESERVE" and not training_now):
        return
    raise ValueError(f"export: training={training!r}: chainrule exports inference graphs "
                     "(dropout off, batch norm with its running statistics); pass "
                     "training=TrainingMode.EVAL (the default)")


def _split_args(args: Any, kwargs: dict[str, Any] | None) -> tuple[tuple, dict[str, Any]]:
    if not isinstance(args, (tuple, list)):
        args = (args,)
    args = tuple(args)
    kw = dict(kwargs or {})
    if args and isinstance(args[-1], dict):  # PyTorch's (x, {"mask": m}) form
        kw.update(args[-1])
        args = args[:-1]
    return args, kw


def _input_names(model: Any, args: tuple, n: int, given: Sequence[str] | None) -> list[str]:
    if given is not None and (isinstance(given, str) or not all(
            isinstance(s, str) for s in given)):
        raise TypeError(f"export: input_names must be a list of strings, got {given!r}")
    given = list(given or [])
    if len(given) > n:
        raise ValueError(f"export: {len(given)} input_names for {n} input tensors: {given}")
    default = [f"input_{k}" if n > 1 else "input" for k in range(n)]
    try:  # the forward's parameter names, when every argument is one tensor
        params = list(inspect.signature(model.forward).parameters)
        if len(args) == n and len(params) >= n and all(hasattr(a, "_data") for a in args):
            default = params[:n]
    except (AttributeError, TypeError, ValueError):
        pass
    names = given + default[len(given):]
    if len(set(names)) != len(names):
        raise ValueError(f"export: input names must be unique, got {names}")
    return names


def _output_names(given: Sequence[str] | None, n: int) -> list[str]:
    given = list(given or [])
    if len(given) > n:
        raise ValueError(f"export: {len(given)} output_names for {n} output tensors: {given}")
    names = given + [("output" if n == 1 else f"output_{k}") for k in range(len(given), n)]
    if len(set(names)) != len(names):
        raise ValueError(f"export: output names must be unique, got {names}")
    return names


def _dynamic_axes(spec: Mapping[str, Any] | None, inputs: list[str],
                  example: list[Any]) -> dict[str, dict[int, str]]:
    """name -> {axis: dim name}, PyTorch's forms normalised ({0: "batch"} or [0]); the
    output names are checked once the outputs are known."""
    out: dict[str, dict[int, str]] = {}
    for key, axes in (spec or {}).items():
        if isinstance(axes, Mapping):
            named = {int(a): str(v) for a, v in axes.items()}
        elif isinstance(axes, (list, tuple)):
            named = {int(a): f"{key}_dynamic_axes_{k + 1}" for k, a in enumerate(axes)}
        else:
            raise TypeError(f"export: dynamic_axes[{key!r}] must be a dict {{axis: name}} or a "
                            f"list of axes, got {axes!r}")
        if key in inputs:
            nd = example[inputs.index(key)].ndim
            for a in list(named):
                if not -nd <= a < nd:
                    raise ValueError(f"export: dynamic_axes[{key!r}] has axis {a}, but input "
                                     f"{key!r} has {nd} dims")
            named = {a % nd: v for a, v in named.items()}
        out[key] = named
    return out


# ---------------------------------------------------------------------------------------------
# Conversion
# ---------------------------------------------------------------------------------------------


def _new_ctx(onnx: Any, opset: int, model: Any, t1: Trace, t2: Trace,
             pair: dict[Node, Node], names: list[str], outs: list[str],
             dyn: dict[str, dict[int, str]]) -> Ctx:
    consumers: dict[Node, list[tuple[Node, int]]] = {}
    for n in t1.nodes:
        for i, m in enumerate(n.next):
            if m is not None:
                consumers.setdefault(m, []).append((n, i))
    ctx = Ctx(onnx, opset, t1.scopes, pair, consumers)
    ctx.used.update(names + outs)
    for name, leaf, leaf2 in zip(names, t1.inputs, t2.inputs):
        ctx.inputs.append((leaf._data, name))
        for ax in dyn.get(name, {}):
            ctx.dim_sources.append((name, ax, leaf._data.shape[ax], leaf2._data.shape[ax]))
    if hasattr(model, "named_buffers"):
        for bname, b in model.named_buffers():
            ctx.buffers[id(b._data)] = (b._data, bname)
            ctx.used.add(bname)
    return ctx


def _leaf_name(ctx: Ctx, node: AccumulateGrad, params: dict[int, tuple[Any, str]],
               used: dict[str, ndarray]) -> str:
    t = node.variable()
    if t is None:  # pragma: no cover - the graph keeps the tensors it reads
        raise OnnxExporterError("export: a leaf of the graph was freed during the export")
    for a, name in ctx.inputs:
        if t._data is a:
            return name
    hit = params.get(id(t))
    if hit is not None and hit[0] is t:
        used[hit[1]] = t._data
        ctx.used.add(hit[1])
        return hit[1]
    return ctx.const(t._data)  # a tensor that requires grad but is not a parameter


def _convert(ctx: Ctx, model: Any, t1: Trace, pair: dict[Node, Node],
             export_params: bool) -> dict[str, ndarray]:
    """Convert every node; the parameters read, by name."""
    params: dict[int, tuple[Any, str]] = {}
    if hasattr(model, "named_parameters"):
        params = {id(p): (p, name) for name, p in model.named_parameters()}
    used: dict[str, ndarray] = {}
    names: dict[Node, str] = {}
    for node in t1.nodes:
        if node.__class__ is AccumulateGrad:
            names[node] = _leaf_name(ctx, node, params, used)
            continue
        fn = CONVERTERS.get(node.name)
        if fn is None:
            raise UnsupportedOperatorError(
                f"export: {describe(node, t1.scopes)} has no ONNX converter "
                "(cr.onnx.converters() lists the ops that have one); write that part with "
                "those ops, or add a converter in chainrule/onnx/ops_*.py")
        node2 = pair[node]
        for key, value in node.params().items():
            if key not in SIZE_PARAMS[node.name] and not same(value, node2.params()[key]):
                raise OnnxExporterError(
                    f"export: {describe(node, t1.scopes)}: its parameter {key}={value!r} "
                    f"changed with the input ({node2.params()[key]!r} in a second run); the "
                    "ONNX graph cannot follow it")
        ctx.current = node
        scope = t1.scopes.get(node)
        ctx.prefix = f"{scope}." if scope else ""
        args = [_arg(ctx, node, node2, i, names) for i in range(len(node.next))]
        names[node] = fn(ctx, node, args)
    ctx.current, ctx.prefix = None, ""
    ctx.node_names = names  # type: ignore[attr-defined]
    return used


def _arg(ctx: Ctx, node: Node, node2: Node, i: int, names: dict[Node, str]) -> Arg:
    producer = node.next[i]
    if producer is not None:
        p2 = ctx.pair.get(producer, producer)
        return Arg(ctx, producer, None, None, producer.shape, p2.shape, producer.dtype,
                   names[producer])
    a = node.inputs[i]._data  # type: ignore[index]
    b = node2.inputs[i]._data  # type: ignore[index]
    return Arg(ctx, None, a, b, a.shape, b.shape, a.dtype)


def _outputs(ctx: Ctx, t1: Trace, outs: list[str], params: set[str]) -> None:
    """Give each output value its name: the producing node's output renamed, or an Identity
    (an input, a weight or a constant returned as is, or a value returned twice)."""
    names: dict[Node, str] = ctx.node_names  # type: ignore[attr-defined]
    taken = {name for _, name in ctx.inputs} | ctx.init_names | params
    renamed: dict[str, str] = {}
    for t, out in zip(t1.outputs, outs):
        src = names.get(t._node) if t._node is not None else None
        if src is None:
            src = ctx.input_name(t._data) or ctx.const(t._data)
        if src in renamed or src in taken:
            ctx.nodes.append(ctx.helper.make_node("Identity", [renamed.get(src, src)], [out],
                                                  name=ctx.fresh("n:" + out)))
        else:
            renamed[src] = out
    for n in ctx.nodes:
        for seq in (n.input, n.output):
            for k, v in enumerate(seq):
                if v in renamed:
                    seq[k] = renamed[v]


# ---------------------------------------------------------------------------------------------
# The model proto and the file
# ---------------------------------------------------------------------------------------------


def _dims(shape: tuple, shape2: tuple, named: dict[int, str], base: str, ctx: Ctx,
          dyn: dict[str, dict[int, str]]) -> list[Any]:
    dims: list[Any] = []
    for j, (a, b) in enumerate(zip(shape, shape2)):
        if a == b and j not in named:
            dims.append(int(a))
            continue
        name = named.get(j)
        if name is None:
            for src, ax, s1, s2 in ctx.dim_sources:
                if (s1, s2) == (a, b):
                    name = dyn.get(src, {}).get(ax, f"{src}_dim{ax}")
        dims.append(name or f"{base}_dim{j}")
    return dims


def _model(onnx: Any, ctx: Ctx, t1: Trace, t2: Trace, names: list[str], outs: list[str],
           dyn: dict[str, dict[int, str]], params: dict[str, ndarray], export_params: bool,
           keep_inputs: bool) -> Any:
    h = onnx.helper
    inputs = []
    for (a, name), leaf2 in zip(ctx.inputs, t2.inputs):
        dims = _dims(a.shape, leaf2._data.shape, dyn.get(name, {}), name, ctx, dyn)
        inputs.append(h.make_tensor_value_info(name, ctx.dtype_code(a.dtype), dims))
    outputs = []
    for t, t_2, name in zip(t1.outputs, t2.outputs, outs):
        dims = _dims(t._data.shape, t_2._data.shape, dyn.get(name, {}), name, ctx, dyn)
        outputs.append(h.make_tensor_value_info(name, ctx.dtype_code(t._data.dtype), dims))
    for pname, arr in params.items():
        if export_params:
            ctx.initializer(arr, pname)
        else:
            inputs.append(h.make_tensor_value_info(pname, ctx.dtype_code(arr.dtype), arr.shape))
    if keep_inputs:
        listed = {i.name for i in inputs}
        for init in ctx.initializers:
            if init.name not in listed:
                inputs.append(h.make_tensor_value_info(init.name, init.data_type,
                                                       list(init.dims)))
    graph = h.make_graph(ctx.nodes, "chainrule", inputs, outputs, ctx.initializers)
    opsets = [h.make_opsetid("", ctx.opset)]
    model = h.make_model(graph, opset_imports=opsets, producer_name="chainrule",
                         ir_version=h.find_min_ir_version_for(opsets))
    onnx.checker.check_model(model)
    return model


def _write(f: Any, data: bytes) -> None:
    """Write ``data`` to a path atomically (serialization.atomic_path), or to a binary file
    object."""
    if hasattr(f, "write"):
        if isinstance(f, io.TextIOBase):
            raise TypeError("export: f is a text file; open it in binary mode ('wb')")
        f.write(data)
        return
    from ..serialization import atomic_path

    with atomic_path(f) as tmp:
        with open(tmp, "wb") as out:
            out.write(data)


__all__ = ["export", "TrainingMode", "OnnxExporterError", "UnsupportedOperatorError",
           "DEFAULT_OPSET", "is_in_onnx_export"]
