"""ONNX export: ``cr.onnx.export(model, args, "model.onnx")``, PyTorch's ``torch.onnx.export``.

The exporter walks the graph an eager forward pass records (the nodes ``backward()`` and
``cr.viz`` walk) and converts each primitive with a table of converters, one module per
family (``ops_basic.py``, ``ops_nn.py``). ``onnx`` (and, to run the result, ``onnxruntime``)
come with the ``onnx`` extra: ``pip install "chainrule[onnx]"``; they are imported only when
an export runs.

>>> import chainrule as cr
>>> {"add", "matmul", "conv2d", "recurrent_layer"} <= cr.onnx.converters()
True
"""

from __future__ import annotations

from .export import DEFAULT_OPSET, TrainingMode, export, is_in_onnx_export
from .trace import OnnxExporterError, UnsupportedOperatorError

__all__ = ["export", "converters", "TrainingMode", "OnnxExporterError",
           "UnsupportedOperatorError", "is_in_onnx_export", "DEFAULT_OPSET"]


def converters() -> frozenset[str]:
    """The names of the ops (primitives, as ``node.name``) that have an ONNX converter.

    ``{cls.name for cls in core.primitives.PRIMITIVES} - converters()`` lists the primitives an
    export cannot handle yet (each raises :class:`UnsupportedOperatorError` naming it).
    """
    from .builder import CONVERTERS

    return frozenset(CONVERTERS)


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    """A torch.onnx name chainrule lacks: NotImplementedError naming it."""
    from ..core.compat import module_missing

    res = module_missing(name, __all__, module="chainrule.onnx")
    if isinstance(res, BaseException):
        raise res
    return res
