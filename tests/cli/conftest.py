import pytest


@pytest.fixture
def locale(monkeypatch):
    """``locale("zh_CN.UTF-8")``: the process's locale as the CLI reads it (LANG, with
    LC_ALL and LC_MESSAGES unset)."""
    def use(value):
        for var in ("LC_ALL", "LC_MESSAGES"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("LANG", value)
    return use
