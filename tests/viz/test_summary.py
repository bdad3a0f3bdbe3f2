"""The model summary table: golden for a fixed Sequential, counts, depth, hooks, errors."""

import pytest

import chainrule as cr
from chainrule import nn
from chainrule.viz.summary import ModelSummary, format_summary, summary

GOLDEN = """\
Layer    Type        Output shape  Params  Trainable
----------------------------------------------------
(model)  Sequential  (5, 2)            --         --
  0      Linear      (5, 3)            15         15
  1      ReLU        (5, 3)             0          0
  2      Linear      (5, 2)             8          8
----------------------------------------------------
Total params: 23 (trainable: 23, non-trainable: 0)
Input shape: (5, 4)  Output shape: (5, 2)"""


def mlp():
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4),
                                      nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
        self.scale = nn.Parameter(cr.ones(1))

    def forward(self, x):
        return self.head(self.features(x)) * self.scale


def numel(model):
    return sum(p.numel() for p in model.parameters())


def test_golden_table_for_a_fixed_sequential():
    assert format_summary(mlp(), cr.zeros(5, 4)) == GOLDEN


def test_summary_prints_the_table_and_returns_the_rows(capsys):
    s = summary(mlp(), cr.zeros(5, 4))
    assert isinstance(s, ModelSummary) and str(s) == GOLDEN
    assert capsys.readouterr().out.strip() == GOLDEN
    assert [(r.name, r.type, r.output_shape, r.params) for r in s.rows] == [
        ("", "Sequential", (5, 2), 0), ("0", "Linear", (5, 3), 15), ("1", "ReLU", (5, 3), 0),
        ("2", "Linear", (5, 2), 8)]
    assert s.total_params == s.trainable_params == 23 and s.output_shape == (5, 2)


@pytest.mark.parametrize("depth", [None, 0, 1, 2])
def test_rows_add_up_to_the_parameter_count_at_every_depth(depth):
    model = Net()
    s = summary(model, (2, 1, 8, 8), depth=depth)
    assert s.total_params == numel(model) == 40 + 8 + 650 + 1
    assert sum(r.params for r in s.rows) == s.total_params
    assert max(r.depth for r in s.rows) == (2 if depth is None else depth)


def test_nested_names_are_indented_and_shapes_recorded():
    s = summary(Net(), (2, 1, 8, 8))
    names = [r.name for r in s.rows]
    assert names == ["", "features", "features.0", "features.1", "features.2", "features.3",
                     "head", "head.0", "head.1"]
    shapes = {r.name: r.output_shape for r in s.rows}
    assert shapes["features"] == (2, 4, 4, 4) and shapes["head.0"] == (2, 64)
    assert "    features.0  Conv2d" in str(s)
    collapsed = summary(Net(), (2, 1, 8, 8), depth=1)
    assert {r.name: r.params for r in collapsed.rows} == {"": 1, "features": 48, "head": 650}


def test_frozen_parameters_are_not_trainable():
    model = mlp()
    model[0].weight.requires_grad_(False)
    s = summary(model, (5, 4))
    assert (s.total_params, s.trainable_params, s.non_trainable_params) == (23, 11, 12)
    assert s.rows[1].trainable == 3
    assert "non-trainable: 12" in str(s)


def test_shape_tuple_input_takes_the_models_dtype():
    s = summary(mlp().to(cr.float64), (7, 4))
    assert s.input_shapes == [(7, 4)] and s.output_shape == (7, 2)


def test_hooks_removed_and_modes_restored_and_no_state_changed():
    model = Net()
    model.train()
    model.features[1].eval()  # a mixed-mode model stays mixed
    mean = model.features[1].running_mean.numpy().copy()
    summary(model, cr.randn(3, 1, 8, 8))
    assert model.training and not model.features[1].training and model.head.training
    assert (model.features[1].running_mean.numpy() == mean).all()
    for _, m in model.named_modules():
        assert not m.__dict__.get("_forward_hooks") and not m.__dict__.get("_forward_pre_hooks")
    assert all(p.grad is None for p in model.parameters())


def test_not_a_module_is_a_clear_type_error():
    with pytest.raises(TypeError, match=r"summary: expected a model .* got int"):
        summary(3, (1, 4))
    with pytest.raises(TypeError, match="example input"):
        summary(mlp())


def test_an_input_the_model_rejects_names_summary_the_model_and_the_shape():
    model = Net()
    with pytest.raises(ValueError) as info:
        summary(model, cr.zeros(2, 64))
    msg = str(info.value)
    assert msg.startswith("summary: Net failed on an input of shape (2, 64)")
    assert "'features.0' (Conv2d)" in msg
    assert info.value.__cause__ is None and info.value.__suppress_context__
    for _, m in model.named_modules():  # hooks removed on error too
        assert not m.__dict__.get("_forward_hooks") and not m.__dict__.get("_forward_pre_hooks")
    assert model.training
    with pytest.raises(ValueError, match=r"summary: Sequential failed on an input of shape "
                                         r"\(5, 3\) in module '0' \(Linear\)"):
        summary(mlp(), (5, 3))
