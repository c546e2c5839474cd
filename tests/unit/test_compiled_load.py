"""The compiled engines are loaded before they are needed: by the forecaster at its start."""

from __future__ import annotations

import threading

import pytest

from standby.forecast import runner
from standby.impact.compiled_load import load_compiled_engines
from standby.impact.engine import compiled_engines


def test_loading_runs_both_compiled_engines_and_says_so() -> None:
    compiled, seconds = load_compiled_engines()
    assert compiled is (compiled_engines() is not None)
    assert compiled  # numba is one of Standby's dependencies
    assert seconds > 0


def test_the_forecaster_loads_the_engines_before_its_first_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    happened: list[str] = []
    stop = threading.Event()

    def load() -> tuple[bool, float]:
        happened.append("load")
        return True, 0.1

    def one_pass(*_args: object, **_kwargs: object) -> int:
        happened.append("pass")
        stop.set()
        return 0

    monkeypatch.setattr(runner, "load_compiled_engines", load)
    monkeypatch.setattr(runner, "one_pass", one_pass)
    runner.run_forecaster(None, None, cpu_share=1.0, stop=stop)  # type: ignore[arg-type]
    assert happened == ["load", "pass"]
