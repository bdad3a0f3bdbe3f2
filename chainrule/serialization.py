"""Checkpoints: ``save(obj, path)`` and ``load(path)`` in the safetensors format, without pickle.

``obj`` is a nested structure of dicts, lists and tuples holding tensors, NumPy arrays, ints,
floats, bools, None and strings, such as ``{"model": model.state_dict(), "optimizer":
optimizer.state_dict(), "epoch": 5, "rng": generator.get_state()}``.

The file is a plain safetensors file. Every tensor and array is an entry of its tensor table,
named by its path in ``obj`` (``model/fc.weight``); everything else lives in the header
metadata as JSON that keeps Python's types exactly (int and str dict keys, tuples, floats,
integers of any size). Loading parses that JSON with ``json`` and the table with
``safetensors``: nothing in a file can run code. A SHA-256 over the structure and the tensor
bytes is checked on load, and saving is atomic (temporary file, fsync, ``os.replace``).

>>> import os, tempfile
>>> import chainrule as cr
>>> path = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
>>> save({"w": cr.tensor([1.0, 2.0]), "epoch": 5, "betas": (0.9, 0.999), 0: None}, path)
>>> load(path)
{'w': tensor([1., 2.]), 'epoch': 5, 'betas': (0.9, 0.999), 0: None}
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import math
import os
import secrets
from typing import Any, BinaryIO, Iterator, Union

from . import pickled as _pickled
from .backend import generic, ndarray, xp
from .core.creation import from_numpy
from .core.dtypes import dtype_name
from .core.tensor import Tensor
from .pickled import add_safe_globals, clear_safe_globals, get_safe_globals, safe_globals

__all__ = ["CheckpointError", "atomic_path", "save", "load", "add_safe_globals",
           "get_safe_globals", "clear_safe_globals", "safe_globals"]

PathLike = Union[str, "os.PathLike[str]"]

FORMAT = "chainrule"
VERSION = "1"
_INSTALL_HINT = 'pip install "chainrule[all]" (or: pip install safetensors)'
_META_FORMAT, _META_VERSION = "format", "chainrule.version"
_META_STRUCTURE, _META_SHA256 = "chainrule.structure", "chainrule.sha256"
# NOTE: ints beyond 2**53 lose precision in most JSON readers (JavaScript, serde's f64), so
# larger ones (PCG64 states are 128-bit) are stored as hex strings with a type tag.
_JSON_SAFE_INT = 2 ** 53


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupted or not a chainrule checkpoint."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """The checkpoint file does not exist (also a ``FileNotFoundError``)."""


def _safetensors() -> Any:
    try:
        import safetensors.numpy as stnp
    except ImportError as e:
        raise ImportError(f"chainrule checkpoints need the safetensors package: "
                          f"{_INSTALL_HINT}") from e
    return stnp


# -- encoding -----------------------------------------------------------------------------------


class _Encoder:
    """Turns ``obj`` into a JSON-able tree of tagged nodes plus a table of named arrays."""

    def __init__(self) -> None:
        self.arrays: dict[str, ndarray] = {}
        self.by_id: dict[int, tuple[str, Any]] = {}  # same object saved twice -> one entry
        self.active: set[int] = set()

    def key_for(self, path: list[str]) -> str:
        base = "/".join(path) or "root"
        key, n = base, 1
        while key in self.arrays or key == "__metadata__":
            n += 1
            key = f"{base}~{n}"
        return key

    def array(self, kind: str, obj: Any, arr: ndarray, path: list[str]) -> dict:
        hit = self.by_id.get(id(obj))
        if hit is not None and hit[1] is obj:
            key = hit[0]
        else:
            if arr.dtype.byteorder == ">":
                arr = arr.astype(arr.dtype.newbyteorder("<"))
            key = self.key_for(path)
            self.arrays[key] = _contiguous(arr)
            self.by_id[id(obj)] = (key, obj)
        node: dict[str, Any] = {"t": kind, "key": key}
        if kind == "tensor" and obj.requires_grad:
            node["requires_grad"] = True
        return node

    def encode(self, obj: Any, path: list[str]) -> Any:
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, generic):  # before int/float: np.float64 is a float subclass
            return self.array("npscalar", obj, xp.asarray(obj), path)
        if isinstance(obj, int):
            if -_JSON_SAFE_INT < obj < _JSON_SAFE_INT:
                return int(obj)
            return {"t": "int", "hex": hex(obj)}
        if isinstance(obj, float):
            if math.isfinite(obj):
                return float(obj)
            return {"t": "float", "v": repr(float(obj))}  # 'nan', 'inf', '-inf'
        if isinstance(obj, Tensor):
            return self.array("tensor", obj, obj.detach().numpy(), path)
        if isinstance(obj, ndarray):
            return self.array("ndarray", obj, obj, path)
        if isinstance(obj, (dict, list, tuple)):
            if id(obj) in self.active:
                raise ValueError(f"save: the object at {_where(path)} contains itself; "
                                 "checkpoints cannot hold cycles")
            self.active.add(id(obj))
            try:
                return self.container(obj, path)
            finally:
                self.active.discard(id(obj))
        raise TypeError(
            f"save: cannot store a {type(obj).__name__} at {_where(path)}. Checkpoints hold "
            "tensors, NumPy arrays, ints, floats, bools, None, strings and dicts/lists/tuples of "
            "them (no pickle): convert it to one of those (state_dict(), tolist(), str())."
        )

    def container(self, obj: Any, path: list[str]) -> Any:
        if isinstance(obj, list):
            return [self.encode(v, path + [str(i)]) for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"t": "tuple", "v": [self.encode(v, path + [str(i)]) for i, v in
                                        enumerate(obj)]}
        node: dict[str, Any] = {"t": "dict"}
        if isinstance(obj, collections.OrderedDict):
            node["ordered"] = True
        if all(type(k) is str for k in obj):
            node["v"] = {k: self.encode(v, path + [k]) for k, v in obj.items()}
        else:
            node["items"] = [[self.key(k, path), self.encode(v, path + [str(k)])]
                             for k, v in obj.items()]
        return node

    def key(self, k: Any, path: list[str]) -> Any:
        if k is None or isinstance(k, (bool, int, float, str)) or (
                isinstance(k, tuple) and all(k2 is None or isinstance(k2, (bool, int, float, str))
                                             for k2 in k)):
            return self.encode(k, path + ["<key>"])
        raise TypeError(f"save: dict key {k!r:.60} ({type(k).__name__}) at {_where(path)} "
                        "cannot be stored; keys must be str, int, float, bool, None or tuples "
                        "of those")


def _contiguous(a: ndarray) -> ndarray:
    # NOTE: not xp.ascontiguousarray, which turns a 0-d array into shape (1,).
    return a if a.flags.c_contiguous else a.copy(order="C")


def _where(path: list[str]) -> str:
    return "obj" + "".join(f"[{p!r}]" for p in path)


def _digest(structure: str, arrays: dict[str, ndarray]) -> str:
    """SHA-256 over the structure JSON and every array's name, dtype, shape and bytes."""
    h = hashlib.sha256()
    h.update(structure.encode("utf-8"))
    for key in sorted(arrays):
        a = arrays[key]
        h.update(json.dumps([key, a.dtype.str, list(a.shape)]).encode("utf-8"))
        h.update(_contiguous(a).reshape(-1).view(xp.uint8).data)
    return h.hexdigest()


