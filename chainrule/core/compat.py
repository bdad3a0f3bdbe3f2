"""PyTorch names that chainrule lacks: a clear error for each, and CPU-only stand-ins.

Programs written for PyTorch reach for names chainrule does not have (``torch.cuda``,
``x.cuda()``, ``torch.einsum``, ``torch.linalg.svd``). Instead of an ``AttributeError``
from somewhere inside, they get an :class:`UnsupportedError` that names what was asked for
and says what to use instead. The module-level names are reached through ``chainrule``'s
``__getattr__``, that is only on a missing name; the Tensor methods are class attributes that
raise when read (a ``Tensor.__getattr__`` would slow down every attribute access of every
tensor: CPython does not specialise attribute access for classes that define one).

Device-agnostic programs run unchanged: ``cr.device("cpu")`` exists, ``cr.cuda.is_available()``
is False, ``cr.backends.mps.is_available()`` is False, ``cr.set_default_device("cpu")`` is
accepted; anything that would need a GPU raises.

>>> import chainrule as cr
>>> cr.cuda.is_available(), cr.device("cpu")
(False, device(type='cpu'))
>>> cr.tensor([1.0]).cuda()
Traceback (most recent call last):
...
chainrule.core.compat.UnsupportedError: x.cuda() is not supported: chainrule runs on the CPU; ...
"""

from __future__ import annotations

from typing import Any, Iterable

__all__ = ["UnsupportedError", "UnsupportedImportError", "device", "Size", "cuda", "backends",
           "accelerator", "module_missing", "install_tensor_stubs"]


class UnsupportedError(NotImplementedError, AttributeError):
    """A PyTorch feature chainrule does not support.

    Both a ``NotImplementedError`` (what it means) and an ``AttributeError`` (so that
    ``hasattr`` and ``getattr(obj, name, default)`` keep working on a missing name).
    """


CPU_ONLY = ("chainrule runs on the CPU; remove .cuda()/.to('cuda') (tensors and modules always "
            "live on the CPU)")


_DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve",
                 "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
                 "privateuseone")


class device(str):
    """``cr.device("cpu")``: the device tensors live on. Equal to its string (``"cpu"``).

    As in PyTorch, any device type can be named (``torch.device("cuda:0").index`` is 0 on a
    machine without a GPU too); chainrule only ever puts tensors on the CPU, so moving a
    tensor or module to another device (``x.to(device)``) is what raises.

    >>> import chainrule as cr
    >>> d = cr.device("cpu"); d.type, str(d), d == "cpu"
    ('cpu', 'cpu', True)
    >>> cr.device("cuda", 1)
    device(type='cuda', index=1)
    """

    def __new__(cls, type: Any = "cpu", index: int | None = None) -> device:
        if isinstance(type, device):
            return type
        spec = f"cuda:{type}" if isinstance(type, int) else str(type)
        kind, colon, idx = spec.partition(":")
        if kind not in _DEVICE_TYPES or (colon and not idx.isdigit()):
            raise RuntimeError(f"Expected one of {', '.join(_DEVICE_TYPES)} device type at start "
                               f"of device string: {spec}")
        if index is not None:
            if colon:
                raise RuntimeError(f"device(): type (string) must not include an index because "
                                   f"index was passed explicitly: {spec}")
            spec = f"{kind}:{int(index)}"
        return str.__new__(cls, spec)

    @property
    def type(self) -> str:
        return str.__str__(self).partition(":")[0]

    @property
    def index(self) -> int | None:  # type: ignore[override]
        idx = str.__str__(self).partition(":")[2]
        return int(idx) if idx else None

    def __repr__(self) -> str:
        i = self.index
        return f"device(type='{self.type}')" if i is None else \
            f"device(type='{self.type}', index={i})"

    def __str__(self) -> str:
        return str.__str__(self)

    def __reduce__(self) -> Any:
        return (device, (str(self),))


