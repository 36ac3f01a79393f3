"""Analysis: every pass is `(rule) -> diagnostics`; `check_paths` runs them
all over every file and collects everything (one broken rule never hides
another's errors)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs

from cepengine.check.names import check_names, check_rule_names
from cepengine.check.predicates import check_predicates
from cepengine.check.schema import Schema, check_schema
from cepengine.check.structure import check_structure
from cepengine.diagnostics import Diagnostic, sort_diagnostics
from cepengine.errors import UsageError
from cepengine.source import SourceFile
from cepengine.syntax import ast
from cepengine.syntax.parser import ParsedFile, parse_file, parse_text

RULE_PASSES = (check_structure, check_names, check_predicates)


@attrs.frozen(slots=True)
class CheckResult:
    rules: tuple[ast.Rule, ...]
    sources: dict[str, SourceFile]
    diagnostics: tuple[Diagnostic, ...]

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")

    @property
    def files(self) -> int:
        return len(self.sources)


def analyze(rules: Iterable[ast.Rule], schema: Schema | None = None) -> list[Diagnostic]:
    """Every diagnostic of every pass for these rules (unsorted)."""
    rules = list(rules)
    found: list[Diagnostic] = list(check_rule_names(rules))
    for rule in rules:
        for run_pass in RULE_PASSES:
            found.extend(run_pass(rule))
        if schema is not None:
            found.extend(check_schema(rule, schema))
    return found


def check_parsed(parsed: Sequence[ParsedFile], schema: Schema | None = None) -> CheckResult:
    rules = tuple(rule for f in parsed for rule in f.rules)
    diagnostics = [d for f in parsed for d in f.diagnostics]
    diagnostics.extend(analyze(rules, schema))
    return CheckResult(rules, {f.source.path: f.source for f in parsed}, tuple(sort_diagnostics(diagnostics)))


def check_text(text: str, path: str = "<string>", schema: Schema | None = None) -> CheckResult:
    return check_parsed([parse_text(text, path)], schema)


def check_paths(paths: Iterable[str | Path], schema: Schema | None = None) -> CheckResult:
    """Parse and analyse every `.cep` file under `paths` (files or folders).

    Raises UsageError for a path that does not exist or cannot be read."""
    parsed = []
    for file in rule_files(paths):
        try:
            parsed.append(parse_file(file))
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {file}: {exc}") from exc
    return check_parsed(parsed, schema)


def rule_files(paths: Iterable[str | Path]) -> list[Path]:
    """The `.cep` files named or found (recursively, sorted) under `paths`."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.cep") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"no such file or directory: {raw}")
    return files
