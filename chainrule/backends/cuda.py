"""``torch.backends.cuda``: never built (chainrule runs on the CPU); its flags are inert."""

from types import SimpleNamespace

matmul = SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=False)


def is_built() -> bool:
    return False
