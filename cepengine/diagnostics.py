"""Diagnostics as data, and their rendering (pure functions)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import attrs

from cepengine.source import SourceFile, Span

Severity = Literal["error", "warning"]


@attrs.frozen(slots=True)
class Diagnostic:
    """One problem found in rule text, with a stable code (E0xx / W1xx)."""

    code: str
    severity: Severity
    message: str
    span: Span

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.span.path, self.span.line, self.span.col, self.code)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "path": self.span.path,
            "line": self.span.line,
            "col": self.span.col,
            "end_line": self.span.end_line,
            "end_col": self.span.end_col,
            "message": self.message,
        }


def error(code: str, message: str, span: Span) -> Diagnostic:
    return Diagnostic(code, "error", message, span)


def warning(code: str, message: str, span: Span) -> Diagnostic:
    return Diagnostic(code, "warning", message, span)


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Sorted by position, with exact repeats removed."""
    return sorted(set(diagnostics), key=lambda d: d.sort_key)


_COLOURS = {"error": "\x1b[1;31m", "warning": "\x1b[1;33m", "bold": "\x1b[1m", "reset": "\x1b[0m"}


def render(
    diagnostic: Diagnostic,
    sources: Mapping[str, SourceFile],
    colour: bool = False,
) -> str:
    """Compiler-style text: `path:line:col: severity: message [CODE]`, then
    the source line and the span underlined (caret, then tildes)."""
    span = diagnostic.span

    def paint(text: str, style: str) -> str:
        return f"{_COLOURS[style]}{text}{_COLOURS['reset']}" if colour else text

    head = (
        f"{paint(str(span) + ':', 'bold')} "
        f"{paint(diagnostic.severity + ':', diagnostic.severity)} "
        f"{diagnostic.message} [{diagnostic.code}]"
    )
    source = sources.get(span.path)
    if source is None:
        return head
    text = source.line_text(span.line).rstrip("\n").expandtabs(1)
    if not text.strip():
        return head
    last_col = span.end_col if span.end_line == span.line else len(text) + 1
    width = max(1, last_col - span.col)
    underline = " " * (span.col - 1) + "^" + "~" * (width - 1)
    gutter = f"{span.line:>5} | "
    pad = " " * (len(gutter) - 2) + "| "
    return f"{head}\n{gutter}{text}\n{pad}{paint(underline, diagnostic.severity)}"


def summary_line(diagnostics: Iterable[Diagnostic], files: int) -> str:
    found = list(diagnostics)
    errors = sum(1 for d in found if d.severity == "error")
    warnings = len(found) - errors
    return (
        f"{files} file{'s' if files != 1 else ''} checked: "
        f"{errors} error{'s' if errors != 1 else ''}, "
        f"{warnings} warning{'s' if warnings != 1 else ''}"
    )
