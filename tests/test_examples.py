"""The tutorial's programs, rewritten with chainrule, reproduce the tutorial's own numbers."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))


def test_forward_2_2_1_network():
    from tutorial_forward import forward

    output, _ = forward()
    assert output.item() == pytest.approx(0.78456671, abs=1e-8)


def test_one_backpropagation_step():
    from tutorial_backward import one_step

    loss, W1, W2 = one_step()
    assert loss.item() == pytest.approx(0.02320575, abs=1e-8)
    np.testing.assert_allclose(W1.detach().numpy(),
                               [[0.40025412, 0.3002605], [0.20060988, 0.70062519]], atol=1e-8)
    np.testing.assert_allclose(W2.detach().numpy(), [[0.60230061], [0.80279193]], atol=1e-8)


def tutorial_numpy(seed, epochs):
    """The tutorial's digits program, verbatim in NumPy (OneHotEncoder spelled for sklearn>=1.2)."""
    from tutorial_digits import load

    X_train, X_test, y_train, y_test, W1, W2 = load(seed)
    b1, b2 = np.zeros((1, 64)), np.zeros((1, 10))

    def sigmoid(z):
        return 1 / (1 + np.exp(-z))

    losses = []
    for _ in range(epochs):
        z1 = np.dot(X_train, W1) + b1
        a1 = sigmoid(z1)
        z2 = np.dot(a1, W2) + b2
        output = sigmoid(z2)
        losses.append(np.mean(0.5 * (output - y_train) ** 2))
        d_output = output - y_train
        d_z2 = d_output * output * (1 - output)
        d_W2 = np.dot(a1.T, d_z2)
        d_a1 = np.dot(d_z2, W2.T)
        d_z1 = d_a1 * a1 * (1 - a1)
        d_W1 = np.dot(X_train.T, d_z1)
        W2 -= 0.01 * d_W2
        W1 -= 0.01 * d_W1
    out = sigmoid(np.dot(sigmoid(np.dot(X_test, W1) + b1), W2) + b2)
    acc = float((out.argmax(1) == y_test.argmax(1)).mean())
    return losses, acc, W1, W2


def test_digits_program_matches_the_tutorial_numpy_code():
    pytest.importorskip("sklearn")
    from tutorial_digits import train

    losses, acc, W1, W2 = train(seed=0, epochs=1000, verbose=False)
    ref_losses, ref_acc, rW1, rW2 = tutorial_numpy(0, 1000)
    np.testing.assert_allclose(losses, ref_losses, rtol=0, atol=1e-9)
    np.testing.assert_allclose(W1, rW1, rtol=0, atol=1e-9)
    assert acc == ref_acc
    assert acc == pytest.approx(0.4926, abs=1e-4)


@pytest.mark.parametrize("script", ["tutorial_forward.py", "tutorial_backward.py"])
def test_examples_run_as_scripts(script):
    r = subprocess.run([sys.executable, script], cwd=EXAMPLES, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert "W1" in r.stdout or "output" in r.stdout
