"""``chainrule run script.py`` and ``chainrule.as_torch()``: PyTorch programs import unchanged."""

import subprocess
import sys
import textwrap

import pytest

import chainrule


def run(tmp_path, source, *args):
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(source))
    return subprocess.run([sys.executable, "-m", "chainrule", "run", str(script), *args],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)


def test_the_program_sees_what_python_gives_a_script(tmp_path):
    (tmp_path / "helper.py").write_text("VALUE = 7\n")
    r = run(tmp_path, """
        import sys
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
        import torch.optim as optim
        from torch.optim.lr_scheduler import StepLR
        from torch.utils.data import DataLoader, TensorDataset
        from torch.utils.data.sampler import SubsetRandomSampler
        from torch.nn.modules.loss import _Loss
        import torch.backends.cudnn as cudnn
        import torch.autograd as autograd
        import torch.serialization
        import helper

        cudnn.benchmark = True
        print(sys.argv[1:], __name__, helper.VALUE)
        print(isinstance(nn.Linear(2, 2).weight, torch.Tensor), torch.cuda.is_available(),
              torch.cuda.device_count(), torch.backends.cudnn.benchmark)
        import chainrule
        print(torch is chainrule, nn.Linear is chainrule.nn.Linear,
              F.relu is chainrule.nn.functional.relu)
        torch.cuda.manual_seed(0)
        """, "--epochs", "3")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["['--epochs', '3'] __main__ 7", "True False 0 True",
                                     "True True True"]


def test_tracebacks_and_exit_codes_are_pythons(tmp_path):
    r = run(tmp_path, """
        import torch

        def f():
            raise ValueError("bad value")

        f()
        """)
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert 'prog.py", line 7, in <module>' in lines[1] and "runpy" not in r.stderr
    assert lines[-1] == "ValueError: bad value"
    assert run(tmp_path, "import sys\nsys.exit(3)\n").returncode == 3


def test_a_missing_pytorch_module_names_itself(tmp_path):
    r = run(tmp_path, "import torch.multiprocessing as mp\n")
    assert r.returncode == 1
    assert "torch.multiprocessing is a PyTorch module chainrule does not have" in r.stderr
    r = run(tmp_path, "from torch.nn import Conv3d\n")
    assert "ImportError" in r.stderr and "torch.nn.Conv3d" in r.stderr


def test_usage_errors():
    r = subprocess.run([sys.executable, "-m", "chainrule", "run", "no_such_file.py"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "can't open file" in r.stderr
    r = subprocess.run([sys.executable, "-m", "chainrule", "run"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "usage: chainrule run" in r.stderr


def test_as_torch_binds_every_submodule_and_undoes_it():
    before = {k: v for k, v in sys.modules.items() if k == "torch" or k.startswith("torch.")}
    with chainrule.as_torch() as torch:
        import torch.nn.init
        import torch.nn.utils
        import torch.optim.lr_scheduler
        import torch.utils.data.dataloader
        import torch.utils.data.dataset
        import torch.utils.data.sampler
        from torch.nn.modules.linear import Linear
        from torch.nn.parameter import Parameter

        assert torch is chainrule and Linear is chainrule.nn.Linear
        assert Parameter is chainrule.nn.Parameter
        assert torch.utils.data.sampler.RandomSampler is chainrule.data.RandomSampler
        assert sys.modules["torch.nn.init"] is chainrule.nn.init
        assert chainrule.nn.__spec__.name == "chainrule.nn"  # still chainrule's module
        import torch.cuda as cuda
        import torch.backends.cudnn as cudnn

        assert not cuda.is_available() and cudnn.is_available() is False
        with pytest.raises(NotImplementedError, match="runs on the CPU"):
            cuda.current_device()
    after = {k: v for k, v in sys.modules.items() if k == "torch" or k.startswith("torch.")}
    assert after == before
    assert not hasattr(chainrule.nn.functional, "__path__")
    assert "modules" not in vars(chainrule.nn)


def test_modules_other_work_adds_resolve_once_present():
    from chainrule.alias import UnsupportedModuleError, resolve

    for name in ("torch.distributions", "torch.onnx", "torch.nn.parallel",
                 "torch.nn.utils.rnn"):
        try:
            mod = resolve(name)
        except UnsupportedModuleError as e:
            assert name in str(e) and isinstance(e, NotImplementedError)
        else:
            # chainrule's own module (nn.utils.rnn lives in chainrule.nn.rnn_utils)
            assert mod.__name__.startswith("chainrule.") and resolve(name) is mod
