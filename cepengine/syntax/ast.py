"""The rule language's abstract syntax tree.

Frozen, slotted attrs classes with tuple children. Every node carries the
`span` of the text it came from; spans are excluded from equality so that
trees compare structurally (a rule parsed from two files is the same rule).
Nothing here imports lark.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import attrs

from cepengine.source import NO_SPAN, Span


def _span() -> Span:
    return attrs.field(default=NO_SPAN, eq=False, repr=False)  # type: ignore[no-any-return]


# ---- expressions -----------------------------------------------------------

LiteralValue: TypeAlias = int | float | str | bool | None


@attrs.frozen(slots=True)
class Const:
    value: LiteralValue
    span: Span = _span()


@attrs.frozen(slots=True)
class Path:
    """`a.b.c`: a field path, or an alias / `prev` followed by a field path.
    Which it is depends on the rule's aliases and is settled in analysis."""

    parts: tuple[str, ...]
    span: Span = _span()

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@attrs.frozen(slots=True)
class Call:
    """`name(args)`: a scalar function (abs, lower, upper, len, exists) or an
    aggregate (count, sum, avg, min, max, first, last, count_distinct)."""

    name: str
    args: tuple[Expr, ...]
    span: Span = _span()


@attrs.frozen(slots=True)
class Member:
    """`first(x).f.g`: a field of an event returned by a call."""

    target: Call
    parts: tuple[str, ...]
    span: Span = _span()


ArithOp = Literal["+", "-", "*", "/", "%"]


@attrs.frozen(slots=True)
class Arith:
    op: ArithOp
    left: Expr
    right: Expr
    span: Span = _span()


@attrs.frozen(slots=True)
class Negate:
    operand: Expr
    span: Span = _span()


CompareOp = Literal["==", "!=", "<", "<=", ">", ">=", "matches", "contains", "startswith"]


@attrs.frozen(slots=True)
class Compare:
    op: CompareOp
    left: Expr
    right: Expr
    span: Span = _span()


@attrs.frozen(slots=True)
class InList:
    operand: Expr
    items: tuple[Expr, ...]
    negated: bool
    span: Span = _span()


@attrs.frozen(slots=True)
class IsNull:
    operand: Expr
    negated: bool
    span: Span = _span()


@attrs.frozen(slots=True)
class BoolOp:
    op: Literal["and", "or"]
    left: Expr
    right: Expr
    span: Span = _span()


@attrs.frozen(slots=True)
class Not:
    operand: Expr
    span: Span = _span()


Expr: TypeAlias = Const | Path | Call | Member | Arith | Negate | Compare | InList | IsNull | BoolOp | Not


# ---- patterns --------------------------------------------------------------


@attrs.frozen(slots=True)
class Quantifier:
    """`+ * ? {n} {n,} {n,m}` as bounds; `max is None` means unbounded."""

    min: int
    max: int | None
    text: str
    span: Span = _span()


@attrs.frozen(slots=True)
class Element:
    """`TYPE[pred]{q} AS alias`; `type_name is None` for ANY."""

    type_name: str | None
    predicate: Expr | None
    quantifier: Quantifier | None
    explicit_alias: str | None
    span: Span = _span()
    alias_span: Span = _span()

    @property
    def alias(self) -> str:
        return self.explicit_alias or self.type_name or "ANY"

    @property
    def quantified(self) -> bool:
        return self.quantifier is not None and self.quantifier.max != 1

    @property
    def optional(self) -> bool:
        return self.quantifier is not None and self.quantifier.min == 0


@attrs.frozen(slots=True)
class Seq:
    items: tuple[Pattern, ...]
    span: Span = _span()


@attrs.frozen(slots=True)
class AndPattern:
    items: tuple[Pattern, ...]
    span: Span = _span()


@attrs.frozen(slots=True)
class OrPattern:
    items: tuple[Pattern, ...]
    span: Span = _span()


