"""PyTorch teaching programs run unchanged with chainrule and print PyTorch's numbers.

Each program (see torch_programs.py) is executed twice: with ``import torch`` importing
chainrule (always), and with the real PyTorch (when it is installed). Both start from the same
NumPy values; the printed text must match word for word and the printed numbers to about 1e-6
relative in float32, and to 1e-12 in float64 (the same programs with the default dtype and
``dtype = torch.float`` switched to float64).
"""

import functools
import math

import pytest
import torch_programs as P

FLOAT64 = ["tensors", "autograd", "custom_function", "nn", "custom_module"]
CASES = [(name, "float32") for name in P.PROGRAMS] + [(name, "float64") for name in FLOAT64]
TOL = {"float32": (5e-6, 1e-6), "float64": (1e-12, 1e-12)}  # (rtol, atol)


@functools.lru_cache(maxsize=None)
def run_chainrule(name, dtype):
    return P.run(name, "chainrule", dtype)


def losses(text):
    """The loss printed on each line that starts with an iteration number."""
    out = []
    for line in text.splitlines():
        nums = P.numbers(line)
        if len(nums) == 2 and line.split()[0].isdigit():
            out.append(nums[1])
    return out


@pytest.mark.parametrize("name,dtype", CASES)
def test_program_runs_with_chainrule(name, dtype):
    text = run_chainrule(name, dtype)
    assert "Traceback" not in text
    if name == "mlp_classifier":
        assert "restored model agrees: True" in text
        acc = float(text.split("test accuracy ")[-1].split("%")[0])
        assert acc > 80
        return
    ls = losses(text)
    assert len(ls) >= 10 and all(math.isfinite(v) for v in ls)
    assert ls[-1] < ls[0]  # it learns
    assert text.splitlines()[-1].startswith("Result: y = ")


def assert_same_output(ours, theirs, rtol, atol, tight_lines=None):
    assert P.words(ours) == P.words(theirs), f"chainrule printed\n{ours}\nPyTorch printed\n{theirs}"
    lines = list(zip(ours.splitlines(), theirs.splitlines()))
    for i, (a_line, b_line) in enumerate(lines):
        r = rtol if tight_lines is None or i < tight_lines else 1e-2
        for a, b in zip(P.numbers(a_line), P.numbers(b_line)):
            assert abs(a - b) <= atol + r * abs(b), (
                f"line {i}: chainrule printed {a_line!r}, PyTorch printed {b_line!r}")


@pytest.mark.parametrize("name,dtype", CASES)
def test_program_prints_what_pytorch_prints(name, dtype):
    pytest.importorskip("torch")
    ours = run_chainrule(name, dtype)
    theirs = P.run(name, "torch", dtype)
    rtol, atol = TOL[dtype]
    # NOTE: RMSprop's steps have size lr whatever the gradient's size, so once a weight's
    # gradient hovers around zero (a and c do, after ~500 steps) the sign of rounding noise
    # decides each step: the run is chaotic from there, in PyTorch against itself as well.
    # The first printed losses must agree tightly, the later ones to 1%.
    tight = 5 if name == "optim" else None
    assert_same_output(ours, theirs, rtol, atol, tight)


def test_alias_is_undone():
    import sys

    before = {k: v for k, v in sys.modules.items() if k == "torch" or k.startswith("torch.")}
    with P.chainrule_as_torch() as mod:
        import torch

        assert torch is mod
        from torch.utils.data import DataLoader

        import chainrule

        assert DataLoader is chainrule.data.DataLoader
    after = {k: v for k, v in sys.modules.items() if k == "torch" or k.startswith("torch.")}
    assert after == before
