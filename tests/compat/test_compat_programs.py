"""PyTorch programs in the styles of published ones (tests/compat/programs/*.py), run as they
are with ``chainrule run`` and, where PyTorch is installed, with ``python``: both must print the
same text and the same numbers (to float32 rounding; each program sets its initial weights
from NumPy, so both start from the same numbers).

A program that uses names other work is adding lists them on a ``# needs:`` line; while
chainrule lacks one, the program is skipped with a reason naming it.
"""

import functools
import importlib.util
import pathlib
import re
import subprocess
import sys

import pytest
import torch_programs as P

HERE = pathlib.Path(__file__).parent / "programs"
PROGRAMS = sorted(p.stem for p in HERE.glob("*.py"))
RTOL, ATOL = 2e-4, 2e-5


def needs(name):
    for line in (HERE / f"{name}.py").read_text().splitlines():
        if line.startswith("# needs:"):
            return [n.strip() for n in line[len("# needs:"):].split(",") if n.strip()]
    return []


def missing(names):
    """The names chainrule lacks (``torch.X.Y`` or ``Tensor.method``)."""
    import chainrule as cr
    from chainrule.alias import resolve

    out = []
    for full in names:
        try:
            if full.startswith("Tensor."):
                getattr(cr.ones(2, 2), full.split(".", 1)[1])
                continue
            parts = full.split(".")
            for cut in range(len(parts), 0, -1):  # the longest importable module prefix
                try:
                    obj = resolve(".".join(parts[:cut]))
                    break
                except ImportError:
                    if cut == 1:
                        raise
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except (NotImplementedError, ImportError, AttributeError):
            out.append(full)
    return out


@functools.lru_cache(maxsize=None)
def run(name, lib, tmp):
    cmd = ([sys.executable, "-m", "chainrule", "run"] if lib == "chainrule"
           else [sys.executable]) + [str(HERE / f"{name}.py")]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp, timeout=120)
    assert r.returncode == 0, f"{name} failed with {lib}:\n{r.stderr[-3000:]}"
    return r.stdout


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_runs_on_chainrule_and_prints_what_pytorch_prints(name, tmp_path):
    lacking = missing(needs(name))
    if lacking:
        pytest.skip(f"needs {', '.join(lacking)} (not in chainrule yet)")
    ours = run(name, "chainrule", str(tmp_path))
    assert ours.strip(), f"{name} printed nothing"
    if importlib.util.find_spec("torch") is None:
        return
    theirs = run(name, "torch", str(tmp_path))
    assert P.words(ours) == P.words(theirs), (
        f"chainrule printed\n{ours}\nPyTorch printed\n{theirs}")
    for i, (a_line, b_line) in enumerate(zip(ours.splitlines(), theirs.splitlines())):
        for a, b in zip(P.numbers(a_line), P.numbers(b_line)):
            assert abs(a - b) <= ATOL + RTOL * abs(b), (
                f"{name} line {i}: chainrule printed {a_line!r}, PyTorch printed {b_line!r}")


def test_there_are_at_least_thirty_programs():
    assert len(PROGRAMS) >= 30
    assert all(re.fullmatch(r"[a-z0-9_]+", p) for p in PROGRAMS)
