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
from cepengine.syntax.transform import MAX_NESTING, NestingTooDeep, to_ast

GRAMMAR_NAME = "cepengine.lark"
# `RULE` at the start of a line, followed by a name or nothing: a field
# called `rule` that starts a continuation line (`rule == 5`) is not a rule.
_RULE_START = re.compile(r"^[ \t]*RULE(?=[ \t]+[A-Za-z_]|[ \t]*(?:#|\r?$))", re.IGNORECASE | re.MULTILINE)
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
        offset = first_line - 1  # Lark counts from the chunk's first line
        try:
            tree = lark_parser().parse(chunk)
        except UnexpectedInput as exc:
            diagnostics.append(_syntax_diagnostic(exc, path, chunk, offset))
            continue
        try:
            rule, found = to_ast(tree, path, offset)
        except NestingTooDeep as exc:
            message = f"syntax error: this rule nests deeper than {MAX_NESTING} levels; simplify it"
            diagnostics.append(error("E001", message, exc.span))
            continue
        except (RecursionError, ValueError) as exc:
            diagnostics.append(_too_large(exc, path, chunk, offset))
            continue
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
    line = 1
    for begin, end in itertools.pairwise(bounds):
        chunk = text[begin:end]
        if not (begin == 0 and (not starts or starts[0] != 0) and _ONLY_COMMENTS.match(chunk)):
            chunks.append((line, chunk))
        line += chunk.count("\n")
    return chunks


def _syntax_diagnostic(exc: UnexpectedInput, path: str, chunk: str, offset: int) -> Diagnostic:
    """E001 for what Lark raised, positioned in the file (`offset` lines
    before the chunk), saying what would have been accepted."""
    expected = _accepted(exc)
    if isinstance(exc, UnexpectedToken | UnexpectedEOF) and _at_end(exc):
        line, col = _end_position(exc, chunk)
        message = f"syntax error: unexpected end of rule; expected {_describe_expected(expected)}"
        return error("E001", message, Span(path, line + offset, col, line + offset, col + 1))
    line, col = exc.line + offset, exc.column
    if isinstance(exc, UnexpectedToken):
        token: Token = exc.token
        end_col = token.end_column if token.end_line == token.line and token.end_column else col + len(token)
        span = Span(path, line, col, line, max(end_col, col + 1))
        if token.type == "EQUAL" and "COMPARE" in expected:
            return error("E001", "syntax error: '=' is not a comparison; write '=='", span)
        if token.type in ("INT", "NUMBER") and "DURATION" in expected:
            message = "syntax error: a duration has its unit right after the number, as in 250ms, 30s, 5m or 1h30m"
            return error("E001", message, span)
        message = f"syntax error: unexpected {_describe_token(token)}; expected {_describe_expected(expected)}"
        return error("E001", message, span)
    pos = exc.pos_in_stream or 0
    char = chunk[pos] if pos < len(chunk) else ""
    if char in "\"'":
        width = len(chunk[pos:].split("\n", 1)[0].rstrip("\r"))
        message = f"syntax error: unterminated string: add the closing {char} (a string ends on the line it starts)"
        return error("E001", message, Span(path, line, col, line, col + max(width, 1)))
    message = f"syntax error: unexpected character {char!r}; expected {_describe_expected(expected)}"
    return error("E001", message, Span(path, line, col, line, col + 1))


def _accepted(exc: UnexpectedInput) -> set[str]:
    """The terminals the parser could have taken. The interactive parser's
    answer is exact; the sets on the exception come from LALR lookaheads,
    which may name tokens that cannot follow here."""
    interactive = getattr(exc, "interactive_parser", None)
    if interactive is not None:
        return set(interactive.accepts())
    if isinstance(exc, UnexpectedCharacters):
        return set(exc.allowed or ())
    return set(getattr(exc, "expected", None) or ())


def _at_end(exc: UnexpectedToken | UnexpectedEOF) -> bool:
    return isinstance(exc, UnexpectedEOF) or exc.token.type == "$END"


def _end_position(exc: UnexpectedInput, chunk: str) -> tuple[int, int]:
    """Just after the last token of the rule (Lark's end token borrows the
    last token's position), or after the last non-blank character."""
    token = getattr(exc, "token", None)
    if token is not None and token.end_line and token.end_column and token.end_column > 1:
        return token.end_line, token.end_column
    stripped = re.sub(r"#[^\n]*", lambda m: " " * len(m.group(0)), chunk).rstrip()
    line = stripped.count("\n") + 1
    col = len(stripped) - (stripped.rfind("\n") + 1) + 1
    return line, col


def _too_large(exc: RecursionError | ValueError, path: str, chunk: str, offset: int) -> Diagnostic:
    """E001 for a rule that parsed but cannot be built: a number of thousands
    of digits (Python refuses to convert it), or nesting beyond the
    interpreter's recursion limit. Any other ValueError is a bug: re-raised."""
    digits = re.search(r"[0-9]{1000,}", chunk)
    if isinstance(exc, ValueError):
        if digits is None:
            raise exc
        line = chunk.count("\n", 0, digits.start()) + 1 + offset
        col = digits.start() - (chunk.rfind("\n", 0, digits.start()) + 1) + 1
        span = Span(path, line, col, line, col + len(digits.group(0)))
        return error("E001", f"syntax error: a number of {len(digits.group(0))} digits is too long", span)
    head = chunk.lstrip("\n")
    line = chunk.count("\n", 0, len(chunk) - len(head)) + 1 + offset
    first = head.split("\n", 1)[0].rstrip()
    col = len(first) - len(first.lstrip()) + 1
    span = Span(path, line, col, line, max(len(first) + 1, col + 1))
    return error("E001", "syntax error: this rule is nested too deeply to analyse", span)


def _describe_token(token: Token) -> str:
    return "end of input" if token.type == "$END" else repr(str(token))


# Terminals that start a clause, and binary operators: when many of them are
# acceptable, "expected" names the group instead of listing them.
_CLAUSE_STARTS = frozenset(
    {"DESCRIPTION", "SEVERITY", "TAGS", "PATTERN", "FROM", "BY", "WHERE", "SELECTION", "AFTER", "HAVING", "EMIT"}
    | {"ALLOWED"}
)
_OPERATORS = frozenset(
    {"PLUS", "MINUS", "STAR", "SLASH", "PERCENT", "COMPARE", "AND", "OR", "IN", "IS", "NOT", "MATCHES"}
    | {"CONTAINS", "STARTSWITH"}
)


_OPERAND_STARTS = frozenset({"NAME", "NUMBER", "STRING", "TRUE", "FALSE", "NULL", "LPAR"})


def _describe_expected(names: Iterable[object]) -> str:
    terminals = {str(n) for n in names}
    groups = []
    if terminals >= _OPERAND_STARTS:
        terminals -= _OPERAND_STARTS | {"MINUS", "NOT"}
        groups.append("an expression")
    if "COMPARE" in terminals or len(terminals & _OPERATORS) >= 4:
        terminals -= _OPERATORS
        groups.append("an operator")
    if len(terminals & _CLAUSE_STARTS) >= 3:
        terminals -= _CLAUSE_STARTS
        groups.append("another clause")
    if "$END" in terminals:
        terminals.discard("$END")
        groups.append("the end of the rule")
    described = sorted({_describe_terminal(n) for n in terminals}, key=lambda d: (not d.startswith("'"), d))
    described += groups
    if not described:
        return "nothing more"
    if len(described) == 1:
        return described[0]
    return ", ".join(described[:-1]) + " or " + described[-1]


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