@attrs.frozen(slots=True)
class NotPattern:
    element: Element
    span: Span = _span()


Pattern: TypeAlias = Seq | AndPattern | OrPattern | NotPattern | Element


# ---- clauses ---------------------------------------------------------------


@attrs.frozen(slots=True)
class Duration:
    ms: int
    text: str
    span: Span = _span()


WindowKind = Literal["tumbling", "sliding", "session"]


@attrs.frozen(slots=True)
class Window:
    """TUMBLING size | SLIDING size EVERY slide | SESSION GAP gap."""

    kind: WindowKind
    size: Duration
    slide: Duration | None = None
    span: Span = _span()


@attrs.frozen(slots=True)
class PatternClause:
    pattern: Pattern
    within: Duration | None
    span: Span = _span()


@attrs.frozen(slots=True)
class FromClause:
    element: Element
    window: Window
    span: Span = _span()


@attrs.frozen(slots=True)
class EmitItem:
    """`name = expr`, or a bare path (`explicit` False) named by its last
    segment."""

    name: str
    expr: Expr
    explicit: bool
    span: Span = _span()


Selection = Literal["STRICT", "SKIP_TILL_NEXT", "SKIP_TILL_ANY"]
AfterMatch = Literal["SKIP_PAST_LAST", "SKIP_TO_NEXT", "NO_SKIP"]
SEVERITIES = ("low", "medium", "high", "critical")


@attrs.frozen(slots=True)
class Clause:
    """Where an optional clause was written: analysis points at it."""

    keyword: str
    span: Span = _span()


@attrs.frozen(slots=True)
class Rule:
    """One RULE with its clauses. Exactly one of `pattern` / `source` is set
    in a valid rule (analysis reports otherwise)."""

    name: str
    pattern: PatternClause | None = None
    source: FromClause | None = None
    by: tuple[Path, ...] = ()
    where: Expr | None = None
    having: Expr | None = None
    emit: tuple[EmitItem, ...] = ()
    selection: Selection = "SKIP_TILL_NEXT"
    after_match: AfterMatch = "SKIP_PAST_LAST"
    description: str = ""
    severity: str = "medium"
    tags: tuple[str, ...] = ()
    allowed_lateness: Duration | None = None
    # Where each written clause starts, keyed by its keyword (SELECTION,
    # AFTER MATCH, ...), so analysis can point at a misplaced clause.
    clauses: tuple[Clause, ...] = attrs.field(default=(), eq=False, repr=False)
    span: Span = _span()
    name_span: Span = _span()

    def clause_span(self, keyword: str) -> Span | None:
        for clause in self.clauses:
            if clause.keyword == keyword:
                return clause.span
        return None

    @property
    def is_pattern(self) -> bool:
        return self.pattern is not None


def elements(pattern: Pattern) -> tuple[Element, ...]:
    """Every element of a pattern (NOT's included) in source order."""
    match pattern:
        case Element():
            return (pattern,)
        case NotPattern():
            return (pattern.element,)
        case Seq() | AndPattern() | OrPattern():
            return tuple(e for item in pattern.items for e in elements(item))


def rule_elements(rule: Rule) -> tuple[Element, ...]:
    if rule.pattern is not None:
        return elements(rule.pattern.pattern)
    if rule.source is not None:
        return (rule.source.element,)
    return ()


def walk_expr(expr: Expr) -> tuple[Expr, ...]:
    """The expression and all its sub-expressions, pre-order."""
    out: list[Expr] = []
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(children(node)))
    return tuple(out)


def children(expr: Expr) -> tuple[Expr, ...]:
    match expr:
        case Const() | Path():
            return ()
        case Call():
            return expr.args
        case Member():
            return (expr.target,)
        case Arith() | Compare() | BoolOp():
            return (expr.left, expr.right)
        case Negate() | Not() | IsNull():
            return (expr.operand,)
        case InList():
            return (expr.operand, *expr.items)
