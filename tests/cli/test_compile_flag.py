"""chainrule train --compile: the same weights as the eager loop, bit for bit."""

import warnings

import numpy as np
import pytest

from chainrule.cli import recipes


def _train(model, **kw):
    cfg = recipes.Config(model=model, epochs=1 if model != "mlp" else 2, hidden=16)
    return recipes.train_default(cfg, **kw)


@pytest.mark.parametrize("model", ["mlp", "cnn", "lstm"])
def test_compiled_training_gives_the_eager_weights(model):
    eager = _train(model, compile=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # captured: no fallback warning
        comp = _train(model, compile=True)
    assert [h.train_loss for h in eager.history] == [h.train_loss for h in comp.history]
    for (k, a), (_, b) in zip(eager.model.state_dict().items(), comp.model.state_dict().items()):
        assert np.array_equal(a.numpy(), b.numpy()), k


def test_compile_flag_is_parsed():
    from chainrule.cli import build_parser

    args = build_parser().parse_args(["train", "digits", "--no-compile"])
    assert args.compile is False
    assert build_parser().parse_args(["train", "digits"]).compile is None
