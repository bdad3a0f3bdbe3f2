"""The Optimizer base: parameter groups, per-parameter state, zero_grad, state_dict.

Each concrete optimizer is a thin class over a pure update function on arrays (``sgd_update``,
``adam_update``, ...): the class loops over groups and parameters, keeps the state, and hands
the function the arrays to change in place. The state dict has PyTorch's layout::

    {"state": {0: {"step": 3.0, "exp_avg": tensor(...), ...}, ...},
     "param_groups": [{"lr": 0.001, ..., "params": [0, 1]}, ...]}

where parameters are numbered in the order they appear across the groups.
"""

from __future__ import annotations

import copy
import functools
import warnings
from collections import defaultdict
from typing import Any, Callable, ClassVar, Iterable, Iterator

from ..backend import ndarray, xp
from ..core.creation import from_numpy
from ..core.graph import enable_grad
from ..core.tensor import Tensor

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks a hyperparameter that has no default and must be given."""

    def __repr__(self) -> str:
        return "<required parameter>"


required: Any = _RequiredParameter()

ParamsT = Iterable[Any]


def _track_step(step: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``step`` so that the optimizer records that it was called (schedulers check it)."""

    @functools.wraps(step)
    def wrapper(self: Optimizer, *args: Any, **kwargs: Any) -> Any:
        self._opt_called = True
        return step(self, *args, **kwargs)

    wrapper._tracks_calls = True  # type: ignore[attr-defined]
    return wrapper


