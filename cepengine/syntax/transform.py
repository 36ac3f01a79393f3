"""The one place a Lark parse tree becomes AST nodes.

Nothing downstream of this module sees a Lark tree or token.
"""

from __future__ import annotations

import re
from typing import Any

import attrs
from lark import Token, Tree
from lark.tree import Meta

from cepengine.diagnostics import Diagnostic, error
from cepengine.source import Span
from cepengine.syntax import ast

_DURATION_PART = re.compile(r"([0-9]+)(ms|s|m|h|d)", re.IGNORECASE)
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t"}
_ESCAPE = re.compile(r"\\(.)")


# Deeper parse trees are refused (E001) rather than risking RecursionError in
# the recursive passes downstream; real rules nest a few dozen levels at most.
MAX_NESTING = 200


class NestingTooDeep(Exception):
    """A rule nests more than MAX_NESTING levels (raised by `to_ast`)."""

    def __init__(self, span: Span) -> None:
        super().__init__(f"nesting deeper than {MAX_NESTING} levels at {span}")
        self.span = span


def duration_ms(text: str) -> int:
    """`1h30m` → 5_400_000. The text must already be a valid duration token."""
    return sum(int(n) * _UNIT_MS[unit.lower()] for n, unit in _DURATION_PART.findall(text))


def decode_string(token_text: str) -> str:
    """Strip quotes; decode \\" \\' \\\\ \\n \\t and keep any other backslash
    as written, so that regexes such as "\\d+" read as they do in Python."""
    body = token_text[1:-1]
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(0)), body)


def _number(text: str) -> int | float:
    return int(text) if text.isdigit() else float(text)


