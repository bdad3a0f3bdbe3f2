"""Higher-level differentiation: Jacobians, Hessians and their products with vectors.

The signatures and return structures are PyTorch's (``torch.autograd.functional``): ``inputs``
is a tensor or a tuple of tensors, and so is what ``func`` returns; results come back as a
tensor when both are tensors, as a tuple when one of them is a tuple, as a tuple of tuples
(``[output][input]``) when both are.

Everything is reverse mode: a Jacobian is one vector-Jacobian product per output element;
``jvp`` uses the double-vjp trick (``u -> v^T J^T u`` is linear in ``u``, and its gradient
with respect to ``u`` is ``J v``); ``hvp`` applies the same trick to the gradient.

>>> import chainrule as cr
>>> from chainrule.autograd.functional import jacobian, hessian
>>> x = cr.tensor([1.0, 2.0])
>>> jacobian(lambda x: x ** 2, x)           # diag(2x)
tensor([[2., 0.],
        [0., 4.]])
>>> hessian(lambda x: (x ** 3).sum(), x)    # diag(6x)
tensor([[ 6.,  0.],
        [ 0., 12.]])
"""

from __future__ import annotations

from typing import Any, Callable

from ..core import functional as F
from ..core import graph
from ..core.autograd import grad as _grad
from ..core.graph import apply
from ..core.primitives import structure as S
from ..core.tensor import Tensor, _make
from ..backend import xp

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


def _as_tuple(x: Any, arg_name: str, fn_name: str) -> tuple[bool, tuple[Tensor, ...]]:
    is_tuple = isinstance(x, tuple)
    items = x if is_tuple else (x,)
    for i, el in enumerate(items):
        if not isinstance(el, Tensor):
            where = f"the value at index {i} has type" if is_tuple else f"the given {arg_name} " \
                "has type"
            raise TypeError(
                f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of "
                f"Tensors but {where} {type(el).__name__}."
            )
    return is_tuple, items


def _tuple_postprocess(res: Any, to_unpack: Any) -> Any:
    if isinstance(to_unpack, tuple):
        if not to_unpack[1]:
            res = tuple(el[0] for el in res)
        if not to_unpack[0]:
            res = res[0]
    elif not to_unpack:
        res = res[0]
    return res


def _alias(t: Tensor) -> Tensor:
    """A new non-leaf tensor for ``t``'s values whose graph leads back to ``t``."""
    return apply(S.Reshape(t._data.shape), t)


def _grad_preprocess(inputs: tuple, create_graph: bool, need_graph: bool) -> tuple:
    res = []
    for inp in inputs:
        if create_graph and inp.requires_grad:
            res.append(_alias(inp))
        else:
            t = inp.detach()
            if need_graph:
                if inp._data.dtype.kind != "f":
                    raise TypeError(
                        f"autograd.functional: inputs must be floating-point tensors, got "
                        f"dtype {inp.dtype}; convert with .float() or .double()"
                    )
                t.requires_grad_(True)
            res.append(t)
    return tuple(res)


def _grad_postprocess(items: Any, create_graph: bool) -> Any:
    if isinstance(items[0], Tensor) or items[0] is None:
        if not create_graph:
            return tuple(i.detach() if i is not None else None for i in items)
        return tuple(items)
    return tuple(_grad_postprocess(i, create_graph) for i in items)