def _serialize(obj: Any) -> bytes:
    stnp = _safetensors()
    enc = _Encoder()
    tree = enc.encode(obj, [])
    structure = json.dumps(tree, allow_nan=False, separators=(",", ":"))
    metadata = {_META_FORMAT: FORMAT, _META_VERSION: VERSION, _META_STRUCTURE: structure,
                _META_SHA256: _digest(structure, enc.arrays)}
    try:
        return stnp.save(enc.arrays, metadata=metadata)
    except Exception as e:  # safetensors' own error type (e.g. an unsupported dtype)
        raise TypeError(f"save: safetensors cannot store these arrays: {e}") from e


# -- writing ------------------------------------------------------------------------------------


def _write_bytes(f: BinaryIO, data: bytes) -> None:
    """Write ``data`` to ``f`` in chunks (a seam for tests that simulate a failing disk)."""
    view = memoryview(data)
    chunk = 1 << 20
    for start in range(0, len(view), chunk):
        f.write(view[start:start + chunk])


def _create_temp(target: str) -> tuple[int, str]:
    """A new file beside ``target`` (same directory, so ``os.replace`` is a rename), with the
    same suffix (writers that pick the format from the name, like ``savefig``, still can)."""
    directory, base = os.path.split(os.path.abspath(target))
    suffix = os.path.splitext(base)[1]
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp{suffix}")
        try:
            # NOTE: mode 0o666 lets the umask decide, as for any new file (mkstemp gives 0o600).
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[str]:
    """Write a file atomically: the body writes the temporary path this yields, then it is
    flushed to disk and renamed over ``path``. A crash or an error (a full disk, an interrupt)
    leaves either the old file or the new one, never a mix, and no temporary file behind.
    Replacing a file keeps its permissions.

    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> with atomic_path(target) as tmp:
    ...     with open(tmp, "w") as f:
    ...         _ = f.write("hello")
    >>> open(target).read(), os.listdir(os.path.dirname(target))
    ('hello', ['notes.txt'])
    """
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    try:
        old_mode: int | None = os.stat(target).st_mode & 0o777
    except OSError:
        old_mode = None
    fd, tmp = _create_temp(target)
    try:
        os.close(fd)
        yield tmp
        fd = os.open(tmp, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if old_mode is not None:  # replacing a file: keep its permissions
            os.chmod(tmp, old_mode)
        os.replace(tmp, target)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError) and e.errno is not None and e.filename in (tmp, None):
            raise OSError(e.errno, e.strerror, target) from e  # name the file, not the temp
        raise
    try:  # make the rename itself durable (POSIX; not possible on Windows)
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def save(obj: Any, path: PathLike | BinaryIO) -> None:
    """Write ``obj`` (nested dicts/lists/tuples of tensors, arrays and plain values) to ``path``.

    Any other object (a whole model) is pickled, its tensors kept apart as safetensors: see
    :mod:`chainrule.pickled` for how :func:`load` reads it safely.

    The write is atomic (:func:`atomic_path`): a crash leaves either the old file or the new
    one, never a mix, and no temporary file behind. ``path`` may also be a binary file object
    (written in place).
    """
    data = _pickled.dumps(obj) if _pickled.needs_pickle(obj) else _serialize(obj)
    if hasattr(path, "write"):
        _write_bytes(path, data)  # type: ignore[arg-type]
        return
    with atomic_path(path) as tmp:  # type: ignore[arg-type]
        with open(tmp, "wb") as f:
            _write_bytes(f, data)


