"""``torch.backends.cudnn``: inert flags (chainrule does not use cuDNN)."""

enabled = False
benchmark = False
deterministic = False
allow_tf32 = False


def is_available() -> bool:
    return False


def version() -> None:
    return None