def _validate_v(v: tuple, other: tuple, is_other_tuple: bool) -> None:
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(
                f"v is a tuple of invalid length: should be {len(other)} but got {len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for idx, (el_v, el_o) in enumerate(zip(v, other)):
        if tuple(el_v.shape) != tuple(el_o.shape):
            prepend = f"Entry {idx} in " if is_other_tuple else ""
            raise RuntimeError(
                f"{prepend}v has invalid size: should be {tuple(el_o.shape)} but got "
                f"{tuple(el_v.shape)}."
            )


def _check_requires_grad(items: tuple, kind: str, strict: bool) -> None:
    if not strict:
        return
    for i, t in enumerate(items):
        if t is None:
            raise RuntimeError(
                f"The output of the user-provided function is independent of input {i}. This "
                "is not allowed in strict mode."
            )
        if not t.requires_grad:
            if kind == "hessian":
                raise RuntimeError(
                    f"The hessian of the user-provided function with respect to input {i} is "
                    "independent of the input. This is not allowed in strict mode. You should "
                    "ensure that your function is thrice differentiable and that the hessian "
                    "depends on the inputs."
                )
            if kind == "jacobian":
                raise RuntimeError(
                    "While computing the hessian, found that the jacobian of the user-provided "
                    f"function with respect to input {i} is independent of the input. This is "
                    "not allowed in strict mode. You should ensure that your function is twice "
                    "differentiable and that the jacobian depends on the inputs (this would be "
                    "violated by a linear function for example)."
                )
            if kind == "grad_inputs":
                raise RuntimeError(
                    f"The gradient with respect to input {i} is independent of the inputs of the "
                    "user-provided function. This is not allowed in strict mode."
                )
            raise RuntimeError(
                f"Output {i} of the user-provided function does not require gradients. The "
                "outputs must be computed in a differentiable manner from the input when "
                "running in strict mode."
            )


def _autograd_grad(outputs: tuple, inputs: tuple, grad_outputs: tuple | None = None,
                   create_graph: bool = False, retain_graph: bool | None = None) -> tuple:
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    new_out, new_g = [], []
    for out, g in zip(outputs, grad_outputs):
        if out is not None and out.requires_grad:
            new_out.append(out)
            new_g.append(g)
    if not new_out:
        return (None,) * len(inputs)
    return _grad(new_out, list(inputs), new_g, retain_graph=retain_graph,
                 create_graph=create_graph, allow_unused=True)


_STAGE_MSG = {
    "back": "The output of the user-provided function is independent of input {i}. This is not "
            "allowed in strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the "
                  "grad_outputs when using the double backward trick to compute forward mode "
                  "gradients. This is not allowed in strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. "
                   "This is not allowed in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry "
                         "{i} in the grad_jacobian. This is not allowed in strict mode as it "
                         "prevents from using the double backward trick to replace forward "
                         "mode AD.",
}


def _fill_in_zeros(grads: tuple, refs: tuple, strict: bool, create_graph: bool,
                   stage: str) -> tuple:
    res = []
    for i, g in enumerate(grads):
        if g is None:
            if strict:
                raise RuntimeError(_STAGE_MSG[stage].format(i=i))
            g = _make(xp.zeros(refs[i].shape, refs[i].dtype))
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(
                f"The {what} of the user-provided function is independent of input {i}. This "
                "is not allowed in strict mode when create_graph=True."
            )
        res.append(g)
    return tuple(res)


def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(inputs), v^T J)``: the vector-Jacobian product at ``inputs``.

    ``v`` may be omitted when ``func`` returns a single-element tensor.

    >>> import chainrule as cr
    >>> from chainrule.autograd.functional import vjp
    >>> out, g = vjp(lambda x: x.exp().sum(dim=1), cr.zeros(2, 2), cr.ones(2))
    >>> out, g
    (tensor([2., 2.]), tensor([[1., 1.],
            [1., 1.]]))
    """
    with graph.enable_grad():
        is_inputs_tuple, ins = _as_tuple(inputs, "inputs", "vjp")
        ins = _grad_preprocess(ins, create_graph, need_graph=True)
        outputs = func(*ins)
        is_outputs_tuple, outs = _as_tuple(outputs, "outputs of the user-provided function",
                                           "vjp")
        _check_requires_grad(outs, "outputs", strict)
        if v is not None:
            _, vs = _as_tuple(v, "v", "vjp")
            vs = _grad_preprocess(vs, create_graph, need_graph=False)
            _validate_v(vs, outs, is_outputs_tuple)
        else:
            if len(outs) != 1 or outs[0].numel() != 1:
                raise RuntimeError(
                    "The vector v can only be None if the user-provided function returns a "
                    "single Tensor with a single element."
                )
            vs = None
    with graph.set_grad_enabled(True if create_graph else graph.is_grad_enabled()):
        grad_res = _autograd_grad(outs, ins, vs, create_graph=create_graph)
        res = _fill_in_zeros(grad_res, ins, strict, create_graph, "back")
    outs = _grad_postprocess(outs, create_graph)
    res = _grad_postprocess(res, create_graph)
    return _tuple_postprocess(outs, is_outputs_tuple), _tuple_postprocess(res, is_inputs_tuple)


def jvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(inputs), J v)``: the Jacobian-vector product, by the double-vjp trick.

    >>> import chainrule as cr
    >>> from chainrule.autograd.functional import jvp
    >>> jvp(lambda x: x ** 2, cr.tensor([1.0, 2.0]), cr.tensor([1.0, 1.0]))[1]
    tensor([2., 4.])
    """
    with graph.enable_grad():
        is_inputs_tuple, ins = _as_tuple(inputs, "inputs", "jvp")
        ins = _grad_preprocess(ins, create_graph, need_graph=True)
        if v is not None:
            _, vs = _as_tuple(v, "v", "jvp")
            vs = _grad_preprocess(vs, create_graph, need_graph=False)
            _validate_v(vs, ins, is_inputs_tuple)
        else:
            if len(ins) != 1 or ins[0].numel() != 1:
                raise RuntimeError(
                    "The vector v can only be None if the input to the user-provided function "
                    "is a single Tensor with a single element."
                )
            vs = None
        outputs = func(*ins)
        is_outputs_tuple, outs = _as_tuple(outputs, "outputs of the user-provided function",
                                           "jvp")
        _check_requires_grad(outs, "outputs", strict)
        # u -> J^T u is linear in u; its vjp with v is J v (the "double backward trick").
        grad_outputs = tuple(_make(xp.zeros(o.shape, o.dtype)).requires_grad_(True)
                             if o.is_floating_point() else None for o in outs)
        grad_inputs = _autograd_grad(outs, ins, grad_outputs, create_graph=True)
        _check_requires_grad(grad_inputs, "grad_inputs", strict)
    with graph.set_grad_enabled(True if create_graph else graph.is_grad_enabled()):
        live = tuple(g for g in grad_outputs if g is not None)
        grad_res = _autograd_grad(grad_inputs, live, vs, create_graph=create_graph)
        it = iter(grad_res)
        grad_res = tuple(next(it) if g is not None else None for g in grad_outputs)
        res = _fill_in_zeros(grad_res, outs, strict, create_graph, "back_trick")
    outs = _grad_postprocess(outs, create_graph)
    res = _grad_postprocess(res, create_graph)
    return _tuple_postprocess(outs, is_outputs_tuple), _tuple_postprocess(res, is_outputs_tuple)


