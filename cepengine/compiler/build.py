"""AST rules → automata (pattern rules) and window plans (window rules).

Runs after analysis: the rules it gets are free of errors.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import attrs

from cepengine.compiler.codegen import Scope, compile_condition, compile_expr
from cepengine.compiler.nfa import (
    END,
    UNBOUNDED,
    Automaton,
    Entry,
    Guard,
    Predicate,
    RuleInfo,
    State,
    WindowPlan,
)
from cepengine.source import Span
from cepengine.syntax import ast

CompiledRule = Automaton | WindowPlan
MAX_AND_ITEMS = 5


def compile_rules(rules: Sequence[ast.Rule]) -> list[CompiledRule]:
    return [compile_rule(rule) for rule in rules]


def compile_rule(rule: ast.Rule) -> CompiledRule:
    if rule.pattern is not None:
        return _PatternBuilder(rule, rule.pattern).build()
    assert rule.source is not None, "analysis guarantees PATTERN or FROM"
    return _window_plan(rule, rule.source)


def _info(rule: ast.Rule, elements: Sequence[ast.Element]) -> RuleInfo:
    types = None if any(e.type_name is None for e in elements) else frozenset(str(e.type_name) for e in elements)
    return RuleInfo(
        name=rule.name,
        severity=rule.severity,
        tags=rule.tags,
        description=rule.description,
        by=tuple(p.parts for p in rule.by),
        allowed_lateness_ms=rule.allowed_lateness.ms if rule.allowed_lateness is not None else None,
        types=types,
    )


def _label(rule: ast.Rule, span: Span, what: str) -> str:
    return f"{span.path}:{span.line}:{span.col} {rule.name} {what}"


# ---- pattern rules -----------------------------------------------------------------

# The pattern with AND expanded, each element occurrence numbered:
#   ("elem", element, state id) | ("not", element, guard id)
#   ("seq", items) | ("or", or id, items)
Node = tuple[object, ...]


@attrs.define
class _Draft:
    element: ast.Element
    follow: list[Entry] = attrs.Factory(list)


class _PatternBuilder:
    def __init__(self, rule: ast.Rule, clause: ast.PatternClause) -> None:
        self.rule = rule
        self.clause = clause
        self.drafts: list[_Draft] = []
        self.guard_elements: list[ast.Element] = []
        self.or_count = 0

    def build(self) -> Automaton:
        tree = self._number(self.clause.pattern)
        start = _dedupe(self._first(tree, [Entry(END)]))
        aliases: dict[str, list[int]] = {}
        for index, draft in enumerate(self.drafts):
            aliases.setdefault(draft.element.alias, []).append(index)
        alias_map = {alias: tuple(ids) for alias, ids in aliases.items()}
        quantified = frozenset(d.element.alias for d in self.drafts if d.element.quantified)
        match_scope = Scope("match", alias_map, quantified, by_fields=tuple(p.dotted for p in self.rule.by))
        return Automaton(
            info=_info(self.rule, [d.element for d in self.drafts] + self.guard_elements),
            states=tuple(self._state(i, d, alias_map, quantified) for i, d in enumerate(self.drafts)),
            start=tuple(e for e in start if e.target != END),
            guards=tuple(self._guard(i, e, alias_map, quantified) for i, e in enumerate(self.guard_elements)),
            within_ms=self.clause.within.ms if self.clause.within is not None else None,
            selection=self.rule.selection,
            after_match=self.rule.after_match,
            where=(
                compile_condition(self.rule.where, match_scope, _label(self.rule, self.rule.where.span, "WHERE"))
                if self.rule.where is not None
                else None
            ),
            emit=tuple(
                (item.name, compile_expr(item.expr, match_scope, _label(self.rule, item.span, f"EMIT {item.name}")))
                for item in self.rule.emit
            ),
            aliases=tuple(alias_map.items()),
            quantified_aliases=quantified,
        )

    # -- numbering (AND expanded into an OR of its orders) ---------------------

    def _number(self, pattern: ast.Pattern) -> Node:
        match pattern:
            case ast.Element():
                self.drafts.append(_Draft(pattern))
                return ("elem", pattern, len(self.drafts) - 1)
            case ast.NotPattern():
                self.guard_elements.append(pattern.element)
                return ("not", pattern.element, len(self.guard_elements) - 1)
            case ast.Seq():
                return ("seq", [self._number(item) for item in pattern.items])
            case ast.OrPattern():
                self.or_count += 1
                or_id = self.or_count
                return ("or", or_id, [self._number(item) for item in pattern.items])
            case ast.AndPattern():
                if len(pattern.items) > MAX_AND_ITEMS:
                    raise ValueError(f"AND of more than {MAX_AND_ITEMS} patterns is not supported")
                self.or_count += 1
                or_id = self.or_count
                orders = itertools.permutations(pattern.items)
                return ("or", or_id, [self._number(ast.Seq(order, pattern.span)) for order in orders])

    # -- first / follow ----------------------------------------------------------

    def _first(self, node: Node, cont: list[Entry]) -> list[Entry]:
        """The entries that start `node`, given the entries `cont` that come
        after it; records each state's follow entries on the way."""
        kind = node[0]
        if kind == "elem":
            state_id = node[2]
            assert isinstance(state_id, int) and isinstance(node[1], ast.Element)
            self.drafts[state_id].follow = list(cont)
            skip = cont if node[1].optional else []
            return [Entry(state_id), *skip]
        if kind == "not":
            assert isinstance(node[2], int)
            bit = 1 << node[2]
            return [attrs.evolve(e, guards=e.guards | bit) for e in cont]
        if kind == "seq":
            items = node[1]
            assert isinstance(items, list)
            for item in reversed(items):
                cont = self._first(item, cont)
            return cont
        or_id, branches = node[1], node[2]
        assert isinstance(or_id, int) and isinstance(branches, list)
        entries: list[Entry] = []
        for branch_index, branch in enumerate(branches):
            for entry in self._first(branch, cont):
                entries.append(attrs.evolve(entry, choices=(*entry.choices, (or_id, branch_index))))
        return entries

    # -- states and guards -----------------------------------------------------------

    def _state(
        self, index: int, draft: _Draft, aliases: dict[str, tuple[int, ...]], quantified: frozenset[str]
    ) -> State:
        element = draft.element
        follow = _dedupe(draft.follow)
        ends = [e for e in follow if e.target == END]
        end = min(ends, key=lambda e: (e.guards != 0, len(e.choices))) if ends else None
        quantifier = element.quantifier
        return State(
            index=index,
            alias=element.alias,
            type_name=element.type_name,
            min=quantifier.min if quantifier is not None else 1,
            max=(quantifier.max if quantifier.max is not None else UNBOUNDED) if quantifier is not None else 1,
            predicate=self._element_predicate(element, aliases, quantified),
            follow=tuple(e for e in follow if e.target != END),
            end=end,
            span=element.span,
        )

    def _guard(
        self, index: int, element: ast.Element, aliases: dict[str, tuple[int, ...]], quantified: frozenset[str]
    ) -> Guard:
        return Guard(
            index=index,
            alias=element.alias,
            type_name=element.type_name,
            predicate=self._element_predicate(element, aliases, quantified),
            span=element.span,
        )

    def _element_predicate(
        self, element: ast.Element, aliases: dict[str, tuple[int, ...]], quantified: frozenset[str]
    ) -> Predicate | None:
        if element.predicate is None:
            return None
        scope = Scope("element", aliases, quantified, own=element.alias)
        return compile_condition(element.predicate, scope, _label(self.rule, element.predicate.span, element.alias))


