"""The benchmark's generated rules stay valid (so its figure means something)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from cepengine.check import check_text

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "parse_rules.py"


def load_benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("parse_rules_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("size", ["typical", "heavy"])
def test_generated_rules_parse_and_check_without_errors(size: str) -> None:
    benchmark = load_benchmark()
    text = benchmark.generate(60, benchmark.PROFILES[size], seed=3)
    result = check_text(text, "generated.cep")
    assert len(result.rules) == 60
    assert not result.errors, [(str(d.span), d.message) for d in result.errors[:3]]


def test_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert load_benchmark().main(["--rules", "20", "--repeat", "1"]) == 0
    assert "20 typical rules" in capsys.readouterr().out
