import os
import sys

from hypothesis import HealthCheck, Phase, settings

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
