"""Predicates: literal types, regexes, and conditions that can never hold."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

import attrs

from cepengine.diagnostics import Diagnostic, error, warning
from cepengine.syntax import ast

ORDERING = {"<", "<=", ">", ">="}
FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
STRING_TESTS = {"matches", "contains", "startswith"}


def rule_expressions(rule: ast.Rule) -> Iterator[ast.Expr]:
    for element in ast.rule_elements(rule):
        if element.predicate is not None:
            yield element.predicate
    for expr in (rule.where, rule.having):
        if expr is not None:
            yield expr
    for item in rule.emit:
        yield item.expr


def check_predicates(rule: ast.Rule) -> Iterator[Diagnostic]:
    for root in rule_expressions(rule):
        for node in ast.walk_expr(root):
            yield from _literal_types(node)
        yield from _never_holds(root)


def literal_kind(value: ast.LiteralValue) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"


def _literal_types(node: ast.Expr) -> Iterator[Diagnostic]:
    match node:
        case ast.Compare(op=op, left=ast.Const() as left, right=ast.Const() as right) if op not in STRING_TESTS:
            yield from _incompatible(node, left, right)
        case ast.Compare(op=op, right=ast.Const() as right) if op in STRING_TESTS:
            if not isinstance(right.value, str):
                yield error("E018", f"{op} needs a string, not {literal_kind(right.value)} {right.value!r}", right.span)
            elif op == "matches":
                yield from _regex(right)
        case ast.InList(operand=ast.Const() as operand):
            for item in node.items:
                if isinstance(item, ast.Const):
                    yield from _incompatible(item, operand, item)
        case ast.Arith(left=left, right=right):
            for side in (left, right):
                if isinstance(side, ast.Const) and literal_kind(side.value) != "number":
                    yield error(
                        "E018",
                        f"arithmetic '{node.op}' on {literal_kind(side.value)} {side.value!r}",
                        side.span,
                    )
        case _:
            pass


def _incompatible(node: ast.Expr, left: ast.Const, right: ast.Const) -> Iterator[Diagnostic]:
    kinds = {literal_kind(left.value), literal_kind(right.value)}
    if len(kinds) > 1 and "null" not in kinds:
        yield error(
            "E018",
            f"comparing {literal_kind(left.value)} {left.value!r} with "
            f"{literal_kind(right.value)} {right.value!r} is always false",
            node.span,
        )


def _regex(pattern: ast.Const) -> Iterator[Diagnostic]:
    try:
        re.compile(str(pattern.value))
    except re.error as exc:
        yield error("E019", f"invalid regex: {exc}", pattern.span)
    except (OverflowError, RecursionError) as exc:  # a{99999999999}, deep groups
        yield error("E019", f"invalid regex: {exc}", pattern.span)


# ---- conditions that can never hold -----------------------------------------


@attrs.frozen(slots=True)
class Interval:
    """The values a field may take under a conjunction of comparisons."""

    low: float = -math.inf
    low_closed: bool = False
    high: float = math.inf
    high_closed: bool = False
    equal_to: frozenset[str | bool] = frozenset()

    @property
    def empty(self) -> bool:
        if len(self.equal_to) > 1:
            return True
        if self.low > self.high:
            return True
        return self.low == self.high and not (self.low_closed and self.high_closed)

    def narrow(self, op: str, value: float) -> Interval:
        if op in (">", ">=") and (value > self.low or (value == self.low and op == ">")):
            return attrs.evolve(self, low=value, low_closed=op == ">=")
        if op in ("<", "<=") and (value < self.high or (value == self.high and op == "<")):
            return attrs.evolve(self, high=value, high_closed=op == "<=")
        if op == "==":
            return self.narrow(">=", value).narrow("<=", value)
        return self


def _never_holds(root: ast.Expr) -> Iterator[Diagnostic]:
    """Check each maximal AND-chain in the expression (at any depth)."""
    stack: list[tuple[ast.Expr, bool]] = [(root, False)]
    while stack:
        node, inside_and = stack.pop()
        is_and = isinstance(node, ast.BoolOp) and node.op == "and"
        if is_and and not inside_and and _contradictory(_conjuncts(node)):
            yield warning("W103", "this condition can never hold", node.span)
        for child in ast.children(node):
            stack.append((child, is_and))


def _conjuncts(expr: ast.Expr) -> list[ast.Expr]:
    if isinstance(expr, ast.BoolOp) and expr.op == "and":
        return _conjuncts(expr.left) + _conjuncts(expr.right)
    return [expr]


def _contradictory(conjuncts: list[ast.Expr]) -> bool:
    intervals: dict[str, Interval] = {}
    for term in conjuncts:
        constraint = _field_constraint(term)
        if constraint is None:
            continue
        field, op, value = constraint
        current = intervals.get(field, Interval())
        if isinstance(value, str | bool):
            if op == "==":
                current = attrs.evolve(current, equal_to=current.equal_to | {value})
        elif op in ORDERING or op == "==":
            current = current.narrow(op, value)
        intervals[field] = current
        if current.empty:
            return True
    return False


def _field_constraint(term: ast.Expr) -> tuple[str, str, float | str | bool] | None:
    """`path OP literal` (either way round) as (path, op, value)."""
    if not isinstance(term, ast.Compare) or term.op not in FLIPPED:
        return None
    left, right, op = term.left, term.right, str(term.op)
    if isinstance(left, ast.Const) and isinstance(right, ast.Path):
        left, right, op = right, left, FLIPPED[op]
    if not (isinstance(left, ast.Path) and isinstance(right, ast.Const)) or right.value is None:
        return None
    value = right.value
    if isinstance(value, str | bool) and op != "==":
        return None
    return left.dotted, op, value
