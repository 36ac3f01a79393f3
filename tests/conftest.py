"""Shared fixtures for the rule-language tests (parser, check, CLI)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import attrs
import pytest

from cepengine.cli import main

TESTS = Path(__file__).resolve().parent
GOLDEN = TESTS / "golden"


@attrs.frozen
class CliRun:
    """What one in-process `cepengine ...` call printed and returned."""

    code: int
    out: str
    err: str


@pytest.fixture
def golden_dir() -> Path:
    return GOLDEN


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliRun]:
    """`run_cli("check", "x.cep")` runs `cepengine.cli.main` in-process."""

    def run(*argv: str) -> CliRun:
        capsys.readouterr()  # drop anything printed before
        code = main(list(argv))
        captured = capsys.readouterr()
        return CliRun(code, captured.out, captured.err)

    return run


@pytest.fixture
def write_rules(tmp_path: Path) -> Callable[[str, str], Path]:
    """`write_rules("a.cep", text)` writes a rule file under tmp_path."""

    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write
