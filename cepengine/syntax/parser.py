"""The only Lark instance: rule text → `ast.Rule`s plus syntax diagnostics.

A file is cut into one chunk per `RULE` keyword at the start of a line and
each chunk is parsed on its own, so a syntax error in one rule never hides
the rules after it.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import attrs
from lark import Lark, Token, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr

from cepengine.diagnostics import Diagnostic, error
from cepengine.source import SourceFile, Span
from cepengine.syntax import ast
from cepengine.syntax.transform import to_ast

GRAMMAR_NAME = "cepengine.lark"
_RULE_START = re.compile(r"^[ \t]*RULE\b", re.IGNORECASE | re.MULTILINE)
_ONLY_COMMENTS = re.compile(r"\A(\s|#[^\n]*)*\Z")

# Human names for the regex terminals of the grammar, for "expected ..." lists.
_TERMINAL_NAMES = {
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "INT": "a whole number",
    "DURATION": "a duration such as 5m",
    "COMPARE": "a comparison operator",
    "SKIP_PAST_LAST": "SKIP PAST LAST",
    "SKIP_TO_NEXT": "SKIP TO NEXT",
    "NO_SKIP": "NO SKIP",
    "$END": "end of input",
}


def grammar_text() -> str:
    """The grammar shipped in the wheel, or the checkout's `grammar/` file."""
    packaged = resources.files("cepengine").joinpath("grammar").joinpath(GRAMMAR_NAME)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    checkout = Path(__file__).resolve().parents[2] / "grammar" / GRAMMAR_NAME
    return checkout.read_text(encoding="utf-8")


@functools.cache
def lark_parser() -> Lark:
    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=True,
        cache=False,
    )


@attrs.frozen(slots=True)
class ParsedFile:
    source: SourceFile
    rules: tuple[ast.Rule, ...]
    diagnostics: tuple[Diagnostic, ...]


def parse_text(text: str, path: str = "<string>") -> ParsedFile:
    """Parse every rule in `text`. Never raises on bad input: problems come
    back as diagnostics."""
    rules: list[ast.Rule] = []
    diagnostics: list[Diagnostic] = []
    for first_line, chunk in _chunks(text):
        # Pad with newlines so Lark's positions are the file's positions.
        padded = "\n" * (first_line - 1) + chunk
        try:
            tree = lark_parser().parse(padded)
        except UnexpectedInput as exc:
            diagnostics.append(_syntax_diagnostic(exc, path, padded))
            continue
        rule, found = to_ast(tree, path)
        rules.append(rule)
        diagnostics.extend(found)
    return ParsedFile(SourceFile(path, text), tuple(rules), tuple(diagnostics))


def parse_file(path: str | Path) -> ParsedFile:
    """Read and parse one `.cep` file (OSError / UnicodeDecodeError propagate:
    an unreadable path is a usage problem, not a rule problem)."""
    text = Path(path).read_text(encoding="utf-8")
    return parse_text(text, str(path))


def _chunks(text: str) -> list[tuple[int, str]]:
    """(first line number, text) for each RULE, plus any stray text before
    the first one (so it is reported, not ignored)."""
    starts = [m.start() for m in _RULE_START.finditer(text)]
    bounds = [0, *starts, len(text)] if not starts or starts[0] != 0 else [*starts, len(text)]
    chunks = []
    for begin, end in itertools.pairwise(bounds):
        chunk = text[begin:end]
        if begin == 0 and (not starts or starts[0] != 0) and _ONLY_COMMENTS.match(chunk):
            continue
        chunks.append((text.count("\n", 0, begin) + 1, chunk))
    return chunks


def _syntax_diagnostic(exc: UnexpectedInput, path: str, text: str) -> Diagnostic:
    line, col = exc.line, exc.column
    if (isinstance(exc, UnexpectedToken) and exc.token.type == "$END") or isinstance(exc, UnexpectedEOF):
        line, col = _end_position(text)
        expected = _describe_expected(getattr(exc, "accepts", None) or exc.expected or set())
        message = f"syntax error: unexpected end of rule; expected {expected}"
        return error("E001", message, Span(path, line, col, line, col + 1))
    if isinstance(exc, UnexpectedToken):
        token: Token = exc.token
        expected = _describe_expected(exc.accepts or exc.expected)
        message = f"syntax error: unexpected {_describe_token(token)}; expected {expected}"
        end_col = (token.end_column or col + len(token)) if token.end_line == line else col + len(token)
        return error("E001", message, Span(path, line, col, line, max(end_col, col + 1)))
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        char = text[pos] if pos < len(text) else ""
        expected = _describe_expected(exc.allowed or set())
        message = f"syntax error: unexpected character {char!r}; expected {expected}"
        return error("E001", message, Span(path, line, col, line, col + 1))
    return error("E001", f"syntax error: {exc}", Span(path, max(line, 1), max(col, 1), max(line, 1), max(col, 1) + 1))


def _end_position(text: str) -> tuple[int, int]:
    """Just after the last non-blank, non-comment character."""
    stripped = re.sub(r"#[^\n]*", lambda m: " " * len(m.group(0)), text).rstrip()
    line = stripped.count("\n") + 1
    col = len(stripped) - (stripped.rfind("\n") + 1) + 1
    return line, col


def _describe_token(token: Token) -> str:
    return "end of input" if token.type == "$END" else repr(str(token))


def _describe_expected(names: Iterable[object]) -> str:
    described = sorted({_describe_terminal(str(n)) for n in names})
    if len(described) > 12:
        described = [*described[:12], "..."]
    if len(described) == 1:
        return described[0]
    return "one of " + ", ".join(described)


def _describe_terminal(name: str) -> str:
    if name in _TERMINAL_NAMES:
        return _TERMINAL_NAMES[name]
    try:
        pattern = lark_parser().get_terminal(name).pattern
    except KeyError:
        return name
    if isinstance(pattern, PatternStr):
        value = pattern.value
        return value.upper() if value.isalpha() or "_" in value else repr(value)
    return name