def jacobian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """The Jacobian of ``func`` at ``inputs``: shape ``output.shape + input.shape``.

    ``vectorize`` and ``strategy`` are accepted for compatibility: chainrule always builds
    the Jacobian by reverse mode, one vector-Jacobian product per output element.

    >>> import chainrule as cr
    >>> from chainrule.autograd.functional import jacobian
    >>> a, b = cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0])
    >>> jacobian(lambda a, b: a * b, (a, b))        # (d/da, d/db)
    (tensor([[3., 0.],
            [0., 4.]]), tensor([[1., 0.],
            [0., 2.]]))
    """
    if strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError(
            f"jacobian: strategy must be 'forward-mode' or 'reverse-mode', got {strategy!r}")
    if strategy == "forward-mode" and create_graph:
        raise NotImplementedError(
            "jacobian: create_graph=True and strategy='forward-mode' are not supported "
            "together; use strategy='reverse-mode'")
    if vectorize and strict:
        raise RuntimeError(
            "jacobian: strict=True and vectorize=True are not supported together; set one of "
            "them to False")
    with graph.enable_grad():
        is_inputs_tuple, ins = _as_tuple(inputs, "inputs", "jacobian")
        ins = _grad_preprocess(ins, create_graph, need_graph=True)
        outputs = func(*ins)
        is_outputs_tuple, outs = _as_tuple(outputs, "outputs of the user-provided function",
                                           "jacobian")
        _check_requires_grad(outs, "outputs", strict)
        jac = [_jacobian_of_output(i, out, ins, create_graph, strict)
               for i, out in enumerate(outs)]
        res = _grad_postprocess(tuple(jac), create_graph)
        return _tuple_postprocess(res, (is_outputs_tuple, is_inputs_tuple))


