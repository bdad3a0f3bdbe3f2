"""examples/char_lm.py: a character-level language model that trains, samples, and is
reproducible under chainrule.manual_seed (a few steps only: the tests check the program, not
how well it learns)."""

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chainrule import nn

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))

# NOTE: tiny matrices: OpenBLAS's threads only cost time here, a lot of it on a busy machine
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}


def has_lstm():
    try:
        return nn.LSTM is not None
    except (AttributeError, NotImplementedError):
        return False


def run_train(**kw):
    """train() in-process (for the lstm choice; a handful of steps)."""
    import char_lm

    lines = []
    text = "\n".join(char_lm.make_names(300)) + "\n"
    opts = dict(model_name="transformer", steps=4, block=16, batch=8, lr=3e-3, sample_every=2,
                sample_len=10, seed=0)
    opts.update(kw)
    loss = char_lm.train(text, out=lines.append, **opts)
    return loss, lines


def run_script(*args):
    r = subprocess.run([sys.executable, "char_lm.py", *args], cwd=EXAMPLES,
                       capture_output=True, text=True, timeout=300, env=ENV)
    return r


def test_the_grammar_gives_the_same_names_every_time():
    import char_lm

    a, b = char_lm.make_names(50), char_lm.make_names(50)
    assert a == b and len(set(a)) > 40 and all(n[0].isupper() for n in a)


def test_two_runs_with_the_same_seed_print_the_same_samples_and_losses(tmp_path):
    args = ["--steps", "20", "--block", "16", "--batch", "8", "--sample-every", "10",
            "--sample-len", "20", "--corpus-out", str(tmp_path / "names.txt")]
    r1, r2 = run_script(*args), run_script(*args)
    assert r1.returncode == 0, r1.stderr
    assert r1.stdout == r2.stdout
    out = r1.stdout.splitlines()
    assert out[0] == f"training on 2000 generated names (written to {tmp_path / 'names.txt'})"
    assert (tmp_path / "names.txt").read_text().count("\n") == 2000
    assert [line.split()[1] for line in out[2:]] == ["10", "20"]  # samples at steps 10, 20
    vocab = int(out[1].split(", ")[1].split()[0])
    loss = float(out[-1].split()[3])
    assert loss < math.log(vocab) - 0.3  # it learns: below chance after 20 steps
    r3 = run_script(*args, "--seed", "1")
    assert r3.stdout != r1.stdout


def test_lstm_choice_trains_or_says_what_is_missing():
    if has_lstm():
        _, out = run_train(model_name="lstm")
        assert out[0].startswith("lstm:") and out[-1].startswith("step     4")
    else:
        with pytest.raises(SystemExit, match="needs chainrule.nn.LSTM"):
            run_train(model_name="lstm")


def test_the_script_trains_on_a_text_file(tmp_path):
    text = tmp_path / "poem.txt"
    text.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 20)
    r = run_script(str(text), "--steps", "4", "--block", "8", "--batch", "4", "--sample-every",
                   "2", "--sample-len", "10")
    assert r.returncode == 0, r.stderr
    assert "transformer:" in r.stdout and "step     4  loss" in r.stdout
    r = run_script(str(tmp_path / "missing.txt"))
    assert r.returncode != 0 and "cannot read" in r.stderr
