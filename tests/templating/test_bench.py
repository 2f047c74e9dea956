"""Keep ``bench/bench_templating.py`` working; it measures, it never asserts timings."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_templating.py"


def load_bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_templating", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_measurement_runs_and_reports_both_timings_and_their_ratio(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bench = load_bench(monkeypatch)

    result = bench.measure(number=5, repeat=2)

    assert result.render_seconds > 0
    assert result.dumps_seconds > 0
    assert result.ratio == result.render_seconds / result.dumps_seconds


@pytest.mark.timeout(60)
def test_the_script_prints_its_report() -> None:
    completed = subprocess.run(
        [sys.executable, str(BENCH), "--number", "5", "--repeat", "1"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0].startswith("render of the default payload template:")
    assert lines[1].startswith("json.dumps of the same output:")
    assert lines[2].startswith("ratio: ")
