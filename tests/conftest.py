import os
import sys

import pytest
from hypothesis import HealthCheck, Phase, settings

# The programs under compat/programs are PyTorch scripts that tests/compat runs with
# `chainrule run`; they are not test modules, and --doctest-modules must not import them
# (they `import torch`, which a machine without PyTorch does not have).
collect_ignore_glob = ["compat/programs/*.py"]

# "ci": derandomized (the same examples on every run and machine), small, no deadline, and no
# "explain" phase (it costs seconds per failing or xfailed test and adds little here).
settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=10,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# NOTE: Hypothesis' pytest plugin wraps a parametrized test's settings once more for every
# parametrized case (settings(parent=previous, ...), in _hypothesis_pytestplugin), so reading
# a setting walks a chain as long as the number of cases run so far: past ~950 rows x samples
# of test_ops/test_torch_oracle that overflows the default recursion limit of 1000.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))


@pytest.fixture
def locale(monkeypatch):
    """``locale("zh_CN.UTF-8")``: the process's locale as the CLI reads it (LANG, with
    LC_ALL and LC_MESSAGES unset)."""
    def use(value):
        for var in ("LC_ALL", "LC_MESSAGES"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("LANG", value)
    return use
