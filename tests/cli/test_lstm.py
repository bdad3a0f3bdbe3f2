"""`chainrule train digits --model lstm`: images read as sequences of 8 rows of 8 pixels."""

import json

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("safetensors")
pytest.importorskip("rich")

import chainrule as cr  # noqa: E402
from chainrule.cli import main  # noqa: E402
from chainrule.cli.recipes import Config, build_model, describe, load_data  # noqa: E402


def test_lstm_reads_rows_and_loads_into_torch():
    cfg = Config(model="lstm")
    assert (cfg.hidden, cfg.epochs, cfg.dropout) == (128, 30, 0.1) and describe(cfg).startswith(
        "lstm")
    data = load_data(cfg)
    assert data.X_train.shape == (1257, 8, 8) and data.X_test.shape == (540, 8, 8)
    np.testing.assert_array_equal(data.X_train.reshape(-1, 64), load_data(Config()).X_train)
    model = build_model(cfg)
    x = data.X_test[:5]
    out = model(cr.tensor(x))
    assert out.shape == (5, 10)
    torch = pytest.importorskip("torch")

    class RowLSTM(torch.nn.Module):  # the same model written with torch.nn
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(8, 128, batch_first=True)

        def forward(self, x):
            return self.lstm(x)[0][:, -1]

    t = torch.nn.Sequential(RowLSTM(), torch.nn.Dropout(0.1), torch.nn.Linear(128, 10)).eval()
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    model.eval()
    np.testing.assert_allclose(model(cr.tensor(x)).detach().numpy(),
                               t(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_train_lstm_writes_the_run_folder(tmp_path):
    out = tmp_path / "lstm"
    assert main(["train", "digits", "--model", "lstm", "--epochs", "2", "--out", str(out),
                 "--quiet", "--no-plots"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["config"]["model"] == "lstm" and m["epochs"] == 2
    assert 0.5 < m["test_accuracy"] <= 1
    assert main(["evaluate", str(out)]) == 0
