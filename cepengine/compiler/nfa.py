"""The compiled automaton: an immutable, inspectable description of a
pattern rule, shared by every key. The per-key run state lives in
runtime/matcher.py.

SASE+-style (Agrawal et al., SIGMOD 2008): each positive element of the
pattern is a state. A run in state k with `count` iterations can *take* the
event into k again (while count < max: the quantifier's loop), or — once
count >= min — *proceed* along one of k's `follow` entries and take the event
into the entry's target. Proceeding across optional elements, OR branches and
NOTs is folded into the entries at compile time (an epsilon closure), so the
runtime only ever takes. *Ignore* is the selection strategy's business.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from cepengine.source import NO_SPAN, Span
from cepengine.syntax import ast

END = -1
UNBOUNDED = 1 << 62


@attrs.frozen(slots=True)
class Predicate:
    """A condition compiled to Python: the AST it came from (for explain),
    the generated source, and the function."""

    expr: ast.Expr
    source: str
    fn: Callable[..., Any] = attrs.field(eq=False, repr=False)


@attrs.frozen(slots=True)
class Entry:
    """A way into state `target` (or END): `guards` is the bitmask of NOT
    guards it crosses; `choices` the (OR id, branch) decisions it makes."""

    target: int
    guards: int = 0
    choices: tuple[tuple[int, int], ...] = ()


@attrs.frozen(slots=True)
class State:
    """One positive element occurrence."""

    index: int
    alias: str
    type_name: str | None
    min: int
    max: int
    predicate: Predicate | None
    follow: tuple[Entry, ...]
    end: Entry | None
    span: Span = attrs.field(default=NO_SPAN, eq=False)

    @property
    def quantified(self) -> bool:
        return self.max != 1


@attrs.frozen(slots=True)
class Guard:
    """A NOT element: an event that fits it kills the paths crossing it."""

    index: int
    alias: str
    type_name: str | None
    predicate: Predicate | None
    span: Span = attrs.field(default=NO_SPAN, eq=False)


@attrs.frozen(slots=True)
class Automaton:
    info: RuleInfo
    states: tuple[State, ...]
    start: tuple[Entry, ...]
    guards: tuple[Guard, ...]
    within_ms: int | None
    selection: ast.Selection
    after_match: ast.AfterMatch
    where: Predicate | None
    emit: tuple[tuple[str, Predicate], ...]
    aliases: tuple[tuple[str, tuple[int, ...]], ...]
    quantified_aliases: frozenset[str]

    @property
    def has_trailing_not(self) -> bool:
        return any(s.end is not None and s.end.guards for s in self.states)


@attrs.frozen(slots=True)
class RuleInfo:
    """What every compiled rule carries besides its matching logic."""

    name: str
    severity: str
    tags: tuple[str, ...]
    description: str
    by: tuple[tuple[str, ...], ...]
    allowed_lateness_ms: int | None
    # Event types the rule reads (NOT elements included); None = every type.
    types: frozenset[str] | None

    @property
    def by_names(self) -> tuple[str, ...]:
        return tuple(".".join(p) for p in self.by)


@attrs.frozen(slots=True)
class WindowPlan:
    """A window-aggregate rule: which events, which windows, which
    aggregates (slot order), and the HAVING / EMIT over them."""

    info: RuleInfo
    filter: Predicate | None
    kind: ast.WindowKind
    size_ms: int
    slide_ms: int
    aggregates: tuple[tuple[str, tuple[str, ...]], ...]
    having: Predicate | None
    emit: tuple[tuple[str, Predicate], ...]