class Size(tuple):
    """``cr.Size([2, 3])``: a shape. Shapes themselves are plain tuples, equal to it.

    >>> import chainrule as cr
    >>> cr.zeros(2, 3).shape == cr.Size([2, 3])
    True
    """

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"  # as PyTorch prints it

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n


def _noop(*args: Any, **kwargs: Any) -> None:
    return None


def _false(*args: Any, **kwargs: Any) -> bool:
    return False


def _zero(*args: Any, **kwargs: Any) -> int:
    return 0


class _Namespace:
    """A PyTorch submodule chainrule does not have: its listed members are stand-ins, and every
    other attribute raises an :class:`UnsupportedError` carrying ``message``."""

    def __init__(self, name: str, message: str, **members: Any) -> None:
        self.__dict__["_name"] = name
        self.__dict__["_message"] = message
        self.__dict__.update(members)

    def __getattr__(self, attr: str) -> Any:
        if attr[:2] == "__":
            raise AttributeError(attr)
        raise UnsupportedError(f"torch.{self._name}.{attr} is not supported: {self._message}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise UnsupportedError(f"torch.{self._name}(...) is not supported: {self._message}")

    def __repr__(self) -> str:
        return f"<chainrule stand-in for torch.{self._name}: {self._message}>"


cuda = _Namespace(
    "cuda", CPU_ONLY, is_available=_false, device_count=_zero, is_initialized=_false,
    manual_seed=_noop, manual_seed_all=_noop, seed=_noop, seed_all=_noop, synchronize=_noop,
    empty_cache=_noop)
mps = _Namespace("mps", CPU_ONLY, is_available=_false, device_count=_zero, manual_seed=_noop,
                 seed=_noop, synchronize=_noop, empty_cache=_noop)
accelerator = _Namespace(
    "accelerator", CPU_ONLY, is_available=_false, device_count=_zero,
    current_accelerator=lambda *a, **k: None, synchronize=_noop)
backends = _Namespace(
    "backends", CPU_ONLY,
    mps=_Namespace("backends.mps", CPU_ONLY, is_available=_false, is_built=_false),
    cuda=_Namespace("backends.cuda", CPU_ONLY, is_built=_false,
                    matmul=_Namespace("backends.cuda.matmul", CPU_ONLY, allow_tf32=False)),
    cudnn=_Namespace("backends.cudnn", CPU_ONLY, is_available=_false, enabled=False,
                     deterministic=False, benchmark=False, allow_tf32=False),
)


def set_default_device(dev: Any) -> None:
    """Accepted for ``"cpu"`` (the only device); anything else raises."""
    if dev is not None and device(dev).type != "cpu":
        raise UnsupportedError(f"set_default_device({dev!r}): {CPU_ONLY}")


def get_default_device() -> device:
    return device("cpu")


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """A no-op: chainrule is always deterministic (same program, same numbers)."""


def are_deterministic_algorithms_enabled() -> bool:
    return True


def is_tensor(obj: Any) -> bool:
    from .tensor_class import Tensor

    return isinstance(obj, Tensor)


def numel(x: Any) -> int:
    return x.numel()


def is_floating_point(x: Any) -> bool:
    return x.is_floating_point()


# ---------------------------------------------------------------------------------------------
# What is not supported, and what to use instead
# ---------------------------------------------------------------------------------------------

_NUMPY = "use NumPy on x.numpy() and wrap the result with cr.from_numpy (no gradient flows)"
_COMPOSE = "write it with the ops chainrule has (they give gradients): "


def _msgs(names: str, message: str) -> dict[str, str]:
    return {n: message for n in names.split()}


# Submodules of torch, as namespaces whose every attribute raises.
_NAMESPACES: dict[str, Any] = {
    "cuda": cuda, "mps": mps, "accelerator": accelerator, "backends": backends,
    "jit": _Namespace("jit", "chainrule runs Python eagerly and has no TorchScript; remove the "
                      "torch.jit call (decorators such as @torch.jit.script included)"),
    "fft": _Namespace("fft", "use numpy.fft on x.numpy() (no gradient)"),
    "multiprocessing": _Namespace("multiprocessing", "chainrule trains in one process; use "
                                  "Python's multiprocessing for data work"),
    "sparse": _Namespace("sparse", "chainrule has dense tensors only"),
    "amp": _Namespace("amp", "mixed precision is not supported; remove autocast/GradScaler "
                      "(chainrule computes in float32 or float64)"),
    "quantization": _Namespace("quantization", "quantization is not supported"),
    "ao": _Namespace("ao", "quantization is not supported"),
    "export": _Namespace("export", "export is not supported; save weights with cr.save"),
    "fx": _Namespace("fx", "graph tracing is not supported; inspect graphs with cr.graph"),
    "hub": _Namespace("hub", "pretrained models are not available; build the model and "
                      "load_state_dict(cr.load(path))"),
    "profiler": _Namespace("profiler", "use Python's cProfile or time.perf_counter"),
    "func": _Namespace("func", "use cr.autograd.grad and cr.autograd.functional (jacobian, "
                       "hessian, vjp, jvp, hvp)"),
    "compiler": _Namespace("compiler", "torch.compiler's controls are not supported; "
                           "cr.compile(fn) is chainrule's compiler"),
    "nested": _Namespace("nested", "nested (ragged) tensors are not supported; pad them"),
    "xpu": _Namespace("xpu", CPU_ONLY, is_available=_false, device_count=_zero),
}

# Functions and objects of torch chainrule does not have (also looked up for Tensor methods).
_FUNCTIONS: dict[str, str] = {
    "einsum": _COMPOSE + "matmul, permute/transpose and sum (einsum('ij,jk->ik', a, b) is "
              "a @ b, 'bij,bjk->bik' is a @ b as well, 'i,i->' is (a * b).sum())",
    "vmap": "use a Python loop, or cr.autograd.functional.jacobian for Jacobians",
    "bmm": "use a @ b (matmul handles batches of matrices)",
    "mv": "use a @ v",
    "outer": "use a.unsqueeze(1) * b.unsqueeze(0)",
    "addmm": _COMPOSE + "beta * c + alpha * (a @ b)",
    "baddbmm": _COMPOSE + "beta * c + alpha * (a @ b)",
    "trace": _COMPOSE + "(x * cr.eye(x.shape[0])).sum()",
    "norm": _COMPOSE + "x.pow(2).sum().sqrt() for the 2-norm, x.abs().sum() for the 1-norm; "
            "to clip gradients use cr.nn.utils.clip_grad_norm_",
    "cumsum": _NUMPY, "cumprod": _NUMPY, "cummax": _NUMPY, "cummin": _NUMPY, "diff": _NUMPY,
    "round": _NUMPY, "floor": _NUMPY, "ceil": _NUMPY, "trunc": _NUMPY, "frac": _NUMPY,
    "sort": _NUMPY + "; x.max(dim) and x.argmax(dim) give the top one",
    "argsort": _NUMPY + "; x.argmax(dim) gives the top one",
    "topk": _NUMPY + "; x.max(dim) and x.argmax(dim) give the top one",
    "kthvalue": _NUMPY, "median": _NUMPY, "mode": _NUMPY, "quantile": _NUMPY,
    "nanmean": _NUMPY, "nansum": _NUMPY, "unique": _NUMPY, "bincount": _NUMPY,
    "histc": _NUMPY, "searchsorted": _NUMPY, "bucketize": _NUMPY, "nonzero": _NUMPY,
    "argwhere": _NUMPY, "count_nonzero": "use (x != 0).sum()", "meshgrid": _NUMPY,
    "tril": "build a mask with NumPy (np.tril(np.ones((n, n)))) and multiply: "
            "x * cr.from_numpy(mask)",
    "triu": "build a mask with NumPy (np.triu(np.ones((n, n)))) and multiply: "
            "x * cr.from_numpy(mask)",
    "diag": "for a diagonal matrix write v.unsqueeze(1) * cr.eye(n); for the diagonal of x, "
            "(x * cr.eye(n)).sum(1)",
    "diag_embed": "write v.unsqueeze(-1) * cr.eye(n)",
    "index_select": "index with a tensor of indices: x[idx] (dim 0) or x[:, idx] (dim 1)",
    "masked_select": "index with the mask: x[mask]",
    "take": "index the flattened tensor: x.reshape(-1)[idx]",
    "scatter": "use x.index_put / x[idx] = values (under no_grad for leaves), or one_hot",
    "scatter_add": "use cr.zeros(...) and x[idx] += values, or one_hot(...) @ values",
    "repeat_interleave": "use x.unsqueeze(1).expand(-1, n).reshape(-1)",
    "tile": "use cr.cat([x] * n, dim)",
    "roll": "use cr.cat([x[-k:], x[:-k]])",
    "rot90": _NUMPY,
    "atan2": _NUMPY, "asin": _NUMPY, "acos": _NUMPY, "atan": _NUMPY, "asinh": _NUMPY,
    "acosh": _NUMPY, "atanh": _NUMPY, "lgamma": _NUMPY, "digamma": _NUMPY,
    "polygamma": _NUMPY, "i0": _NUMPY,
    "tan": _COMPOSE + "x.sin() / x.cos()",
    "sinh": _COMPOSE + "(x.exp() - (-x).exp()) / 2",
    "cosh": _COMPOSE + "(x.exp() + (-x).exp()) / 2",
    "log2": _COMPOSE + "x.log() / math.log(2)",
    "log10": _COMPOSE + "x.log() / math.log(10)",
    "reciprocal": _COMPOSE + "1 / x",
    "rsqrt": _COMPOSE + "1 / x.sqrt()",
    "hypot": _COMPOSE + "(a * a + b * b).sqrt()",
    "logaddexp": _COMPOSE + "cr.logsumexp(cr.stack([a, b]), dim=0)",
    "clamp_min": "use x.clamp(min=value)", "clamp_max": "use x.clamp(max=value)",
    "lerp": _COMPOSE + "a + w * (b - a)",
    "cross": _NUMPY, "kron": _NUMPY, "cdist": _COMPOSE + "((a.unsqueeze(1) - b.unsqueeze(0))"
                                                         " ** 2).sum(-1).sqrt()",
    "det": "use numpy.linalg.det on x.numpy() (no gradient)",
    "logdet": "use numpy.linalg.slogdet on x.numpy() (no gradient)",
    "slogdet": "use numpy.linalg.slogdet on x.numpy() (no gradient)",
    "inverse": "use numpy.linalg.inv on x.numpy() (no gradient)",
    "pinverse": "use numpy.linalg.pinv on x.numpy() (no gradient)",
    "svd": "use numpy.linalg.svd on x.numpy() (no gradient)",
    "qr": "use numpy.linalg.qr on x.numpy() (no gradient)",
    "cholesky": "use numpy.linalg.cholesky on x.numpy() (no gradient)",
    "matrix_power": _COMPOSE + "repeated @",
    "matrix_exp": "use scipy.linalg.expm on x.numpy() (no gradient)",
    "chain_matmul": "use a @ b @ c",
    "conj": "complex numbers are not supported",
    "view_as_complex": "complex numbers are not supported",
    "view_as_real": "complex numbers are not supported",
    "complex": "complex numbers are not supported",
    "complex64": "complex numbers are not supported",
    "complex128": "complex numbers are not supported",
    "cfloat": "complex numbers are not supported", "cdouble": "complex numbers are not supported",
    "bfloat16": "bfloat16 is not supported; use cr.float32 (or cr.float16 for storage)",
    "autocast": "mixed precision is not supported; remove autocast (chainrule computes in "
                "float32 or float64)",
    "sparse_coo_tensor": "chainrule has dense tensors only",
    "FloatTensor": "use cr.tensor(data, dtype=cr.float32) or cr.zeros(*shape)",
    "DoubleTensor": "use cr.tensor(data, dtype=cr.float64)",
    "LongTensor": "use cr.tensor(data, dtype=cr.long)",
    "IntTensor": "use cr.tensor(data, dtype=cr.int32)",
    "BoolTensor": "use cr.tensor(data, dtype=cr.bool)",
    "ByteTensor": "use cr.tensor(data, dtype=cr.uint8)",
    "set_printoptions": "tensors print through NumPy: use numpy.set_printoptions",
    "get_rng_state": "use cr.default_generator.get_state()",
    "set_rng_state": "use cr.default_generator.set_state(state)",
    "set_num_threads": "chainrule's threads are NumPy's BLAS threads: set OMP_NUM_THREADS (or "
                       "OPENBLAS_NUM_THREADS) before Python starts",
    "get_num_threads": "chainrule's threads are NumPy's BLAS threads (OMP_NUM_THREADS)",
}

# Tensor methods (besides the functions above) chainrule does not have.
_TENSOR_METHODS: dict[str, str] = {
    "cuda": CPU_ONLY, "mps": CPU_ONLY, "xpu": CPU_ONLY,
    "pin_memory": "pinned memory is for GPU transfers; chainrule runs on the CPU: remove it",
    "share_memory_": "chainrule trains in one process; shared memory is not supported",
    "to_sparse": "chainrule has dense tensors only", "to_dense": "chainrule tensors are dense",
    "storage": "use x.numpy() (the array that holds the values)",
    "untyped_storage": "use x.numpy() (the array that holds the values)",
    "data_ptr": "use x.numpy().ctypes.data",
    "bfloat16": _FUNCTIONS["bfloat16"],
    "apply_": _NUMPY, "map_": _NUMPY,
    "repeat": "use x.expand(...) (no copy) or cr.cat([x] * n, dim)",
    "unfold": _NUMPY, "masked_scatter": _NUMPY,
    "index_fill": "use x.masked_fill(mask, value)",
    "index_copy": "use x[idx] = values (under no_grad for leaves)",
    "put_": "use x.reshape(-1)[idx] = values (under no_grad for leaves)",
    "sum_to_size": "use cr.sum_to(x, shape)",
}
_NOT_METHODS = set(
    "compile einsum vmap chain_matmul meshgrid complex complex64 complex128 cfloat cdouble "
    "view_as_complex sparse_coo_tensor autocast FloatTensor DoubleTensor LongTensor IntTensor "
    "BoolTensor ByteTensor set_printoptions get_rng_state set_rng_state set_num_threads "
    "get_num_threads".split())
_TENSOR_METHODS.update((k, v) for k, v in _FUNCTIONS.items() if k not in _NOT_METHODS)


def _close(name: str, candidates: Iterable[str]) -> str:
    from .suggest import close_names

    close = close_names(name, candidates)
    return f"; did you mean {', '.join(close)}?" if close else ""


# chainrule modules whose PyTorch name is not torch + the rest of their name.
_TORCH_PATH = {"torch.data": "torch.utils.data", "torch.data.dataloader":
               "torch.utils.data.dataloader", "torch.data.dataset": "torch.utils.data.dataset",
               "torch.data.sampler": "torch.utils.data.sampler"}


def attribute_hook(module: str) -> Any:
    """A module ``__getattr__`` for ``module``: PyTorch names it lacks raise as
    :func:`module_missing` says (``__getattr__ = attribute_hook(__name__)``)."""
    import sys

    def __getattr__(name: str) -> Any:
        mod = sys.modules[module]
        res = module_missing(name, getattr(mod, "__all__", None) or dir(mod), module=module)
        if isinstance(res, BaseException):
            raise res
        return res

    return __getattr__


class UnsupportedImportError(ImportError, NotImplementedError):
    """``from torch... import name`` (or ``import torch.X``) for what chainrule lacks."""


def module_missing(name: str, candidates: Iterable[str], module: str = "chainrule") -> Any:
    """What ``module.name`` gives when chainrule lacks it: a namespace stand-in or the error
    (an :class:`UnsupportedImportError` when read by a ``from ... import`` statement)."""
    res = _module_missing(name, candidates, module)
    if isinstance(res, UnsupportedError):
        from .suggest import in_import_from

        if in_import_from():
            return UnsupportedImportError(f"cannot import name {name!r}: {res}", name=module)
    return res


def _module_missing(name: str, candidates: Iterable[str], module: str) -> Any:
    if name[:2] == "__":
        return AttributeError(f"module {module!r} has no attribute {name!r}")
    top = module == "chainrule"
    if top and name in _NAMESPACES:
        return _NAMESPACES[name]
    prefix = "torch" if top else "torch." + module.split(".", 1)[-1]
    prefix = _TORCH_PATH.get(prefix, prefix)
    if top and name in _FUNCTIONS:
        return UnsupportedError(f"{prefix}.{name} is not supported: {_FUNCTIONS[name]}")
    from .suggest import RELATED, close_names

    if name in RELATED:
        near = close_names(name, candidates)
        use = f"; the nearest chainrule has: {', '.join(near)}" if near else ""
        return UnsupportedError(f"{prefix}.{name} is a PyTorch API chainrule does not "
                                f"implement{use}")
    return UnsupportedError(
        f"module {module!r} has no attribute {name!r} (if {prefix}.{name} is a PyTorch name, "
        f"chainrule does not implement it){_close(name, candidates)}"
    )


class _Unsupported:
    """A Tensor class attribute for a PyTorch method chainrule lacks: reading it raises."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        raise UnsupportedError(self.message)


# In-place variants PyTorch has of functions chainrule has out of place.
_INPLACE = ("sin cos tanh sigmoid log log1p abs square sign clip masked_fill t transpose "
            "squeeze unsqueeze lt le gt ge eq ne logical_not logical_and logical_or maximum "
            "minimum softmax log_softmax where").split()

_stubs: set[str] = set()


def tensor_message(cls: type, name: str) -> str | None:
    """The message for ``x.name`` when ``name`` is a PyTorch method chainrule lacks."""
    msg = _TENSOR_METHODS.get(name)
    inplace = name.endswith("_") and (name[:-1] in _INPLACE or hasattr(cls, name[:-1]))
    if msg is None and name in _torch_tensor_methods() and not inplace:
        from .suggest import close_names

        near = close_names(name, [n for n in dir(cls) if n not in _stubs])
        use = f"; the nearest chainrule has: {', '.join(near)}" if near else ""
        return f"Tensor.{name} is a PyTorch method chainrule does not implement{use}"
    if msg is not None:
        if name in ("cuda", "mps", "xpu"):
            return f"x.{name}() is not supported: {msg}"
        return f"Tensor.{name} is not supported: {msg}"
    if inplace and (name[:-1] in _INPLACE or name in _torch_tensor_methods()):
        base = name[:-1]
        return (f"Tensor.{name} (in place) is not supported: use the out-of-place "
                f"x = x.{base}(...) (for a weight: `with cr.no_grad(): w.copy_(w.{base}(...))`)")
    return None


def _torch_tensor_methods() -> frozenset[str]:
    from .torch_names import TENSOR_METHODS

    return TENSOR_METHODS


def install_tensor_stubs(cls: type) -> None:
    """Give ``cls`` a raising attribute for every PyTorch method in the tables it lacks, and a
    ``__dir__`` that hides them (so that name suggestions only offer what works)."""
    names = [*_TENSOR_METHODS, *(n + "_" for n in _INPLACE), *sorted(_torch_tensor_methods())]
    for name in names:
        if name in _stubs or any(name in vars(k) for k in cls.__mro__):
            continue
        msg = tensor_message(cls, name)
        if msg is not None:
            setattr(cls, name, _Unsupported(msg))
            _stubs.add(name)

    def __dir__(self: Any) -> list[str]:
        return [n for n in object.__dir__(self) if n not in _stubs]

    cls.__dir__ = __dir__  # type: ignore[method-assign,assignment]