# -- reading ------------------------------------------------------------------------------------


class _Decoder:
    def __init__(self, arrays: dict[str, ndarray], name: str) -> None:
        self.arrays = arrays
        self.name = name
        self.loaded: dict[tuple[str, str], Any] = {}

    def fail(self, what: str) -> CheckpointError:
        return CheckpointError(f"{self.name}: malformed checkpoint structure ({what})")

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict):
            raise self.fail(f"unexpected JSON value {node!r:.60}")
        t = node.get("t")
        if t == "dict":
            cls: Any = collections.OrderedDict if node.get("ordered") else dict
            if "v" in node and isinstance(node["v"], dict):
                return cls((k, self.decode(v)) for k, v in node["v"].items())
            items = node.get("items")
            if not isinstance(items, list) or not all(
                    isinstance(kv, list) and len(kv) == 2 for kv in items):
                raise self.fail("a dict without items")
            out = cls()
            for k, v in items:
                key = self.decode(k)
                try:
                    out[key] = self.decode(v)
                except TypeError:
                    raise self.fail(f"unhashable dict key {key!r:.60}") from None
            return out
        if t == "tuple" and isinstance(node.get("v"), list):
            return tuple(self.decode(v) for v in node["v"])
        if t == "int" and isinstance(node.get("hex"), str):
            try:
                return int(node["hex"], 16)
            except ValueError:
                raise self.fail(f"bad integer {node['hex']!r:.60}") from None
        if t == "float" and node.get("v") in ("nan", "inf", "-inf"):
            return float(node["v"])
        if t in ("tensor", "ndarray", "npscalar"):
            return self.array(t, node)
        raise self.fail(f"unknown node {node!r:.80}")

    def array(self, kind: str, node: dict) -> Any:
        key = node.get("key")
        if not isinstance(key, str) or key not in self.arrays:
            raise self.fail(f"{kind} {key!r:.60} is not in the tensor table")
        memo = (kind, key)
        if memo in self.loaded:  # the same object saved twice comes back as one object
            return self.loaded[memo]
        arr = self.arrays[key]
        if kind == "tensor":
            if arr.dtype.kind not in "fiub":
                raise self.fail(f"tensor {key!r} has unsupported dtype {arr.dtype}")
            out: Any = from_numpy(arr)
            if node.get("requires_grad"):
                if arr.dtype.kind != "f":
                    raise self.fail(f"tensor {key!r} of dtype {dtype_name(arr.dtype)} cannot "
                                    "require grad")
                out.requires_grad_(True)
        elif kind == "ndarray":
            out = arr
        else:
            out = arr[()]
        self.loaded[memo] = out
        return out


def _read(path: PathLike | BinaryIO) -> tuple[bytes, str]:
    if hasattr(path, "read"):
        return path.read(), repr(getattr(path, "name", path))  # type: ignore[union-attr]
    name = os.fspath(path)  # type: ignore[arg-type]
    try:
        with open(name, "rb") as f:
            return f.read(), repr(name)
    except FileNotFoundError:
        raise CheckpointNotFoundError(f"checkpoint file {name!r} does not exist") from None
    except IsADirectoryError:
        raise CheckpointError(f"checkpoint path {name!r} is a directory, not a file") from None


