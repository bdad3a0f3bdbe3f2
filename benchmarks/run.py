"""Run chainrule's speed benchmarks and print chainrule's times against its baselines.

    python benchmarks/run.py [--quick] [--json PATH] [--only NAME ...]

Every ratio is chainrule / baseline, both timed in the same process (see _timing.py).
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import bench_chain
import bench_compile
import bench_conv
import bench_import
import bench_mlp
import bench_rnn
import bench_transformer
import bench_tutorial
import numpy as np

BENCHMARKS = {m.NAME: m for m in (bench_chain, bench_tutorial, bench_mlp, bench_conv,
                                  bench_rnn, bench_transformer, bench_import, bench_compile)}
ROOT = Path(__file__).resolve().parent.parent


def environment(quick):
    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    env = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
           "quick": quick, "machine": platform.platform(), "cpu": cpu,
           "cpu_count": os.cpu_count(), "python": platform.python_version(),
           "numpy": np.__version__, "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
           "git_commit": git("rev-parse", "HEAD"),
           "git_dirty": bool(git("status", "--porcelain", "--", "chainrule"))}
    if bench_chain.torch is not None:
        env["torch"] = bench_chain.torch.__version__
        env["torch_threads"] = bench_chain.torch.get_num_threads()
    return env


def table(rows):
    baselines = list(dict.fromkeys(n for r in rows for n in r["value"] if n != "chainrule"))
    head = (["benchmark", "case", "unit", "chainrule"] + baselines
            + [f"cr/{b}" for b in baselines] + ["note"])
    lines = [head]
    for r in rows:
        lines.append([r["benchmark"], r["case"], r["unit"], f"{r['value']['chainrule']:.4g}"]
                     + [f"{r['value'][b]:.4g}" if b in r["value"] else "-" for b in baselines]
                     + [f"{r['ratios'][b]:.2f}" if b in r["ratios"] else "-" for b in baselines]
                     + [r["note"]])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    text = ["  ".join(c.ljust(w) if i < 3 or i == len(head) - 1 else c.rjust(w)
                      for i, (c, w) in enumerate(zip(line, widths))).rstrip() for line in lines]
    text.insert(1, "-" * len(text[0]))
    return "\n".join(text)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer repeats/epochs (~30 s in all)")
    p.add_argument("--json", type=Path, metavar="PATH", help="write raw numbers and ratios")
    p.add_argument("--only", action="append", choices=list(BENCHMARKS), metavar="NAME",
                   help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}")
    args = p.parse_args(argv)

    env = environment(args.quick)
    print(f"{env['date']}  {env['cpu']} ({env['cpu_count']} cores)  Python {env['python']}  "
          f"NumPy {env['numpy']}  torch {env.get('torch', '-')}"
          f"{'  (quick)' if args.quick else ''}", flush=True)
    rows, t0 = [], time.perf_counter()
    for name in args.only or BENCHMARKS:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows += BENCHMARKS[name].run(quick=args.quick)
    env["wall_s"] = round(time.perf_counter() - t0, 1)
    print(table(rows))
    print(f"ratios are chainrule / baseline; {env['wall_s']} s in all")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"environment": env, "results": rows}, indent=1) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
