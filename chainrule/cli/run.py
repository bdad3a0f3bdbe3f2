"""``chainrule run script.py [args...]``: run a PyTorch program as it is, on chainrule.

The program sees what ``python script.py args...`` gives it (``sys.argv``, ``__name__ ==
"__main__"``, its folder first on ``sys.path``) with ``torch`` and every ``torch.X`` bound to
chainrule (see :mod:`chainrule.alias`). An uncaught exception prints the traceback Python
would print, starting at the program's own frames, and exits with status 1.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Sequence

USAGE = ("usage: chainrule run script.py [args...]\n"
         "Runs a PyTorch program with `import torch` (and torch.nn, torch.utils.data, ...) "
         "meaning chainrule.")


def _program_frames(tb: object, script: str) -> object:
    """The traceback from the first frame of ``script`` on (the runner's frames dropped)."""
    path = os.path.abspath(script)
    t = tb
    while t is not None:
        if os.path.abspath(t.tb_frame.f_code.co_filename) == path:  # type: ignore[attr-defined]
            return t
        t = t.tb_next  # type: ignore[attr-defined]
    return tb


def main(argv: Sequence[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    script, args = argv[0], list(argv[1:])
    if not os.path.isfile(script):
        print(f"chainrule run: can't open file {os.path.abspath(script)!r}: "
              "[Errno 2] No such file or directory", file=sys.stderr)
        return 2
    from ..alias import run_path

    try:
        run_path(script, args)
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001 - printed as Python prints an uncaught error
        tb = _program_frames(e.__traceback__, script)
        traceback.print_exception(type(e), e.with_traceback(tb), tb)  # type: ignore[arg-type]
        return 130 if isinstance(e, KeyboardInterrupt) else 1
    return 0