def _jacobian_of_output(i: int, out: Tensor, ins: tuple[Tensor, ...], create_graph: bool,
                        strict: bool) -> tuple[Tensor, ...]:
    """The Jacobian of output ``i`` for each input: one vjp per element of ``out``."""
    rows: list[list[Tensor]] = [[] for _ in ins]
    live = out.requires_grad and out.is_floating_point()
    for j in range(out.numel()):
        if live:
            e = xp.zeros(out.shape, out.dtype)
            e.reshape(-1)[j] = 1
            vj = _grad([out], list(ins), [_make(e)], retain_graph=True,
                       create_graph=create_graph, allow_unused=True)
        else:
            vj = (None,) * len(ins)
        for k, (g, inp) in enumerate(zip(vj, ins)):
            if g is not None:
                if strict and create_graph and not g.requires_grad:
                    raise RuntimeError(
                        "The jacobian of the user-provided function is independent of "
                        f"input {i}. This is not allowed in strict mode when "
                        "create_graph=True."
                    )
                rows[k].append(g)
            else:
                if strict:
                    raise RuntimeError(
                        f"Output {i} of the user-provided function is independent of "
                        f"input {k}. This is not allowed in strict mode."
                    )
                rows[k].append(_make(xp.zeros(inp.shape, inp.dtype)))
    per_input = []
    for k, inp in enumerate(ins):
        shape = tuple(out.shape) + tuple(inp.shape)
        if rows[k]:
            per_input.append(F.reshape(F.stack(rows[k]), shape))
        else:
            per_input.append(_make(xp.zeros(shape, inp.dtype)))
    return tuple(per_input)


def _check_scalar_output(is_outputs_tuple: bool, outs: tuple, name: str) -> None:
    """The function given to ``name`` (hessian, vhp, hvp) must return a one-element tensor."""
    if is_outputs_tuple or not isinstance(outs[0], Tensor):
        raise RuntimeError(f"The function given to {name} should return a single Tensor")
    if outs[0].numel() != 1:
        raise RuntimeError(
            f"The Tensor returned by the function given to {name} should contain a single "
            f"element, got shape {tuple(outs[0].shape)}"
        )