class Optimizer:
    """Base class of all optimizers: holds ``param_groups``, ``state`` and ``defaults``.

    ``params`` is an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts (parameter
    groups) with a ``"params"`` entry and any hyperparameters that override ``defaults``.
    Subclasses implement ``_update_group(group)``, or override ``step`` entirely.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> b = cr.tensor([0.5], requires_grad=True)
    >>> opt = cr.optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
    >>> [g["lr"] for g in opt.param_groups]
    [0.1, 0.5]
    >>> opt.state_dict()["param_groups"][1]["params"]
    [1]
    """

    # Keys every non-empty per-parameter state must hold, and the others it may hold; the
    # subclasses set them so that load_state_dict can refuse another optimizer's state.
    _required_state: ClassVar[tuple[str, ...]] = ()
    _optional_state: ClassVar[tuple[str, ...] | None] = None  # None: accept any key

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_tracks_calls", False):
            cls.step = _track_step(step)  # type: ignore[method-assign]

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params should be an iterable of tensors or dicts "
                "(e.g. model.parameters()), got a single Tensor; wrap it in a list: [w]"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{type(self).__name__}: parameters must be given in an ordered collection (a "
                "list), not a set: the order of a set changes between runs, and the state dict "
                "relies on it")
        self.defaults = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._scratch: dict[tuple, tuple[ndarray, ndarray]] = {}
        self._opt_called = False
        groups = list(params)
        if len(groups) == 0:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    # -- pickling: the scratch buffers are a cache, not state ------------------------------
    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state,
                "param_groups": self.param_groups, "_opt_called": self._opt_called}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._scratch = {}
        self.__dict__.setdefault("_opt_called", False)

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {group[k]}" for k in sorted(group) if k != "params")
        return "\n".join(lines) + "\n)"

    # -- groups ------------------------------------------------------------------------------
    def _validate_group(self, group: dict[str, Any]) -> None:
        """Raise ValueError for a hyperparameter out of range (subclasses override)."""

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters, with its own hyperparameters, to ``param_groups``.

        Missing hyperparameters are taken from ``defaults``.
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}.add_param_group: param_group must be a dict, "
                            f"got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{name}.add_param_group: the group has no 'params' entry")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{name}: parameters must be given in an ordered collection (a list), not a "
                "set: the order of a set changes between runs, and the state dict relies on it"
            )
        params = list(params)
        if params and all(isinstance(p, tuple) and len(p) == 2 for p in params):
            group["param_names"] = [n for n, _ in params]
            params = [p for _, p in params]
        elif any(isinstance(p, tuple) for p in params):
            raise ValueError(f"{name}: give all parameters with names (name, tensor) or none")
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors, but parameter {i} of the "
                                f"group is a {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(
                    f"{name}: can't optimize a non-leaf tensor (parameter {i}, shape "
                    f"{tuple(p.shape)}, made by {p.grad_fn!r}); optimize the leaf it was computed "
                    "from, or use .detach().requires_grad_()"
                )
        group["params"] = params
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise ValueError(f"{name}: the parameter group doesn't give a value for the "
                                 f"required hyperparameter {key!r}")
            group.setdefault(key, default)
        self._validate_group(group)
        ids = [id(p) for p in params]
        if len(ids) != len(set(ids)):
            warnings.warn(f"{name}: a parameter group holds the same parameter twice; it "
                          "will be updated twice per step", UserWarning, stacklevel=3)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if not seen.isdisjoint(ids):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        if self.param_groups and ("param_names" in group) != ("param_names" in
                                                              self.param_groups[0]):
            raise ValueError(f"{name}: all parameter groups must be given with names or "
                             "all without")
        self.param_groups.append(group)

    # -- gradients and steps ---------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients: to None (the default), or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                g._node = None  # NOTE: as torch's detach_(): a grad from create_graph is cut
                if g._data.flags.writeable:
                    g._data.fill(0)
                    g._vc[0] += 1
                else:
                    p.grad = from_numpy(xp.zeros_like(g._data))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()``'s loss if given.

        The closure re-evaluates the model (with gradients recorded) and returns the loss.
        """
        self._opt_called = True
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        # NOTE: updates work on the raw arrays, so nothing is recorded even outside no_grad.
        for group in self.param_groups:
            self._update_group(group)
        return loss

    step._tracks_calls = True  # type: ignore[attr-defined]

    def _with_grads(self, group: dict[str, Any]) -> Iterator[tuple[Tensor, ndarray, ndarray]]:
        """(parameter, its array, its gradient's array) for the group's parameters that have a
        gradient, checking that each gradient has its parameter's shape."""
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            if g._data.shape != p._data.shape:
                raise _grad_shape_error(self, p, g)
            yield p, p._data, g._data

    def _update_group(self, group: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement _update_group or step")

    def _scratch_for(self, arr: ndarray) -> tuple[ndarray, ndarray]:
        """Two work arrays shaped like ``arr``, kept between steps (one pair per shape/dtype)."""
        key = (arr.shape, arr.dtype)
        s = self._scratch.get(key)
        if s is None:
            s = self._scratch[key] = (xp.empty_like(arr), xp.empty_like(arr))
        return s

    # -- state dict --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The state in PyTorch's layout; parameters are replaced by their index.

        The tensors in ``"state"`` are the optimizer's own buffers (not copies), as in PyTorch:
        deep-copy the dict to keep a snapshot while training goes on.
        """
        index: dict[int, int] = {}
        packed_groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            packed_groups.append(packed)
        packed_state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": packed_state, "param_groups": packed_groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state saved by :meth:`state_dict` (hyperparameters included).

        The groups must match this optimizer's in number and size; state tensors must have
        their parameter's shape and are copied (cast to the parameter's dtype). Tensors or
        arrays from another library (e.g. a PyTorch state dict) are accepted too.
        """
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            got = (f"a dict with keys {sorted(map(str, state_dict))[:6]}"
                   if isinstance(state_dict, dict) else type(state_dict).__name__)
            raise ValueError(f"{name}: expected a dict with 'state' and 'param_groups' entries "
                             f"(as returned by state_dict()), got {got}")
        groups = self.param_groups
        saved_groups = copy.deepcopy(list(state_dict["param_groups"]))
        if len(groups) != len(saved_groups):
            raise ValueError(f"{name}: the state dict has {len(saved_groups)} parameter "
                             f"group(s) but this optimizer has {len(groups)}")
        for i, (g, sg) in enumerate(zip(groups, saved_groups)):
            if not isinstance(sg, dict) or "params" not in sg:
                raise ValueError(f"{name}: parameter group {i} of the state dict has no "
                                 "'params' list")
            if len(g["params"]) != len(sg["params"]):
                raise ValueError(
                    f"{name}: parameter group {i} of the state dict has {len(sg['params'])} "
                    f"parameter(s) but this optimizer's group {i} has {len(g['params'])}")
            missing = [k for k in self.defaults if k not in sg]
            if missing:
                raise ValueError(
                    f"{name}: parameter group {i} of the state dict lacks the "
                    f"hyperparameter(s) {missing} that {type(self).__name__} uses; was it "
                    "saved from a different optimizer?")
            self._validate_group(sg)
        id_map: dict[Any, tuple[Tensor, int]] = {}
        for gi, (g, sg) in enumerate(zip(groups, saved_groups)):
            for k, p in zip(sg["params"], g["params"]):
                id_map[k] = (p, gi)
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for k, s in state_dict["state"].items():
            if k not in id_map:
                raise ValueError(f"{name}: the state dict holds state for parameter {k!r}, "
                                 "which is in none of its parameter groups")
            p, gi = id_map[k]
            if not isinstance(s, dict):
                raise ValueError(f"{name}: the state of parameter {k} should be a dict, got "
                                 f"{type(s).__name__}")
            state[p] = self._load_param_state(s, p, k, saved_groups[gi], name)
        for g, sg in zip(groups, saved_groups):
            sg["params"] = g["params"]
            if "param_names" in g and "param_names" not in sg:
                sg["param_names"] = g["param_names"]
        self.state = state
        self.param_groups = saved_groups

    def _load_param_state(self, s: dict[str, Any], p: Tensor, k: Any, group: dict[str, Any],
                          name: str) -> dict[str, Any]:
        if s:
            missing = [key for key in self._required_state if key not in s]
            unknown = ([key for key in s if key not in self._required_state
                        and key not in self._optional_state]
                       if self._optional_state is not None else [])
            if missing or unknown:
                raise ValueError(
                    f"{name}: the state of parameter {k} (shape {tuple(p.shape)}) has keys "
                    f"{sorted(map(str, s))}; {type(self).__name__} needs "
                    f"{list(self._required_state)}"
                    + (f" and does not use {unknown}" if unknown else "")
                    + "; was it saved from a different optimizer?")
        out: dict[str, Any] = {}
        for key, v in s.items():
            if key == "step":
                try:
                    out[key] = float(v)
                except (TypeError, ValueError):
                    raise ValueError(f"{name}: 'step' of parameter {k} should be a number, got "
                                     f"{type(v).__name__}") from None
            elif isinstance(v, Tensor) or hasattr(v, "__array__"):
                arr = v._data if isinstance(v, Tensor) else xp.asarray(v)
                if arr.shape != p.shape:
                    raise ValueError(
                        f"{name}: state {key!r} of parameter {k} has shape {arr.shape} but the "
                        f"parameter has shape {tuple(p.shape)}; the state dict belongs to a "
                        "different model, or its parameters are in a different order")
                dt = p._data.dtype if p._data.dtype.kind == "f" else arr.dtype
                out[key] = from_numpy(xp.array(arr, dtype=dt, copy=True))
            else:
                out[key] = copy.deepcopy(v)
        return out


# -- helpers shared by the update functions ------------------------------------------------------


def _pair(param: ndarray, scratch: tuple[ndarray, ndarray] | None) -> tuple[ndarray, ndarray]:
    if scratch is None:
        return xp.empty_like(param), xp.empty_like(param)
    return scratch


def _effective_grad(param: ndarray, grad: ndarray, weight_decay: float, maximize: bool,
                    gbuf: ndarray, tbuf: ndarray) -> ndarray:
    """``(-grad if maximize else grad) + weight_decay * param``, in ``gbuf`` when it changes."""
    g = grad
    if maximize:
        xp.negative(grad, out=gbuf)
        g = gbuf
    if weight_decay != 0:
        xp.multiply(param, weight_decay, out=tbuf)
        xp.add(g, tbuf, out=gbuf)
        g = gbuf
    return g


def _lerp_(start: ndarray, end: ndarray, weight: float, tmp: ndarray) -> None:
    """``start += weight * (end - start)`` in place, rounded as PyTorch's ``lerp_``.

    NOTE: PyTorch switches formula at weight 0.5 to stay accurate near both ends; so do we.
    """
    xp.subtract(end, start, out=tmp)
    if abs(weight) < 0.5:
        tmp *= weight
        start += tmp
    else:
        tmp *= start.dtype.type(weight) - 1  # (weight - 1) rounded in the array's dtype
        xp.add(end, tmp, out=start)


def _decay_sq_(avg: ndarray, g: ndarray, beta: float, tmp: ndarray) -> None:
    """``avg = beta * avg + (1 - beta) * g * g`` in place (Adam's v, RMSprop's square_avg),
    in PyTorch's rounding order: ``avg *= beta``, then ``avg += (g * (1 - beta)) * g``."""
    avg *= beta
    xp.multiply(g, 1 - beta, out=tmp)
    tmp *= g
    avg += tmp


def _grad_shape_error(opt: Optimizer, p: Tensor, g: Tensor) -> ValueError:
    return ValueError(
        f"{type(opt).__name__}.step: a parameter of shape {tuple(p.shape)} has a gradient of shape "
        f"{tuple(g.shape)}; .grad must have its parameter's shape (was it assigned by hand?)")


def _new_state_like(p: Tensor) -> Tensor:
    return from_numpy(xp.zeros_like(p._data))


def _check(cond: bool, opt: str, what: str, value: Any) -> None:
    if not cond:
        raise ValueError(f"{opt}: invalid {what}: {value!r}")

