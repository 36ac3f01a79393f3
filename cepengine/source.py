"""Source files and spans: where a piece of rule text came from."""

from __future__ import annotations

import functools

import attrs


@attrs.frozen(slots=True)
class Span:
    """A region of a rule file: 1-based lines and columns, end inclusive of
    the last character's column + 1 (so `end_col - col` is the width on one
    line)."""

    path: str
    line: int
    col: int
    end_line: int
    end_col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"

    def merge(self, other: Span) -> Span:
        """The smallest span covering both (assumed to be in one file)."""
        start = min((self.line, self.col), (other.line, other.col))
        end = max((self.end_line, self.end_col), (other.end_line, other.end_col))
        return Span(self.path, start[0], start[1], end[0], end[1])


NO_SPAN = Span("<unknown>", 1, 1, 1, 1)


@attrs.frozen(slots=True)
class SourceFile:
    """The text of one rule file, kept so diagnostics can quote it."""

    path: str
    text: str

    @functools.cached_property
    def lines(self) -> tuple[str, ...]:
        # Split on "\n" only, as the parser counts lines: str.splitlines()
        # would also break at \f, \v, \x1c-\x1e, \x85 and \u2028.
        return tuple(line.removesuffix("\r") for line in self.text.split("\n"))

    def line_text(self, line: int) -> str:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""
