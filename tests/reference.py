"""A brute-force reference matcher: the test oracle for the pattern engine.

Written straight from docs/semantics.md ("What a match is", "Trailing NOT",
"Emission order and after-match skip", "Expressions") and SPEC sections 3, 5
and 9, for pattern rules whose pattern is an element or a SEQ of elements and
NOT elements. It shares nothing with the engine (no cepengine.compiler, no
cepengine.runtime): only the AST.

How it works, for one rule and one short, time-ordered stream:

1. Route: split the stream into partitions by the BY values (JSON equality;
   missing or null key: not routed) and keep only the event types the rule
   names (every type if it uses ANY). A partition stream is a list of input
   indices.
2. Enumerate: every assignment of partition events to the positive elements,
   in stream order, is a candidate. `satisfies` checks conditions 1-6 of the
   definition on a candidate, each from scratch. Condition 7 (a match ends as
   soon as it is complete) holds when no proper prefix is complete (meets
   1-4 and 6: DECISION D3); the prefixes of an assignment are exactly its
   ancestors in the depth-first enumeration, so the search stops at a
   complete node and records it if it also meets 5 and the trailing NOT.
   The search also prunes branches that can never satisfy conditions 1, 2, 3
   or 6 (each prune is noted where it is made): only for speed, `satisfies`
   re-checks everything.
3. Emit: each match gets its emission point (the arrival of its last event, or
   for a trailing NOT the watermark advance past first.ts + d), matches are
   sorted by (emission point, first event time, arrival positions), and the
   after-match skip is simulated over that list, per partition.

Clarity over speed: streams in tests are short (about a dozen events).

Decisions taken where docs/semantics.md is silent are marked DECISION and
listed in `DECISIONS` below.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from fractions import Fraction
from functools import lru_cache
from typing import Any

import attrs

from cepengine.syntax import ast

DECISIONS = """
D1  The empty assignment is never a match, and "proper prefix" means a
    non-empty one: `PATTERN a*` behaves like `PATTERN a`.
D2  An optional element that bound nothing (`?`, `*`, `{0,n}` taking no event)
    is unbound: omitted from the match's bindings, missing in expressions
    (count/sum over it are 0).
