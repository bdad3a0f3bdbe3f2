"""Every public PyTorch name is either supported or refused with a NotImplementedError that
names it: checked against the list in torch_public_names.txt (regenerate it with
``python tests/compat/gen_torch_names.py`` when PyTorch is installed)."""

import pathlib

import pytest

import chainrule as cr
from chainrule.alias import resolve
from chainrule.core.suggest import close_names

LIST = pathlib.Path(__file__).with_name("torch_public_names.txt")


def torch_names():
    pairs = [line.split() for line in LIST.read_text().splitlines()
             if line and not line.startswith("#")]
    return [(m, n) for m, n in pairs]


def lookup(module, name):
    if module == "torch.Tensor":
        return getattr(cr.ones(2, 2), name)
    return getattr(resolve(module), name)


def test_every_public_pytorch_name_is_supported_or_refused_by_name():
    pairs = torch_names()
    assert len(pairs) > 1500
    supported, refused, wrong = 0, 0, []
    for module, name in pairs:
        try:
            lookup(module, name)
            supported += 1
        except NotImplementedError as e:
            qualified = f"Tensor.{name}" if module == "torch.Tensor" else f"{module}.{name}"
            if qualified not in str(e) and f"x.{name}()" not in str(e):
                wrong.append(f"{module}.{name}: {e}")
            refused += 1
        except Exception as e:  # noqa: BLE001 - collected: any other error is a failure
            wrong.append(f"{module}.{name}: {type(e).__name__}: {e}")
    assert not wrong, "\n".join(wrong[:30])
    assert supported > 300 and refused > 0  # 378 of 1921 when this was written


def test_from_imports_of_missing_names_are_import_errors_naming_them():
    with cr.as_torch():
        with pytest.raises(ImportError, match=r"torch\.nn\.Conv3d") as info:
            from torch.nn import Conv3d  # noqa: F401
        assert isinstance(info.value, NotImplementedError)
        with pytest.raises(ImportError, match=r"torch\.nn\.functional\.gelu_new"):
            from torch.nn.functional import gelu_new  # noqa: F401
        with pytest.raises(ImportError, match=r"torch\.utils\.data\.IterableDataset"):
            from torch.utils.data import IterableDataset  # noqa: F401
        with pytest.raises(ImportError, match="torch.multiprocessing") as info:
            import torch.multiprocessing  # noqa: F401
        assert isinstance(info.value, NotImplementedError)


@pytest.mark.parametrize("name,expected,unrelated", [
    ("normal", ["randn"], ["no_grad"]),
    ("multinomial", ["randint"], ["multiply"]),
    ("topk", ["max", "argmax"], []),
    ("Relu", ["relu"], []),
    ("logsoftmax", ["log_softmax"], ["softmax"]),
    ("linspaced", ["linspace"], []),
    ("zzqqy", [], ["zeros"]),
])
def test_suggestions_are_of_related_meaning(name, expected, unrelated):
    got = close_names(name, dir(cr))
    for e in expected:
        assert e in got, (name, got)
    for u in unrelated:
        assert u not in got, (name, got)


def test_missing_names_mention_the_nearest_supported_alternative():
    with pytest.raises(NotImplementedError, match=r"torch\.logcumsumexp.*logsumexp"):
        cr.logcumsumexp  # noqa: B018
    with pytest.raises(NotImplementedError, match=r"torch\.optim\.NAdam.*Adam"):
        cr.optim.NAdam  # noqa: B018
    with pytest.raises(NotImplementedError, match=r"Tensor\.addcmul.*mul"):
        cr.ones(2).addcmul  # noqa: B018


@pytest.mark.parametrize("expr,api,keyword", [
    ("cr.zeros(3, layout=None)", "torch.zeros", "layout"),
    ("cr.nn.Linear(2, 3, biass=False)", "torch.nn.Linear", "biass"),
    ("cr.optim.SGD([cr.zeros(1, requires_grad=True)], lr=0.1, foreach=True)",
     "torch.optim.SGD", "foreach"),
    ("cr.data.DataLoader([1, 2], multiprocessing_contextt=None)",
     "torch.utils.data.DataLoader", "multiprocessing_contextt"),
])
def test_unknown_keyword_arguments_name_the_api(expr, api, keyword):
    from chainrule.core.keywords import UnsupportedKeywordError

    with pytest.raises(UnsupportedKeywordError) as info:
        eval(expr)
    msg = str(info.value)
    assert f"{api}(...)" in msg and repr(keyword) in msg
    assert isinstance(info.value, NotImplementedError) and isinstance(info.value, TypeError)
    if keyword == "biass":
        assert msg.endswith("did you mean bias?")


def test_type_errors_from_inside_a_call_are_left_alone():
    from chainrule.core.keywords import UnsupportedKeywordError

    class Broken:
        def __len__(self):
            raise TypeError("f() got an unexpected keyword argument 'x'")

    with pytest.raises(TypeError) as info:
        cr.data.random_split(Broken(), [1])  # guarded, but the error comes from inside
    assert not isinstance(info.value, UnsupportedKeywordError)
