"""Every module of chainrule imports on its own, in a fresh interpreter: no hidden import order."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import chainrule

# NOTE: optional extras (mpi4py, onnx, matplotlib...) are imported only when used, so every
# module imports even without them; one that needs an extra at import time would fail here.
# The __main__ modules are left out: importing one runs the command line (``python -m``).
MODULES = sorted(m.name for m in pkgutil.walk_packages(chainrule.__path__, "chainrule.")
                 if not m.name.endswith(".__main__"))


def test_every_module_is_listed():
    assert "chainrule.core.graph" in MODULES and "chainrule.core.tensor_class" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_module_imports_alone(name: str) -> None:
    code = (f"import importlib; m = importlib.import_module({name!r}); "
            "import chainrule.core.graph as g, chainrule.core.tensor_class as tc; "
            "assert g.Tensor is tc.Tensor and g._make is tc._make; "
            "assert hasattr(tc.Tensor, 'backward') and hasattr(tc.Tensor, 'sum')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, f"import {name} on its own failed:\n{r.stderr[-3000:]}"
