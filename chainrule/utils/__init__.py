"""``cr.utils``: where PyTorch programs look for ``utils.data`` (``from torch.utils.data import
DataLoader, TensorDataset``); it is :mod:`chainrule.data` under that name.
"""


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    import importlib

    if name == "data":
        return importlib.import_module("chainrule.utils.data")
    from ..core.compat import module_missing

    res = module_missing(name, ["data"], module="chainrule.utils")
    if isinstance(res, BaseException):
        raise res
    return res
