"""Timing helpers shared by the benchmarks.

Every contender of a benchmark goes through ``compare``, so all get the same treatment:
warm-up calls first, then ``repeat`` rounds that time the contenders in turn (interleaved, so
a slow spell on the machine hits them all), each sample taken with ``time.perf_counter``
after a ``gc.collect()`` and with the cyclic garbage collector disabled while it runs (as
``timeit`` does).
"""

import gc
import math
import time


def _timed(fn, number):
    """Seconds per call of ``number`` calls of ``fn``, and its last result."""
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(number):
            result = fn()
        elapsed = time.perf_counter() - t0
    finally:
        if enabled:
            gc.enable()
    return elapsed / number, result


def compare(contenders, repeat, warmup=1, min_sample=0.0):
    """Time each ``name -> fn`` of ``contenders``; ``fn`` takes no argument.

    Each sample repeats ``fn`` enough times to last about ``min_sample`` seconds (measured on
    the warm-up calls). Returns ``({name: [seconds per call, ...]}, {name: last result})``.
    """
    numbers = {}
    for name, fn in contenders.items():
        t = min(_timed(fn, 1)[0] for _ in range(warmup))
        numbers[name] = max(1, math.ceil(min_sample / t)) if t > 0 else 1
    samples = {name: [] for name in contenders}
    results = {}
    for _ in range(repeat):
        for name, fn in contenders.items():
            t, results[name] = _timed(fn, numbers[name])
            samples[name].append(t)
    return samples, results


def ratios(times, of="chainrule"):
    """``times[of] / times[other]`` for every other contender."""
    return {name: times[of] / t for name, t in times.items() if name != of}


def row(benchmark, case, unit, per_unit, samples, stat=min, note="", **extra):
    """One line of results: ``per_unit`` seconds make one ``unit`` (e.g. 1e-6 * 100 for us/op
    of a 100-op chain); the statistic ``stat`` (min or median) of the samples is reported."""
    times = {name: stat(s) for name, s in samples.items()}
    return {"benchmark": benchmark, "case": case, "unit": unit, "stat": stat.__name__,
            "seconds": times, "value": {name: t / per_unit for name, t in times.items()},
            "ratios": ratios(times), "samples": samples, "note": note, **extra}