def hessian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of a scalar ``func`` at ``inputs``: shape ``input.shape + input.shape``
    (a tuple of tuples ``[i][j]`` for a tuple of inputs).

    >>> import chainrule as cr
    >>> from chainrule.autograd.functional import hessian
    >>> hessian(lambda x, y: (x * y).sum(), (cr.tensor([1.0]), cr.tensor([2.0])))
    ((tensor([[0.]]), tensor([[1.]])), (tensor([[1.]]), tensor([[0.]])))
    """
    is_inputs_tuple, ins = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError("hessian: outer_jacobian_strategy must be 'forward-mode' or "
                         f"'reverse-mode', got {outer_jacobian_strategy!r}")

    def ensure_single_output_function(*inp: Tensor) -> Tensor:
        out = func(*inp)
        is_out_tuple, t_out = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _check_requires_grad(t_out, "outputs", strict)
        _check_scalar_output(is_out_tuple, t_out, "hessian")
        return F.reshape(out, ())

    def jac_func(*inp: Tensor) -> Any:
        j = jacobian(ensure_single_output_function, inp, create_graph=True)
        _check_requires_grad(j, "jacobian", strict)
        return j

    res = jacobian(jac_func, ins, create_graph=create_graph, strict=strict, vectorize=vectorize)
    return _tuple_postprocess(res, (is_inputs_tuple, is_inputs_tuple))


def _scalar_func_setup(func: Callable, inputs: Any, v: Any, create_graph: bool, strict: bool,
                       name: str) -> tuple:
    is_inputs_tuple, ins = _as_tuple(inputs, "inputs", name)
    ins = _grad_preprocess(ins, create_graph, need_graph=True)
    if v is not None:
        _, vs = _as_tuple(v, "v", name)
        vs = _grad_preprocess(vs, create_graph, need_graph=False)
        _validate_v(vs, ins, is_inputs_tuple)
    else:
        if len(ins) != 1 or ins[0].numel() != 1:
            raise RuntimeError(
                "The vector v can only be None if the input to the user-provided function is a "
                "single Tensor with a single element."
            )
        vs = None
    outputs = func(*ins)
    is_outputs_tuple, outs = _as_tuple(outputs, "outputs of the user-provided function", name)
    _check_requires_grad(outs, "outputs", strict)
    _check_scalar_output(is_outputs_tuple, outs, name)
    jac = _autograd_grad(outs, ins, create_graph=True)
    _check_requires_grad(jac, "jacobian", strict)
    return is_inputs_tuple, is_outputs_tuple, ins, vs, outs, jac


def vhp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(inputs), v^T H)`` for a scalar ``func``.

    >>> import chainrule as cr
    >>> from chainrule.autograd.functional import vhp
    >>> vhp(lambda x: (x ** 3).sum(), cr.tensor([1.0, 2.0]), cr.tensor([1.0, 1.0]))[1]
    tensor([ 6., 12.])
    """
    with graph.enable_grad():
        is_in_t, is_out_t, ins, vs, outs, jac = _scalar_func_setup(
            func, inputs, v, create_graph, strict, "vhp")
    with graph.set_grad_enabled(True if create_graph else graph.is_grad_enabled()):
        grad_res = _autograd_grad(jac, ins, vs, create_graph=create_graph)
        res = _fill_in_zeros(grad_res, ins, strict, create_graph, "double_back")
    outs = _grad_postprocess(outs, create_graph)
    res = _grad_postprocess(res, create_graph)
    return _tuple_postprocess(outs, is_out_t), _tuple_postprocess(res, is_in_t)


def hvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(inputs), H v)`` for a scalar ``func``, by the double-vjp trick.

    >>> import chainrule as cr
    >>> from chainrule.autograd.functional import hvp
    >>> hvp(lambda x: (x[0] ** 2 * x[1]), cr.tensor([1.0, 2.0]), cr.tensor([1.0, 0.0]))[1]
    tensor([4., 2.])
    """
    with graph.enable_grad():
        is_in_t, is_out_t, ins, vs, outs, jac = _scalar_func_setup(
            func, inputs, v, create_graph, strict, "hvp")
        grad_jac = tuple(_make(xp.zeros(i.shape, i.dtype)).requires_grad_(True) for i in ins)
        double_back = _autograd_grad(jac, ins, grad_jac, create_graph=True)
        _check_requires_grad(jac, "hessian", strict)
    with graph.set_grad_enabled(True if create_graph else graph.is_grad_enabled()):
        grad_res = _autograd_grad(double_back, grad_jac, vs, create_graph=create_graph)
        res = _fill_in_zeros(grad_res, ins, strict, create_graph, "double_back_trick")
    outs = _grad_postprocess(outs, create_graph)
    res = _grad_postprocess(res, create_graph)
    return _tuple_postprocess(outs, is_out_t), _tuple_postprocess(res, is_in_t)
