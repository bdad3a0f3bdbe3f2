import sys


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    mod = sys.modules.get("test_fuzz")
    stats = getattr(mod, "STATS", None)
    if stats:
        line = ", ".join(f"{k}: {v}" for k, v in sorted(stats.items()))
        terminalreporter.write_line(f"differential fuzzer (programs): {line}")