D3  "Complete" in condition 7 means structurally complete: conditions 1-4 and
    6, without WHERE and without the trailing NOT. WHERE and a trailing NOT
    only filter the match that completion delimits; they never keep a run
    going. So SEQ(a, b+) WHERE count(b) >= 2 never matches (a trailing b+
    binds exactly one b, as docs/semantics.md and check's W105 say), and
    SEQ(a, b+, NOT c) WITHIN d over a b1 c b2 gives nothing (a b1 is where the
    run ends; c cancels it). The other reading (a prefix failing WHERE is not
    complete, the run goes on) is COMPLETE_INCLUDES_WHERE = True.
D4  A NOT between elements constrains only when an event is bound on both sides
    of it (the elements next to it may be optional and unbound). A NOT is
    trailing when only optional elements (or none) follow it in the SEQ: it is
    settled by the watermark, needs WITHIN (check's E011), and the optional
    elements after it never bind (the match is complete before them).
D5  A NOT element's predicate sees the aliases of the positive elements before
    it, with all their events.
D6  The watermark is advanced by every input event, whatever its type or
    partition, routed or not (the engine watermark of SPEC section 5). A trailing
    NOT match settles before the first input event with ts > first.ts + d, or at
    end of input.
D7  Ties in the emission order (same emission point, same first event time, same
    arrival positions, different alias assignment) are broken by the element
    indices of the events, in arrival order, lexicographically: the assignment
    that puts an event in an earlier element comes first.
D8  count(x.f) counts the iterations whose f is present and not null; count(x)
    counts iterations. first(x.f)/last(x.f) are f of the first/last iteration.
D9  Arithmetic needs numbers (booleans are not numbers); anything else is
    missing. `%` is Python's modulo. Boolean context: only `true` is true.
D10 The match key is the BY values of the match's first event.
D11 SKIP_TILL_NEXT continuations are judged by type and predicate only (not by
    WITHIN or WHERE); an event later than first.ts + d cannot lie inside a
    match that satisfies WITHIN, so this is equivalent.
"""

# DECISION D3's alternative reading, for experiments: True makes WHERE and the
# trailing NOT part of "complete".
COMPLETE_INCLUDES_WHERE = False


# ---- values ------------------------------------------------------------------


class _Missing:
    """A field that is not there (distinct from JSON null, but treated alike by
    comparisons)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class UnsupportedRule(ValueError):
    """The rule is outside what the reference handles, or is invalid (an error
    that `cepengine check` reports)."""


def _absent(value: Any) -> bool:
    return value is MISSING or value is None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, "1" != 1, true != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if a is None and b is None:
        return True
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return False


def json_key(value: Any) -> Any:
    """A hashable form of a JSON value such that json_key(a) == json_key(b)
    exactly when json_equal(a, b)."""
    if isinstance(value, bool):
        return ("bool", value)
    if _is_number(value):
        return ("num", value)  # 1 == 1.0 and hash(1) == hash(1.0)
    if isinstance(value, str):
        return ("str", value)
    if value is None:
        return ("null",)
    if isinstance(value, list | tuple):
        return ("list", tuple(json_key(v) for v in value))
    if isinstance(value, Mapping):
        return ("obj", tuple(sorted((k, json_key(v)) for k, v in value.items())))
    return ("other", repr(value))


def field(event: Any, parts: Sequence[str]) -> Any:
    """`event.parts...`, MISSING when any step is absent."""
    value = event
    for part in parts:
        if not isinstance(value, Mapping) or part not in value:
            return MISSING
        value = value[part]
    return value


# ---- expressions ---------------------------------------------------------------


@attrs.frozen
class Scope:
    """What an expression sees where it is evaluated.

    `bound`: alias -> its events so far (a list; a single-event alias has one).
    For a quantified element's own predicate, its own alias maps to the
    iterations already taken. `candidate` is the event being tested (None in
    WHERE); `prev` the previous iteration (quantified elements only)."""

    bound: Mapping[str, Sequence[Mapping[str, Any]]]
    positive: frozenset[str]
    negated: frozenset[str]
    quantified: frozenset[str]
    own: str | None = None
    own_quantified: bool = False
    candidate: Mapping[str, Any] | None = None
    prev: Any = MISSING
    match_first: Mapping[str, Any] | None = None  # WHERE: BY fields are read here


def evaluate(expr: ast.Expr, scope: Scope) -> Any:
    match expr:
        case ast.Const():
            return expr.value
        case ast.Path():
            return _path(expr, scope)
        case ast.Call():
            return _call(expr, scope)
        case ast.Member():
            return field(_call(expr.target, scope), expr.parts)
        case ast.Arith():
            return _arith(expr.op, evaluate(expr.left, scope), evaluate(expr.right, scope))
        case ast.Negate():
            value = evaluate(expr.operand, scope)
            return -value if _is_number(value) else MISSING
        case ast.Compare():
            return compare(expr.op, evaluate(expr.left, scope), evaluate(expr.right, scope))
        case ast.InList():
            operand = evaluate(expr.operand, scope)
            if _absent(operand):
                return False  # `not in` included
            found = any(json_equal(operand, evaluate(item, scope)) for item in expr.items)
            return not found if expr.negated else found
        case ast.IsNull():
            is_null = _absent(evaluate(expr.operand, scope))
            return not is_null if expr.negated else is_null
        case ast.BoolOp():
            left = truthy(evaluate(expr.left, scope))
            if expr.op == "and":
                return left and truthy(evaluate(expr.right, scope))
            return left or truthy(evaluate(expr.right, scope))
        case ast.Not():
            return not truthy(evaluate(expr.operand, scope))
    raise UnsupportedRule(f"unknown expression {expr!r}")


def truthy(value: Any) -> bool:
    """Two-valued logic: only `true` is true (DECISION D9)."""
    return value is True


def compare(op: str, left: Any, right: Any) -> bool:
    if _absent(left) or _absent(right):
        return False  # `!=` included
    if op == "==":
        return json_equal(left, right)
    if op == "!=":
        return not json_equal(left, right)
    if op in ("<", "<=", ">", ">="):
        comparable = (_is_number(left) and _is_number(right)) or (isinstance(left, str) and isinstance(right, str))
        if not comparable:
            return False
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
    if op == "matches":
        if not (isinstance(left, str) and isinstance(right, str)):
            return False
        try:
            return re.search(right, left) is not None
        except re.error:
            return False
    if op == "contains":
        if isinstance(left, str):
            return isinstance(right, str) and right in left
        if isinstance(left, list):
            return any(json_equal(item, right) for item in left)
        return False
    if op == "startswith":
        return isinstance(left, str) and isinstance(right, str) and left.startswith(right)
    raise UnsupportedRule(f"unknown comparison {op}")


def _arith(op: str, left: Any, right: Any) -> Any:
    if not (_is_number(left) and _is_number(right)):
        return MISSING
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if right == 0:
        return MISSING  # division or modulo by zero
    if op == "/":
        return left / right
    return left % right


def _path(path: ast.Path, scope: Scope) -> Any:
    head, rest = path.parts[0], path.parts[1:]
    if head == "prev":
        if not scope.own_quantified:
            raise UnsupportedRule("prev outside a quantified element (E006)")
        return field(scope.prev, rest)
    if scope.own is not None and head == scope.own:
        if scope.own_quantified:
            raise UnsupportedRule(f"'{head}' is a list inside its own predicate (E025)")
        return field(scope.candidate, rest)
    if head in scope.negated:
        raise UnsupportedRule(f"alias '{head}' names a NOT element (E002)")
    if head in scope.positive:
        if head in scope.quantified:
            raise UnsupportedRule(f"'{head}' is a list of events (E025)")
        events = scope.bound.get(head, ())
        return field(events[0], rest) if events else MISSING
    if scope.candidate is not None:
        return field(scope.candidate, path.parts)
    if scope.match_first is not None:
        return field(scope.match_first, path.parts)  # a BY field in WHERE
    return MISSING


def _call(call: ast.Call, scope: Scope) -> Any:
    name = call.name.lower()
    args = call.args
    if name == "exists":
        return not _absent(evaluate(args[0], scope))
    if name in ("abs", "lower", "upper", "len"):
        value = evaluate(args[0], scope)
        if name == "abs":
            return abs(value) if _is_number(value) else MISSING
        if name in ("lower", "upper"):
            if not isinstance(value, str):
                return MISSING
            return value.lower() if name == "lower" else value.upper()
        return len(value) if isinstance(value, str | list | Mapping) else MISSING
    if name in ("count", "sum", "avg", "min", "max", "first", "last"):
        return _aggregate(name, args, scope)
    raise UnsupportedRule(f"unknown function {call.name}")


def _aggregate(name: str, args: tuple[ast.Expr, ...], scope: Scope) -> Any:
    if len(args) != 1 or not isinstance(args[0], ast.Path):
        raise UnsupportedRule(f"{name}() takes a quantified alias (E023)")
    alias, rest = args[0].parts[0], args[0].parts[1:]
    own_list = scope.own is not None and alias == scope.own and scope.own_quantified
    if not own_list and alias not in scope.quantified:
        raise UnsupportedRule(f"aggregate over '{alias}', which is not a quantified alias (E007)")
    events = list(scope.bound.get(alias, ()))
    if name in ("first", "last"):
        if not events:
            return MISSING
        event = events[0] if name == "first" else events[-1]
        return field(event, rest)
    values = [field(e, rest) for e in events]
    if name == "count":
        return len(events) if not rest else sum(1 for v in values if not _absent(v))
    if not rest:
        raise UnsupportedRule(f"{name}() needs a field, as in {name}({alias}.f)")
    numbers = [v for v in values if _is_number(v)]
    if name == "sum":
        return sum(numbers)
    if not numbers:
        return MISSING
    if name == "avg":
        return sum(numbers) / len(numbers)
    return min(numbers) if name == "min" else max(numbers)


# ---- the pattern ---------------------------------------------------------------


@attrs.frozen
class Positive:
    index: int
    element: ast.Element
    min: int
    max: float  # math.inf when unbounded

    @property
    def alias(self) -> str:
        return self.element.alias

    @property
    def quantified(self) -> bool:
        return self.element.quantified

    @property
    def optional(self) -> bool:
        return self.min == 0


@attrs.frozen
class Negative:
    element: ast.Element
    before: int  # the positive elements [0, before) come before this NOT

    @property
    def alias(self) -> str:
        return self.element.alias


@attrs.frozen
class RefMatch:
    key: tuple[Any, ...]
    bindings: tuple[tuple[str, tuple[int, ...]], ...]

    def as_dict(self) -> dict[str, tuple[int, ...]]:
        return dict(self.bindings)


def _flatten(pattern: ast.Pattern) -> list[ast.Element | ast.NotPattern]:
    match pattern:
        case ast.Element():
            return [pattern]
        case ast.NotPattern():
            return [pattern]
        case ast.Seq():
            return [item for child in pattern.items for item in _flatten(child)]
    raise UnsupportedRule("the reference handles only elements, SEQ and NOT (no AND / OR)")


# A binding: (position in the partition stream, index of the positive element).
Binding = tuple[int, int]
Assignment = tuple[Binding, ...]


class _Matcher:
    """The definition, applied to one rule."""

    def __init__(self, rule: ast.Rule) -> None:
        if rule.pattern is None:
            raise UnsupportedRule("not a pattern rule")
        self.rule = rule
        self.positives: list[Positive] = []
        self.negatives: list[Negative] = []
        for item in _flatten(rule.pattern.pattern):
            if isinstance(item, ast.NotPattern):
                if not self.positives:
                    raise UnsupportedRule("NOT first in a SEQ (E008)")
                if item.element.quantifier is not None:
                    raise UnsupportedRule("quantified NOT (E009)")
                self.negatives.append(Negative(item.element, len(self.positives)))
            else:
                q = item.quantifier
                low, high = (1, 1) if q is None else (q.min, math.inf if q.max is None else q.max)
                if high < max(low, 1):
                    raise UnsupportedRule("empty quantifier (E016)")
                self.positives.append(Positive(len(self.positives), item, low, high))
        if not self.positives:
            raise UnsupportedRule("no positive element")
        self.within: Fraction | None = None
        if rule.pattern.within is not None:
            self.within = Fraction(rule.pattern.within.ms, 1000)
        # DECISION D4: a NOT is trailing when nothing positive must follow it.
        self.trailing = [n for n in self.negatives if all(p.min == 0 for p in self.positives[n.before :])]
        if self.trailing and self.within is None:
            raise UnsupportedRule("trailing NOT without WITHIN (E011)")
        aliases = [p.alias for p in self.positives] + [n.alias for n in self.negatives]
        if len(set(aliases)) != len(aliases):
            raise UnsupportedRule("duplicate alias (E004)")
        self.positive_aliases = frozenset(p.alias for p in self.positives)
        self.negated_aliases = frozenset(n.alias for n in self.negatives)
        self.quantified_aliases = frozenset(p.alias for p in self.positives if p.quantified)
        elements = [p.element for p in self.positives] + [n.element for n in self.negatives]
        types = {e.type_name for e in elements}
        self.types: frozenset[str] | None = None if None in types else frozenset(t for t in types if t is not None)

    # -- routing ---------------------------------------------------------------

    def partitions(self, events: Sequence[Mapping[str, Any]]) -> dict[Any, tuple[tuple[Any, ...], list[int]]]:
        """canonical key -> (key values of its first event, input indices)."""
        parts: dict[Any, tuple[tuple[Any, ...], list[int]]] = {}
        for index, event in enumerate(events):
            values = tuple(field(event, p.parts) for p in self.rule.by)
            if any(_absent(v) for v in values):
                continue  # unkeyed: not routed
            if self.types is not None and event.get("type") not in self.types:
                continue  # a type the rule does not use
            canonical = tuple(json_key(v) for v in values)
            parts.setdefault(canonical, (values, []))[1].append(index)
        return parts


class _PartitionRun:
    """Conditions 1-7 over one partition stream."""

    def __init__(self, m: _Matcher, events: Sequence[Mapping[str, Any]], stream: list[int]) -> None:
        self.m = m
        self.events = events
        self.stream = stream  # input indices, in time order
        self.fits = lru_cache(maxsize=None)(self._fits)

    def event(self, q: int) -> Mapping[str, Any]:
        return self.events[self.stream[q]]

    def ts(self, q: int) -> Fraction:
        return Fraction(self.event(q)["ts"])

    # -- fitting an element ------------------------------------------------------

    def _scope(self, before: Assignment, own: ast.Element | None, candidate: Mapping[str, Any] | None) -> Scope:
        bound: dict[str, list[Mapping[str, Any]]] = {}
        for q, j in before:
            bound.setdefault(self.m.positives[j].alias, []).append(self.event(q))
        own_alias = own.alias if own is not None else None
        own_quantified = own is not None and own.quantified
        prev: Any = MISSING
        if own_quantified and before:
            # the previous iteration, or on the first iteration the event bound
            # just before the element: in both cases the last event so far
            prev = self.event(before[-1][0])
        return Scope(
            bound=bound,
            positive=self.m.positive_aliases,
            negated=self.m.negated_aliases,
            quantified=self.m.quantified_aliases,
            own=own_alias,
            own_quantified=own_quantified,
            candidate=candidate,
            prev=prev,
        )

    @staticmethod
    def _type_ok(element: ast.Element, event: Mapping[str, Any]) -> bool:
        return element.type_name is None or event.get("type") == element.type_name

    def _fits(self, j: int, before: Assignment, q: int) -> bool:
        """Condition 1: the event at q fits positive element j, after `before`
        (its own earlier iterations included)."""
        element = self.m.positives[j].element
        event = self.event(q)
        if not self._type_ok(element, event):
            return False
        if element.predicate is None:
            return True
        return truthy(evaluate(element.predicate, self._scope(before, element, event)))

    def fits_not(self, neg: Negative, bindings: Assignment, q: int) -> bool:
        event = self.event(q)
        if not self._type_ok(neg.element, event):
            return False
        if neg.element.predicate is None:
            return True
        before = tuple(b for b in bindings if b[1] < neg.before)  # DECISION D5
        return truthy(evaluate(neg.element.predicate, self._scope(before, neg.element, event)))

    # -- continuations -----------------------------------------------------------

    def next_elements(self, partial: Assignment) -> list[int]:
        """The elements the next bound event may go to: another iteration of the
        element being filled (below its maximum), or the first iteration of the
        next element once the current one has its minimum, and of the ones
        after it past optional elements. From nothing: the first element and
        those after it past optional elements."""
        positives = self.m.positives
        out: list[int] = []
        if partial:
            i = partial[-1][1]
            taken = sum(1 for _, j in partial if j == i)
            if taken < positives[i].max:
                out.append(i)
            if taken < positives[i].min:
                return out
            k = i + 1
        else:
            k = 0
        while k < len(positives):
            out.append(k)
            if not positives[k].optional:
                break
            k += 1
        return out

    def fits_continuation(self, partial: Assignment, q: int) -> bool:
        return any(self.fits(j, partial, q) for j in self.next_elements(partial))

    # -- conditions 1-6 ------------------------------------------------------------

    def satisfies(self, a: Assignment, structural: bool = False) -> bool:
        """Conditions 1-6 of docs/semantics.md "What a match is", each checked
        from scratch on the assignment `a`. `structural`: leave out WHERE and
        the trailing NOT (what "complete" means in condition 7, DECISION D3)."""
        m = self.m
        if not a:
            return False  # DECISION D1
        positions = [q for q, _ in a]
        if positions != sorted(set(positions)):
            return False
        if [j for _, j in a] != sorted(j for _, j in a):
            return False  # elements in SEQ order
        # 2. quantifier bounds
        for p in m.positives:
            taken = sum(1 for _, j in a if j == p.index)
            if not p.min <= taken <= p.max:
                return False
        # 1. every bound event fits its element, given what was bound before it
        for n, (q, j) in enumerate(a):
            if not self.fits(j, a[:n], q):
                return False
        first, last = a[0][0], a[-1][0]
        # 3. WITHIN
        if m.within is not None and self.ts(last) - self.ts(first) > m.within:
            return False
        # 4. NOT
        for neg in m.negatives:
            before = [q for q, j in a if j < neg.before]
            after = [q for q, j in a if j >= neg.before]
            if neg in m.trailing:
                if structural:
                    continue
                assert m.within is not None
                horizon = self.ts(first) + m.within  # closed interval
                for u in range(last + 1, len(self.stream)):
                    if self.ts(u) <= horizon and self.fits_not(neg, a, u):
                        return False
            elif before and after:  # DECISION D4
                for u in range(max(before) + 1, min(after)):
                    if self.fits_not(neg, a, u):
                        return False
        # 5. WHERE
        if m.rule.where is not None and not structural:
            scope = attrs.evolve(self._scope(a, None, None), match_first=self.event(first))
            if not truthy(evaluate(m.rule.where, scope)):
                return False
        # 6. selection strategy
        if m.rule.selection == "STRICT":
            if positions != list(range(first, last + 1)):
                return False
        elif m.rule.selection == "SKIP_TILL_NEXT":
            bound = set(positions)
            for u in range(first + 1, last):
                if u in bound:
                    continue
                partial = tuple(b for b in a if b[0] < u)
                if self.fits_continuation(partial, u):
                    return False
        return True

    # -- enumeration (condition 7) ---------------------------------------------------

    def complete(self, a: Assignment) -> bool:
        """Condition 7's "complete" (DECISION D3)."""
        return self.satisfies(a, structural=not COMPLETE_INCLUDES_WHERE)

    def matches(self) -> list[Assignment]:
        """Every assignment satisfying 1-6 none of whose proper prefixes is
        complete (condition 7)."""
        found: list[Assignment] = []
        selection = self.m.rule.selection

        def extend(a: Assignment) -> None:
            if self.complete(a):
                if self.satisfies(a):
                    found.append(a)
                return  # condition 7: no extension of a complete prefix is a match
            start = a[-1][0] + 1 if a else 0
            for q in range(start, len(self.stream)):
                for j in self.next_elements(a):
                    # prune: condition 1 (fit depends only on what came before)
                    if not self.fits(j, a, q):
                        continue
                    # prune: condition 3 (the last event only gets later)
                    if a and self.m.within is not None and self.ts(q) - self.ts(a[0][0]) > self.m.within:
                        continue
                    extend((*a, (q, j)))
                if not a:
                    continue  # a match may start at any event
                # Not binding q from here on: q lies between the first and the
                # last bound event of every extension.
                if selection == "STRICT":
                    break  # prune: condition 6, consecutive
                if selection == "SKIP_TILL_NEXT" and self.fits_continuation(a, q):
                    break  # prune: condition 6, a fitting event cannot be skipped

        extend(())
        return found


@attrs.frozen
class _Candidate:
    partition: Any
    key: tuple[Any, ...]
    indices: tuple[int, ...]  # input indices of the bound events, in order
    elements: tuple[int, ...]  # the positive element of each
    point: tuple[int, int]  # (input index, 0 = before processing it / 1 = at it)
    first_ts: Fraction


def reference_candidates(rule: ast.Rule, events: Sequence[Mapping[str, Any]]) -> list[_Candidate]:
    """Every match (conditions 1-7), before the after-match skip, sorted in
    emission order."""
    m = _Matcher(rule)
    times = [Fraction(e["ts"]) for e in events]
    if any(b < a for a, b in itertools.pairwise(times)):
        raise ValueError("the reference needs its events in time order")
    out: list[_Candidate] = []
    for canonical, (_first_key, stream) in m.partitions(events).items():
        run = _PartitionRun(m, events, stream)
        for a in run.matches():
            indices = tuple(stream[q] for q, _ in a)
            first_ts = times[indices[0]]
            if m.trailing:
                assert m.within is not None
                horizon = first_ts + m.within
                # DECISION D6: settled by the first input event past the horizon
                settle = next((i for i, t in enumerate(times) if t > horizon), len(events))
                point = (settle, 0)
            else:
                point = (indices[-1], 1)
            first_event = events[indices[0]]
            match_key = tuple(field(first_event, p.parts) for p in rule.by)  # DECISION D10
            out.append(_Candidate(canonical, match_key, indices, tuple(j for _, j in a), point, first_ts))
    # Emission order: point, first event time, arrival positions; DECISION D7
    # for what remains.
    out.sort(key=lambda c: (c.point, c.first_ts, c.indices, c.elements))
    return out


def reference_matches(rule: ast.Rule, events: Sequence[Mapping[str, Any]]) -> list[RefMatch]:
    """The matches of a pattern rule over a time-ordered stream, in emission
    order, the after-match skip applied. The list index of an event is its
    arrival position; the stream ends at the end of the list."""
    m = _Matcher(rule)
    candidates = reference_candidates(rule, events)
    emitted: list[_Candidate] = []
    discarded: set[int] = set()
    for n, match in enumerate(candidates):
        if n in discarded:
            continue
        emitted.append(match)
        for later in range(n + 1, len(candidates)):
            other = candidates[later]
            if other.partition != match.partition:
                continue  # partitions never interact
            if _skipped_by(rule.after_match, match, other):
                discarded.add(later)
    return [RefMatch(c.key, _bindings(m, c)) for c in emitted]


def _skipped_by(after_match: str, emitted: _Candidate, other: _Candidate) -> bool:
    """Whether emitting `emitted` discards `other` (not yet emitted, same
    partition): docs/semantics.md "Emission order and after-match skip"."""
    if after_match == "SKIP_PAST_LAST":
        return other.indices[0] <= emitted.indices[-1]  # started at or before its last event
    if after_match == "SKIP_TO_NEXT":
        return other.indices[0] == emitted.indices[0]  # started with the same first event
    return False  # NO_SKIP


def _bindings(m: _Matcher, c: _Candidate) -> tuple[tuple[str, tuple[int, ...]], ...]:
    out = []
    for p in m.positives:
        taken = tuple(i for i, j in zip(c.indices, c.elements, strict=True) if j == p.index)
        if taken:  # DECISION D2: an optional element that took nothing is unbound
            out.append((p.alias, taken))
    return tuple(out)
