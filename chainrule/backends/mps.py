"""``torch.backends.mps``: Apple's GPU backend, never available (chainrule runs on the CPU)."""


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False
