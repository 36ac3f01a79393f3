"""Which aliases each part of a pattern rule may refer to.

Shared by the analysis passes and the compiler, so both agree on what a path
such as `l.ip` means. Rules of scope:
- In SEQ, an element sees the aliases of the elements before it.
- The children of AND / OR see only what their parent sees (their order is
  not known); after the AND / OR, all their aliases are bound (an OR branch
  not taken leaves its aliases missing).
- A NOT element binds nothing.
- WHERE and EMIT see every positive alias.
- Inside an element's own predicate its own alias is the candidate event, or
  for a quantified element the iterations taken so far.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from cepengine.syntax import ast

PREV = "prev"
SCALAR_FUNCTIONS = {"abs": 1, "lower": 1, "upper": 1, "len": 1, "exists": 1}
PATTERN_AGGREGATES = {"count", "sum", "avg", "min", "max", "first", "last"}
WINDOW_AGGREGATES = {"count", "count_distinct", "sum", "avg", "min", "max", "first", "last"}


@attrs.frozen(slots=True)
class ElementScope:
    """One element, whether it is negated, and the aliases bound before it."""

    element: ast.Element
    negated: bool
    visible: frozenset[str]
    position: int  # index among the rule's elements, source order


def element_scopes(pattern: ast.Pattern) -> list[ElementScope]:
    scopes: list[ElementScope] = []
    _visit(pattern, frozenset(), False, scopes)
    return scopes


def _visit(pattern: ast.Pattern, visible: frozenset[str], negated: bool, out: list[ElementScope]) -> frozenset[str]:
    """Record scopes under `pattern`; return the aliases bound after it."""
    match pattern:
        case ast.Element():
            out.append(ElementScope(pattern, negated, visible, len(out)))
            return visible if negated else visible | {pattern.alias}
        case ast.NotPattern():
            _visit(pattern.element, visible, True, out)
            return visible
        case ast.Seq():
            for item in pattern.items:
                visible = _visit(item, visible, negated, out)
            return visible
        case ast.AndPattern() | ast.OrPattern():
            bound = visible
            for item in pattern.items:
                bound = bound | _visit(item, visible, negated, out)
            return bound


def positive_aliases(pattern: ast.Pattern) -> dict[str, ast.Element]:
    return {s.element.alias: s.element for s in element_scopes(pattern) if not s.negated}


def quantified_aliases(pattern: ast.Pattern) -> set[str]:
    return {alias for alias, e in positive_aliases(pattern).items() if e.quantified}


def paths_in(expr: ast.Expr) -> Iterator[ast.Path]:
    for node in ast.walk_expr(expr):
        if isinstance(node, ast.Path):
            yield node


def first_elements(pattern: ast.Pattern) -> list[ast.Element]:
    """The elements that can bind the first event of a match."""
    match pattern:
        case ast.Element():
            return [pattern]
        case ast.NotPattern():
            return []
        case ast.Seq():
            found: list[ast.Element] = []
            for item in pattern.items:
                found.extend(first_elements(item))
                if not can_be_empty(item):
                    break
            return found
        case ast.AndPattern() | ast.OrPattern():
            return [e for item in pattern.items for e in first_elements(item)]


def can_be_empty(pattern: ast.Pattern) -> bool:
    match pattern:
        case ast.Element():
            return pattern.optional
        case ast.NotPattern():
            return True
        case ast.Seq() | ast.AndPattern():
            return all(can_be_empty(i) for i in pattern.items)
        case ast.OrPattern():
            return any(can_be_empty(i) for i in pattern.items)