def _dedupe(entries: list[Entry]) -> list[Entry]:
    seen: set[Entry] = set()
    unique = []
    for entry in entries:
        if entry not in seen:
            seen.add(entry)
            unique.append(entry)
    return unique


# ---- window rules ------------------------------------------------------------------


def _window_plan(rule: ast.Rule, source: ast.FromClause) -> WindowPlan:
    element = source.element
    window = source.window
    by_fields = tuple(p.dotted for p in rule.by)
    scope = Scope("window", by_fields=by_fields)
    having = (
        compile_condition(rule.having, scope, _label(rule, rule.having.span, "HAVING"))
        if rule.having is not None
        else None
    )
    emit = tuple(
        (item.name, compile_expr(item.expr, scope, _label(rule, item.span, f"EMIT {item.name}"))) for item in rule.emit
    )
    filter_predicate = (
        compile_condition(element.predicate, Scope("filter"), _label(rule, element.predicate.span, "FROM"))
        if element.predicate is not None
        else None
    )
    return WindowPlan(
        info=_info(rule, [element]),
        filter=filter_predicate,
        kind=window.kind,
        size_ms=window.size.ms,
        slide_ms=window.slide.ms if window.slide is not None else window.size.ms,
        aggregates=tuple(scope.aggregates),
        having=having,
        emit=emit,
    )

