"""Golden tests: every diagnostic code, rendered exactly as `cepengine check`
prints it.

Each case under tests/golden is `<CODE>_<slug>.cep` (or a folder of .cep
files, for codes that need several files), with the expected output beside
it in `<CODE>_<slug>.out` and, when present, a schema in
`<CODE>_<slug>.schema.json` passed with `--schema`. The check runs from the
golden folder so the paths in the output are short and portable.

    CEPENGINE_UPDATE_GOLDEN=1 python -m pytest tests/test_check_golden.py

rewrites the .out files; review the diff by eye before committing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"
PACKAGE = Path(__file__).resolve().parents[1] / "cepengine"
CODE = re.compile(r"[EW][0-9]{3}")
UPDATE = os.environ.get("CEPENGINE_UPDATE_GOLDEN") == "1"


def golden_cases() -> list[Path]:
    cases = [p for p in GOLDEN.iterdir() if p.suffix == ".cep" or p.is_dir()]
    return sorted(cases, key=lambda p: p.name)


def expected_path(case: Path) -> Path:
    return case.with_name(case.stem + ".out") if case.is_file() else case.with_name(case.name + ".out")


def schema_path(case: Path) -> Path:
    return case.with_name((case.stem if case.is_file() else case.name) + ".schema.json")


def emittable_codes() -> set[str]:
    """Every code the parser and the analysis passes can emit (from source)."""
    sources = [*PACKAGE.joinpath("check").glob("*.py"), *PACKAGE.joinpath("syntax").glob("*.py")]
    found: set[str] = set()
    for source in sources:
        found |= set(re.findall(r"[\"']([EW][0-9]{3})[\"']", source.read_text(encoding="utf-8")))
    return found


def rendered_codes(out: str) -> set[str]:
    return set(re.findall(r"\[([EW][0-9]{3})\]$", out, flags=re.MULTILINE))


@pytest.mark.parametrize("case", golden_cases(), ids=lambda p: p.name)
def test_golden_output(case: Path, run_cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(GOLDEN)
    argv = ["check", case.name]
    if schema_path(case).exists():
        argv += ["--schema", schema_path(case).name]
    result = run_cli(*argv)
    expected = expected_path(case)
    if UPDATE:
        expected.write_text(result.out, encoding="utf-8")
    assert result.err == ""
    assert result.out == expected.read_text(encoding="utf-8")
    code = case.name[:4]
    assert code in rendered_codes(result.out), f"{case.name} does not produce {code}"
    assert result.code == (1 if " error: " in result.out else 0)


def test_every_case_has_expected_output() -> None:
    missing = [case.name for case in golden_cases() if not expected_path(case).exists()]
    assert not missing or UPDATE, f"no .out for {missing}; run with CEPENGINE_UPDATE_GOLDEN=1"


def test_every_code_has_a_golden_case() -> None:
    """The golden files cover exactly the codes the checker can emit."""
    covered = {case.name[:4] for case in golden_cases()}
    assert all(CODE.fullmatch(code) for code in covered)
    assert covered == emittable_codes()


def test_golden_outputs_only_use_known_codes() -> None:
    rendered: set[str] = set()
    for case in golden_cases():
        if expected_path(case).exists():
            rendered |= rendered_codes(expected_path(case).read_text(encoding="utf-8"))
    assert rendered <= emittable_codes()


def test_the_codes_are_e001_to_e025_and_w101_to_w108() -> None:
    wanted = {f"E{n:03d}" for n in range(1, 26)} | {f"W{n}" for n in range(101, 109)}
    assert emittable_codes() == wanted


def test_docs_list_every_code() -> None:
    docs = (PACKAGE.parent / "docs" / "language.md").read_text(encoding="utf-8")
    assert set(re.findall(r"^\| ([EW][0-9]{3}) \|", docs, flags=re.MULTILINE)) == emittable_codes()
