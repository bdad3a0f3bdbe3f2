import os

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
