"""Unsupported PyTorch names give a clear NotImplementedError, never a bare AttributeError."""

import pickle

import pytest

import chainrule as cr
from chainrule.core.compat import UnsupportedError


@pytest.mark.parametrize("expr,words", [
    ("cr.cuda.FloatTensor", ["torch.cuda.FloatTensor", "runs on the CPU", ".cuda()"]),
    ("cr.cuda.current_device()", ["torch.cuda.current_device", "runs on the CPU"]),
    ("cr.tensor([1.0]).cuda()", ["x.cuda()", "runs on the CPU", "remove .cuda()"]),
    ("cr.tensor([1.0]).to('cuda')", ["to('cuda')", "runs on the CPU"]),
    ("cr.nn.Linear(2, 2).cuda()", ["Module.cuda()", "runs on the CPU"]),
    ("cr.nn.Linear(2, 2).to('cuda:0')", ["runs on the CPU"]),
    ("cr.device('cuda:0')", ["device('cuda:0')", "runs on the CPU"]),
    ("cr.set_default_device('cuda')", ["runs on the CPU"]),
    ("cr.jit.script", ["torch.jit.script", "TorchScript"]),
    ("cr.jit.trace(None, None)", ["torch.jit.trace"]),
    ("cr.fft.fft(cr.ones(4))", ["torch.fft.fft", "numpy.fft"]),
    ("cr.linalg.svd(cr.ones(2, 2))", ["torch.linalg.svd", "numpy.linalg", "x.numpy()"]),
    ("cr.einsum('ij,jk->ik', cr.ones(2, 2), cr.ones(2, 2))", ["torch.einsum", "a @ b"]),
    ("cr.svd", ["torch.svd", "numpy.linalg.svd"]),
    ("cr.ones(3).cumsum(0)", ["Tensor.cumsum", "numpy"]),
    ("cr.ones(3).median()", ["Tensor.median", "numpy"]),
    ("cr.ones(3).sin_()", ["Tensor.sin_", "x = x.sin(...)"]),
    ("cr.ones(3).pin_memory()", ["pin_memory", "CPU"]),
    ("cr.autocast('cpu')", ["torch.autocast", "mixed precision"]),
    ("cr.distributions.Gamma", ["torch.distributions.Gamma"]),
    ("cr.ones(3).bfloat16()", ["Tensor.bfloat16", "cr.float32"]),
    ("cr.nn.Linear(2, 2).register_backward_hook(print)", ["register_full_backward_hook"]),
])
def test_unsupported_names_say_what_to_use(expr, words):
    with pytest.raises(NotImplementedError) as info:
        eval(expr)
    msg = str(info.value)
    for w in words:
        assert w in msg, f"{w!r} not in {msg!r}"


def test_unknown_names_suggest_close_matches():
    with pytest.raises(NotImplementedError, match="did you mean.*linspace"):
        cr.linspaced  # noqa: B018
    with pytest.raises(AttributeError, match="has no attribute 'zzqqy'"):
        cr.zzqqy  # noqa: B018


def test_errors_are_attribute_errors_too():
    # hasattr/getattr with a default keep working (and so do tools that probe modules).
    assert issubclass(UnsupportedError, AttributeError)
    assert not hasattr(cr, "einsum") and getattr(cr, "einsum", None) is None
    assert not hasattr(cr, "not_a_name")
    assert not hasattr(cr.ones(2), "cuda") and not hasattr(cr.ones(2), "cumsum")
    assert getattr(cr.jit, "__wrapped__", None) is None
    assert not hasattr(cr, "__wrapped__")


def test_stubs_are_hidden_from_dir():
    names = dir(cr.ones(2))
    assert "cumsum" not in names and "cuda" not in names and "sum" in names


def test_typo_on_a_tensor_gets_pythons_suggestion():
    with pytest.raises(AttributeError) as info:
        cr.ones(2).sizee  # noqa: B018
    assert info.value.name == "sizee"  # Python prints "Did you mean: 'size'?" from this


def test_lazy_submodules_still_load():
    import importlib
    import sys

    assert cr.nn.Linear is importlib.import_module("chainrule.nn").Linear
    assert cr.optim.SGD and cr.data.DataLoader and cr.utils.data.TensorDataset
    assert callable(cr.save) and callable(cr.load)
    assert "chainrule.utils.data" in sys.modules


def test_cpu_stand_ins():
    assert cr.cuda.is_available() is False and cr.cuda.device_count() == 0
    cr.cuda.manual_seed_all(0)
    assert cr.backends.mps.is_available() is False
    cr.backends.cudnn.deterministic = True
    assert cr.accelerator.is_available() is False
    cr.use_deterministic_algorithms(True)
    assert pickle.loads(pickle.dumps(cr.device("cpu"))) == cr.device("cpu")


def test_missing_nn_layer_names_the_alternative():
    import pytest

    import chainrule as cr

    with pytest.raises(NotImplementedError, match="Conv3d"):  # (nn.LSTM exists since issue 11)
        cr.nn.Conv3d  # noqa: B018 - the attribute access is what raises
    with pytest.raises(NotImplementedError, match="Linear"):
        cr.nn.Lineer  # noqa: B018
    assert not hasattr(cr.nn, "Conv3d")
