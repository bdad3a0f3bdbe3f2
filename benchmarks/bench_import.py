"""import: wall time of ``python -c "import numpy"`` and ``python -c "import chainrule"``.

Each sample is a fresh interpreter (same executable, environment and working directory), so
both include interpreter start-up; the medians' difference is what importing chainrule costs
on top of NumPy. ``python -c pass`` is timed too, for reference.

NOTE: bytecode caching is switched on for the children (PYTHONDONTWRITEBYTECODE removed) and
warmed once, as on a user's machine where pip compiled the package: with it off, as in this
project's sandbox, every import re-compiles chainrule's sources (about +50 ms) while NumPy's
installed bytecode is used, which would not compare like with like.
"""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _timing import row

NAME = "import"
ROOT = Path(__file__).resolve().parent.parent
STATEMENTS = {"chainrule": "import chainrule", "numpy": "import numpy", "python": "pass"}


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _spawn(statement):
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], cwd=ROOT, check=True, env=ENV)
    return time.perf_counter() - t0


def run(quick=False):
    for statement in STATEMENTS.values():  # warm the file cache
        _spawn(statement)
    samples = {name: [] for name in STATEMENTS}
    for _ in range(5 if quick else 11):  # interleaved, like compare()
        for name, statement in STATEMENTS.items():
            samples[name].append(_spawn(statement))
    startup = samples.pop("python")
    med = {name: statistics.median(s) for name, s in samples.items()}
    extra_ms = 1e3 * (med["chainrule"] - med["numpy"])
    return [row(NAME, "fresh interpreter", "ms", 1e-3, samples, stat=statistics.median,
                note=f"chainrule - numpy = {extra_ms:+.0f} ms", extra_ms=extra_ms,
                python_startup_ms=1e3 * statistics.median(startup), startup_samples=startup)]