class ToAst:
    """Parse tree of one rule → `ast.Rule`; clause-level problems that the
    grammar cannot express (a clause written twice) go to `diagnostics`.

    Each grammar rule (or alias) `x` has a method `x(meta, *children)`.
    `build` walks the tree bottom-up itself rather than through a Lark
    `Transformer`: with `v_args(meta=True)` Lark wraps every call, which
    made the transform a third of the time spent checking a large rule set.
    `line_offset` shifts every position: a rule cut from the middle of a
    file is parsed on its own."""

    def __init__(self, path: str, line_offset: int = 0) -> None:
        self.file_path = path
        self.line_offset = line_offset
        self.diagnostics: list[Diagnostic] = []

    def build(self, node: Tree[Token] | Token | None, depth: int = 0) -> Any:
        if not isinstance(node, Tree):
            return node
        if depth > MAX_NESTING:
            where = self._span(node.meta)
            raise NestingTooDeep(attrs.evolve(where, end_line=where.line, end_col=where.col + 1))
        children = [self.build(child, depth + 1) for child in node.children]
        return getattr(self, str(node.data))(node.meta, *children)

    # -- spans ---------------------------------------------------------------

    def _span(self, meta: Meta) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.file_path, 1 + self.line_offset, 1, 1 + self.line_offset, 1)
        offset = self.line_offset
        return Span(self.file_path, meta.line + offset, meta.column, meta.end_line + offset, meta.end_column)

    def _tok(self, token: Token) -> Span:
        line = (token.line or 1) + self.line_offset
        end_line = (token.end_line or token.line or 1) + self.line_offset
        col = token.column or 1
        return Span(self.file_path, line, col, end_line, token.end_column or col + len(token))

    # -- rule and clauses ----------------------------------------------------

    def start(self, meta: Meta, name: Token, *clauses: tuple[str, Any, Span]) -> ast.Rule:
        fields: dict[str, Any] = {}
        seen: list[ast.Clause] = []
        for keyword, value, span in clauses:
            if any(c.keyword == keyword for c in seen):
                self.diagnostics.append(
                    error("E021", f"{keyword} is written twice in rule '{name}' (each clause at most once)", span)
                )
                continue
            seen.append(ast.Clause(keyword, span))
            fields.update(value)
        return ast.Rule(
            name=str(name),
            clauses=tuple(seen),
            span=self._span(meta),
            name_span=self._tok(name),
            **fields,
        )

    def description(self, meta: Meta, text: Token) -> tuple[str, Any, Span]:
        return "DESCRIPTION", {"description": decode_string(text)}, self._span(meta)

    def severity(self, meta: Meta, level: Token) -> tuple[str, Any, Span]:
        return "SEVERITY", {"severity": str(level).lower()}, self._span(meta)

    def tags(self, meta: Meta, *tags: Token) -> tuple[str, Any, Span]:
        values = tuple(decode_string(t) if t.type == "STRING" else str(t) for t in tags)
        return "TAGS", {"tags": values}, self._span(meta)

    def pattern_clause(
        self, meta: Meta, pattern: ast.Pattern, _within: Token | None, within: ast.Duration | None
    ) -> tuple[str, Any, Span]:
        span = self._span(meta)
        return "PATTERN", {"pattern": ast.PatternClause(pattern, within, span)}, span

    def from_clause(self, meta: Meta, element: ast.Element, _kw: Token, window: ast.Window) -> tuple[str, Any, Span]:
        span = self._span(meta)
        return "FROM", {"source": ast.FromClause(element, window, span)}, span

    def by_clause(self, meta: Meta, *paths: ast.Path) -> tuple[str, Any, Span]:
        return "BY", {"by": paths}, self._span(meta)

    def where_clause(self, meta: Meta, expr: ast.Expr) -> tuple[str, Any, Span]:
        return "WHERE", {"where": expr}, self._span(meta)

    def having(self, meta: Meta, expr: ast.Expr) -> tuple[str, Any, Span]:
        return "HAVING", {"having": expr}, self._span(meta)

    def selection(self, meta: Meta, strategy: Token) -> tuple[str, Any, Span]:
        return "SELECTION", {"selection": strategy.type}, self._span(meta)

    def after_match(self, meta: Meta, skip: Token) -> tuple[str, Any, Span]:
        return "AFTER MATCH", {"after_match": skip.type}, self._span(meta)

    def lateness(self, meta: Meta, _kw: Token, duration: ast.Duration) -> tuple[str, Any, Span]:
        return "ALLOWED LATENESS", {"allowed_lateness": duration}, self._span(meta)

    def emit(self, meta: Meta, *items: ast.EmitItem) -> tuple[str, Any, Span]:
        return "EMIT", {"emit": items}, self._span(meta)

    def named_emit(self, meta: Meta, name: Token, expr: ast.Expr) -> ast.EmitItem:
        return ast.EmitItem(str(name), expr, True, self._span(meta))

    def bare_emit(self, meta: Meta, path: ast.Path) -> ast.EmitItem:
        return ast.EmitItem(path.parts[-1], path, False, self._span(meta))

    # -- windows and durations -----------------------------------------------

    def tumbling(self, meta: Meta, _kw: Token, size: ast.Duration) -> ast.Window:
        return ast.Window("tumbling", size, None, self._span(meta))

    def sliding(self, meta: Meta, _kw: Token, size: ast.Duration, slide: ast.Duration) -> ast.Window:
        return ast.Window("sliding", size, slide, self._span(meta))

    def session(self, meta: Meta, _kw: Token, gap: ast.Duration) -> ast.Window:
        return ast.Window("session", gap, None, self._span(meta))

    def duration(self, meta: Meta, minus: Token | None, text: Token) -> ast.Duration:
        sign = -1 if minus is not None else 1
        written = ("-" if minus is not None else "") + str(text)
        return ast.Duration(sign * duration_ms(str(text)), written, self._span(meta))

    # -- patterns ------------------------------------------------------------

    def seq(self, meta: Meta, _kw: Token, *items: ast.Pattern) -> ast.Seq:
        return ast.Seq(items, self._span(meta))

    def and_pattern(self, meta: Meta, _kw: Token, *items: ast.Pattern) -> ast.AndPattern:
        return ast.AndPattern(items, self._span(meta))

    def or_pattern(self, meta: Meta, _kw: Token, *items: ast.Pattern) -> ast.OrPattern:
        return ast.OrPattern(items, self._span(meta))

    def not_pattern(self, meta: Meta, _kw: Token, element: ast.Element) -> ast.NotPattern:
        return ast.NotPattern(element, self._span(meta))

    def element(
        self,
        meta: Meta,
        type_token: Token,
        predicate: ast.Expr | None,
        quantifier: ast.Quantifier | None,
        _as: Token | None,
        alias: Token | None,
    ) -> ast.Element:
        type_name = None if type_token.type == "ANY" else str(type_token)
        alias_span = self._tok(alias) if alias is not None else self._tok(type_token)
        return ast.Element(
            type_name,
            predicate,
            quantifier,
            str(alias) if alias is not None else None,
            self._span(meta),
            alias_span,
        )

    def q_plus(self, meta: Meta, _t: Token) -> ast.Quantifier:
        return ast.Quantifier(1, None, "+", self._span(meta))

    def q_star(self, meta: Meta, _t: Token) -> ast.Quantifier:
        return ast.Quantifier(0, None, "*", self._span(meta))

    def q_optional(self, meta: Meta, _t: Token) -> ast.Quantifier:
        return ast.Quantifier(0, 1, "?", self._span(meta))

    def q_exact(self, meta: Meta, n: Token) -> ast.Quantifier:
        return ast.Quantifier(int(n), int(n), f"{{{n}}}", self._span(meta))

    def q_at_least(self, meta: Meta, n: Token) -> ast.Quantifier:
        return ast.Quantifier(int(n), None, f"{{{n},}}", self._span(meta))

    def q_between(self, meta: Meta, n: Token, m: Token) -> ast.Quantifier:
        return ast.Quantifier(int(n), int(m), f"{{{n},{m}}}", self._span(meta))

    # -- expressions ---------------------------------------------------------

    def number(self, meta: Meta, text: Token) -> ast.Const:
        return ast.Const(_number(str(text)), self._span(meta))

    def string(self, meta: Meta, text: Token) -> ast.Const:
        return ast.Const(decode_string(str(text)), self._span(meta))

    def true(self, meta: Meta, _t: Token) -> ast.Const:
        return ast.Const(True, self._span(meta))

    def false(self, meta: Meta, _t: Token) -> ast.Const:
        return ast.Const(False, self._span(meta))

    def null(self, meta: Meta, _t: Token) -> ast.Const:
        return ast.Const(None, self._span(meta))

    def path(self, meta: Meta, *parts: Token) -> ast.Path:
        return ast.Path(tuple(str(p) for p in parts), self._span(meta))

    def call(self, meta: Meta, name: Token, *args: ast.Expr | None) -> ast.Call:
        return ast.Call(str(name), tuple(a for a in args if a is not None), self._span(meta))

    def member(self, meta: Meta, target: ast.Call, *parts: Token) -> ast.Member:
        return ast.Member(target, tuple(str(p) for p in parts), self._span(meta))

    def arith(self, meta: Meta, left: ast.Expr, op: Token, right: ast.Expr) -> ast.Arith:
        return ast.Arith(str(op), left, right, self._span(meta))  # type: ignore[arg-type]

    def negate(self, meta: Meta, _minus: Token, operand: ast.Expr) -> ast.Expr:
        if (
            isinstance(operand, ast.Const)
            and isinstance(operand.value, int | float)
            and not isinstance(operand.value, bool)
        ):
            return ast.Const(-operand.value, self._span(meta))
        return ast.Negate(operand, self._span(meta))

    def compare(self, meta: Meta, left: ast.Expr, op: Token, right: ast.Expr) -> ast.Compare:
        return ast.Compare(str(op), left, right, self._span(meta))  # type: ignore[arg-type]

    def _string_test(self, op: ast.CompareOp, meta: Meta, left: ast.Expr, right: ast.Expr) -> ast.Compare:
        return ast.Compare(op, left, right, self._span(meta))

    def matches(self, meta: Meta, left: ast.Expr, _kw: Token, right: ast.Expr) -> ast.Compare:
        return self._string_test("matches", meta, left, right)

    def contains(self, meta: Meta, left: ast.Expr, _kw: Token, right: ast.Expr) -> ast.Compare:
        return self._string_test("contains", meta, left, right)

    def startswith(self, meta: Meta, left: ast.Expr, _kw: Token, right: ast.Expr) -> ast.Compare:
        return self._string_test("startswith", meta, left, right)

    def in_list(self, meta: Meta, operand: ast.Expr, _in: Token, *items: ast.Expr) -> ast.InList:
        return ast.InList(operand, items, False, self._span(meta))

    def not_in_list(self, meta: Meta, operand: ast.Expr, _not: Token, _in: Token, *items: ast.Expr) -> ast.InList:
        return ast.InList(operand, items, True, self._span(meta))

    def is_null(self, meta: Meta, operand: ast.Expr, _is: Token, _null: Token) -> ast.IsNull:
        return ast.IsNull(operand, False, self._span(meta))

    def is_not_null(self, meta: Meta, operand: ast.Expr, _is: Token, _not: Token, _null: Token) -> ast.IsNull:
        return ast.IsNull(operand, True, self._span(meta))

    def and_op(self, meta: Meta, left: ast.Expr, _kw: Token, right: ast.Expr) -> ast.BoolOp:
        return ast.BoolOp("and", left, right, self._span(meta))

    def or_op(self, meta: Meta, left: ast.Expr, _kw: Token, right: ast.Expr) -> ast.BoolOp:
        return ast.BoolOp("or", left, right, self._span(meta))

    def not_op(self, meta: Meta, _kw: Token, operand: ast.Expr) -> ast.Not:
        return ast.Not(operand, self._span(meta))


def to_ast(tree: Tree[Token], path: str, line_offset: int = 0) -> tuple[ast.Rule, list[Diagnostic]]:
    """The rule in `tree`, and the problems found while building it.

    May raise NestingTooDeep or ValueError (a number too long to convert):
    the parser reports those as syntax errors."""
    transformer = ToAst(path, line_offset)
    rule: ast.Rule = transformer.build(tree)
    return rule, transformer.diagnostics