def _parse_header(data: bytes, name: str) -> dict:
    not_st = f"{name} is not a safetensors checkpoint"
    if len(data) < 8:
        raise CheckpointError(f"{not_st}: it is only {len(data)} bytes long"
                              + (" (empty file)" if not data else ""))
    n = int.from_bytes(data[:8], "little")
    if data[8:9] != b"{":
        raise CheckpointError(f"{not_st}: it does not start with a safetensors header")
    if 8 + n > len(data):
        raise CheckpointError(f"{name} is truncated: its header declares {n} bytes but the file "
                              f"has {len(data)} bytes in all")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CheckpointError(f"{name} is corrupted: its safetensors header is not valid "
                              "JSON") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{name} is corrupted: its safetensors header is not a JSON object")
    ends = [v.get("data_offsets", [0, 0])[1] for k, v in header.items()
            if k != "__metadata__" and isinstance(v, dict) and isinstance(
                v.get("data_offsets"), list) and len(v["data_offsets"]) == 2]
    size = len(data) - 8 - n
    if ends and all(isinstance(e, int) for e in ends) and max(ends) > size:
        raise CheckpointError(f"{name} is truncated: the tensor data needs {max(ends)} bytes, "
                              f"the file holds {size}")
    return header


def load(path: PathLike | BinaryIO, map_location: Any = None, pickle_module: Any = None, *,
         weights_only: bool | None = None, mmap: Any = None, **pickle_load_args: Any) -> Any:
    """Read a checkpoint written by :func:`save`; tensors come back as chainrule Tensors.

    A plain safetensors file (from another tool) loads as a dict of tensors by name. A whole
    object (``save(model, f)``) loads with ``weights_only=True`` (the default) only if its
    classes are allow-listed (see :mod:`chainrule.pickled`), or with ``weights_only=False``.
    ``map_location`` is accepted for PyTorch habits and ignored: everything loads on the CPU.
    Any problem with the file (missing, truncated, corrupted, not a checkpoint) raises
    :class:`CheckpointError` naming the file and what is wrong.
    """
    if map_location not in (None, "cpu") and not callable(map_location) and not (
            isinstance(map_location, str) and map_location.startswith("cpu")) and not (
            isinstance(map_location, dict) and all(str(v) == "cpu"
                                                   for v in map_location.values())):
        raise ValueError(f"load: map_location={map_location!r} is not supported; chainrule "
                         "runs on the CPU (use map_location='cpu' or leave it out)")
    stnp = _safetensors()
    data, name = _read(path)
    if _pickled.is_pickled(data) or data[:2] == b"PK":  # a whole object, or PyTorch's zip
        return _pickled.load_other(data, name, weights_only)
    header = _parse_header(data, name)
    try:
        arrays = stnp.load(data)
    except Exception as e:  # safetensors raises its own SafetensorError
        raise CheckpointError(f"{name} is corrupted: safetensors cannot read it ({e})") from None
    arrays = {k: (a if a.flags.writeable else a.copy()) for k, a in arrays.items()}
    meta = header.get("__metadata__")
    meta = meta if isinstance(meta, dict) else {}
    # NOTE: any one of our keys marks the file as ours, so a damaged key name is reported as
    # corruption instead of the file silently loading as a plain table of tensors.
    if meta.get(_META_FORMAT) != FORMAT and not any(
            k in meta for k in (_META_VERSION, _META_STRUCTURE, _META_SHA256)):
        return {k: from_numpy(a) for k, a in arrays.items()}  # a plain safetensors file
    if meta.get(_META_FORMAT) != FORMAT:
        raise CheckpointError(f"{name} is corrupted: its checkpoint metadata is damaged")
    if meta.get(_META_VERSION) != VERSION:
        raise CheckpointError(f"{name} has chainrule checkpoint version "
                              f"{meta.get(_META_VERSION)!r}; this chainrule reads version "
                              f"{VERSION}. Upgrade chainrule to load it.")
    structure, digest = meta.get(_META_STRUCTURE), meta.get(_META_SHA256)
    if not isinstance(structure, str) or not isinstance(digest, str):
        raise CheckpointError(f"{name} is corrupted: its checkpoint metadata is incomplete")
    if _digest(structure, arrays) != digest:
        raise CheckpointError(f"{name} is corrupted: its SHA-256 checksum does not match the "
                              "contents (damaged on disk or in transfer)")
    try:
        tree = json.loads(structure)
    except (ValueError, RecursionError):
        raise CheckpointError(f"{name} is corrupted: its structure is not valid JSON") from None
    try:
        return _Decoder(arrays, name).decode(tree)
    except RecursionError:
        raise CheckpointError(f"{name}: malformed checkpoint structure (nested too deeply)"
                              ) from None

