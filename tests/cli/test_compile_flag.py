"""chainrule train --compile: the same weights as the eager loop, bit for bit."""

import numpy as np

from chainrule.cli import recipes


def _train(**kw):
    cfg = recipes.Config(epochs=2, hidden=32)
    return recipes.train_default(cfg, **kw)


def test_compiled_training_gives_the_eager_weights():
    eager, comp = _train(compile=False), _train(compile=True)
    assert [h.train_loss for h in eager.history] == [h.train_loss for h in comp.history]
    for (k, a), (_, b) in zip(eager.model.state_dict().items(), comp.model.state_dict().items()):
        assert np.array_equal(a.numpy(), b.numpy()), k


def test_compile_flag_is_parsed():
    from chainrule.cli import build_parser

    args = build_parser().parse_args(["train", "digits", "--no-compile"])
    assert args.compile is False
    assert build_parser().parse_args(["train", "digits"]).compile is None
