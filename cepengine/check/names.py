"""Names in a rule: aliases, paths, functions, aggregates and EMIT."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Literal

import attrs

from cepengine.check.scope import (
    PATTERN_AGGREGATES,
    PREV,
    SCALAR_FUNCTIONS,
    WINDOW_AGGREGATES,
    element_scopes,
)
from cepengine.diagnostics import Diagnostic, error, warning
from cepengine.source import Span
from cepengine.syntax import ast

Place = Literal["element", "match", "window_filter", "window_result"]


@attrs.frozen(slots=True)
class Context:
    """What an expression may refer to where it is written."""

    place: Place
    clause: str
    visible: frozenset[str] = frozenset()
    own: ast.Element | None = None
    positive: frozenset[str] = frozenset()
    negated: frozenset[str] = frozenset()
    quantified: frozenset[str] = frozenset()
    by_fields: frozenset[str] = frozenset()


def check_names(rule: ast.Rule) -> Iterator[Diagnostic]:
    if rule.pattern is not None:
        yield from _pattern_rule(rule, rule.pattern.pattern)
    elif rule.source is not None:
        yield from _window_rule(rule, rule.source)
    yield from _emit_names(rule.emit)


def check_rule_names(rules: Iterable[ast.Rule]) -> Iterator[Diagnostic]:
    """Rule names are unique across every loaded file."""
    first_seen: dict[str, ast.Rule] = {}
    for rule in rules:
        earlier = first_seen.setdefault(rule.name, rule)
        if earlier is not rule:
            yield error(
                "E005",
                f"rule '{rule.name}' is already defined at {earlier.name_span}",
                rule.name_span,
            )


def _pattern_rule(rule: ast.Rule, pattern: ast.Pattern) -> Iterator[Diagnostic]:
    scopes = element_scopes(pattern)
    seen: dict[str, ast.Element] = {}
    for scope in scopes:
        alias = scope.element.alias
        if alias in seen:
            yield error(
                "E004",
                f"alias '{alias}' is already bound at {seen[alias].alias_span}; name this element with AS",
                scope.element.alias_span,
            )
        seen.setdefault(alias, scope.element)
    base = Context(
        place="match",
        clause="WHERE",
        positive=frozenset(s.element.alias for s in scopes if not s.negated),
        negated=frozenset(s.element.alias for s in scopes if s.negated),
        quantified=frozenset(s.element.alias for s in scopes if s.element.quantified and not s.negated),
        by_fields=frozenset(p.dotted for p in rule.by),
    )
    referenced: set[str] = set()
    for scope in scopes:
        if scope.element.predicate is not None:
            context = attrs.evolve(base, place="element", clause="predicate", visible=scope.visible, own=scope.element)
            yield from _expr(scope.element.predicate, context, referenced)
    if rule.where is not None:
        yield from _expr(rule.where, base, referenced)
    for item in rule.emit:
        yield from _expr(item.expr, attrs.evolve(base, clause="EMIT"), referenced)
    for scope in scopes:
        explicit = scope.element.explicit_alias
        # A NOT element binds nothing; its alias may exist only to keep
        # aliases unique (`SEQ(a, NOT b, c, NOT b AS b2)`), so no W104.
        if explicit is not None and not scope.negated and explicit not in referenced:
            yield warning("W104", f"alias '{explicit}' is bound but never used", scope.element.alias_span)


def _window_rule(rule: ast.Rule, source: ast.FromClause) -> Iterator[Diagnostic]:
    referenced: set[str] = set()
    by_fields = frozenset(p.dotted for p in rule.by)
    if source.element.quantifier is not None:
        yield error("E025", "a window rule's FROM element takes no quantifier", source.element.quantifier.span)
    if source.element.predicate is not None:
        yield from _expr(source.element.predicate, Context("window_filter", "FROM"), referenced)
    result = Context("window_result", "HAVING", by_fields=by_fields)
    if rule.having is not None:
        yield from _expr(rule.having, result, referenced)
    for item in rule.emit:
        yield from _expr(item.expr, attrs.evolve(result, clause="EMIT"), referenced)


def _emit_names(items: tuple[ast.EmitItem, ...]) -> Iterator[Diagnostic]:
    seen: set[str] = set()
    for item in items:
        if item.name in seen:
            yield error("E017", f"EMIT name '{item.name}' is used twice", item.span)
        seen.add(item.name)


# ---- expressions -------------------------------------------------------------


def _expr(expr: ast.Expr, ctx: Context, referenced: set[str]) -> Iterator[Diagnostic]:
    match expr:
        case ast.Path():
            yield from _path(expr, ctx, referenced)
        case ast.Call():
            yield from _call(expr, ctx, referenced)
        case ast.Member():
            yield from _call(expr.target, ctx, referenced)
        case _:
            for child in ast.children(expr):
                yield from _expr(child, ctx, referenced)


def _path(path: ast.Path, ctx: Context, referenced: set[str]) -> Iterator[Diagnostic]:
    head = path.parts[0]
    if ctx.place in ("window_filter",):
        return
    if ctx.place == "window_result":
        if path.dotted not in ctx.by_fields:
            yield error(
                "E020",
                f"'{path.dotted}' in {ctx.clause} is not a BY field; use an aggregate such as last({path.dotted})",
                path.span,
            )
        return
    if head == PREV:
        if ctx.own is None or not ctx.own.quantified:
            yield error("E006", "prev is only defined inside a quantified element's predicate", path.span)
        return
    if ctx.own is not None and head == ctx.own.alias:
        referenced.add(head)
        if ctx.own.quantified:
            yield error(
                "E025",
                f"'{head}' is the list of iterations taken so far; use prev.f, first({head}).f or last({head}).f",
                path.span,
            )
        return
    if head in ctx.positive or head in ctx.negated:
        referenced.add(head)
        yield from _alias_use(head, path.span, ctx)
        return
    if ctx.place == "match" and path.dotted not in ctx.by_fields:
        if len(path.parts) > 1:
            yield error("E002", f"unknown alias '{head}'", path.span)
        else:
            yield error(
                "E020",
                f"'{path.dotted}' in {ctx.clause} is not a BY field; qualify it with an alias (alias.{path.dotted})",
                path.span,
            )


def _alias_use(alias: str, span: Span, ctx: Context, as_list: bool = False) -> Iterator[Diagnostic]:
    if alias in ctx.negated:
        yield error("E002", f"alias '{alias}' names a NOT element and binds no event", span)
        return
    if ctx.place == "element" and alias not in ctx.visible:
        yield error("E003", f"alias '{alias}' is bound later in the pattern (or in a sibling of AND/OR)", span)
        return
    if alias in ctx.quantified and not as_list:
        yield error(
            "E025",
            f"'{alias}' is a list of events; use first({alias}).f, last({alias}).f or an aggregate",
            span,
        )
    if as_list and alias not in ctx.quantified:
        yield error("E007", f"aggregate over '{alias}', which is not quantified (it binds one event)", span)


def _call(call: ast.Call, ctx: Context, referenced: set[str]) -> Iterator[Diagnostic]:
    name = call.name.lower()
    if name in SCALAR_FUNCTIONS:
        yield from _arity(call, SCALAR_FUNCTIONS[name], SCALAR_FUNCTIONS[name])
        if name == "exists" and call.args and not isinstance(call.args[0], ast.Path):
            yield error("E023", "exists() takes a field path", call.args[0].span)
        for arg in call.args:
            yield from _expr(arg, ctx, referenced)
        return
    if ctx.place in ("window_filter", "window_result"):
        yield from _window_aggregate(call, name, ctx)
        return
    if name not in PATTERN_AGGREGATES:
        yield error("E023", f"unknown function '{call.name}'", call.span)
        return
    yield from _arity(call, 1, 1)
    if not call.args:
        return
    arg = call.args[0]
    if not isinstance(arg, ast.Path) or arg.parts[0] == PREV:
        yield error("E023", f"{name}() takes a quantified alias, as in {name}(x) or {name}(x.field)", arg.span)
        return
    alias = arg.parts[0]
    referenced.add(alias)
    if ctx.own is not None and alias == ctx.own.alias:
        if not ctx.own.quantified:
            yield error("E007", f"aggregate over '{alias}', which is not quantified (it binds one event)", arg.span)
        return
    if alias not in ctx.positive and alias not in ctx.negated:
        yield error("E002", f"unknown alias '{alias}'", arg.span)
        return
    yield from _alias_use(alias, arg.span, ctx, as_list=True)


def _window_aggregate(call: ast.Call, name: str, ctx: Context) -> Iterator[Diagnostic]:
    if name not in WINDOW_AGGREGATES:
        yield error("E023", f"unknown function '{call.name}'", call.span)
        return
    if ctx.place == "window_filter":
        yield error("E025", f"aggregate {name}() cannot be used in FROM; use it in HAVING or EMIT", call.span)
        return
    least = 0 if name == "count" else 1
    yield from _arity(call, least, 1)
    for arg in call.args:
        if not isinstance(arg, ast.Path):
            yield error("E023", f"{name}() takes a field path", arg.span)


def _arity(call: ast.Call, least: int, most: int) -> Iterator[Diagnostic]:
    if not least <= len(call.args) <= most:
        wanted = str(least) if least == most else f"{least} to {most}"
        yield error(
            "E023",
            f"{call.name}() takes {wanted} argument{'s' if most != 1 else ''}, not {len(call.args)}",
            call.span,
        )
