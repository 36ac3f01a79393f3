"""Differential tests: the engine against the brute-force reference matcher.

Random small pattern rules (written as TEXT, so the engine and the reference
read the same rule) over random short streams; the engine's matches must equal
the reference's, partition by partition, in emission order.

Two groups:
- `test_reference_*`: properties of the reference alone (containment of the
  selection strategies, the skips, partition independence). They run now.
- `test_engine_*` (marked `needs_engine`): need `cepengine.Engine` (SPEC
  section 8) and are skipped while it does not exist. Set
  CEPENGINE_REQUIRE_ENGINE=1 to make a missing engine an error instead.

CEPENGINE_DIFF_SCALE (default 1) multiplies every example count.
On failure, hypothesis prints the rule text and the stream (`note`).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st
from reference import RefMatch, json_key, reference_matches

from cepengine.check import check_text
from cepengine.check.scope import element_scopes
from cepengine.syntax import ast
from cepengine.syntax.parser import parse_text

try:
    from cepengine import Engine
except ImportError as exc:  # only "cepengine has no Engine yet"; any other import failure is a real error
    if exc.name != "cepengine" or "Engine" not in str(exc) or os.environ.get("CEPENGINE_REQUIRE_ENGINE"):
        raise
    Engine = None

# On a failing example hypothesis's pytest plugin imports hypothesis.extra._patching
# (libcst -> mypy_extensions), which raises a DeprecationWarning; with
# filterwarnings = error that becomes a pytest INTERNALERROR that hides the
# failure. Import it once here with the warning silenced.
with warnings.catch_warnings(), contextlib.suppress(ImportError):
    warnings.simplefilter("ignore", DeprecationWarning)
    import hypothesis.extra._patching  # noqa: F401

needs_engine = pytest.mark.skipif(Engine is None, reason="cepengine.Engine does not exist yet (SPEC section 8)")

SCALE = float(os.environ.get("CEPENGINE_DIFF_SCALE", "1"))


def examples(n: int) -> int:
    return max(1, int(n * SCALE))


def hypothesis_settings(n: int) -> settings:
    return settings(
        max_examples=examples(n),
        deadline=None,
        derandomize=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )


SELECTIONS = ("STRICT", "SKIP_TILL_NEXT", "SKIP_TILL_ANY")
SKIPS = ("SKIP PAST LAST", "SKIP TO NEXT", "NO SKIP")
TYPES = ("a", "b", "c")
# (text, binds a list of events, may bind nothing)
QUANTIFIERS = (
    ("", False, False),
    ("", False, False),
    ("", False, False),
    ("+", True, False),
    ("*", True, True),
    ("?", False, True),
    ("{2}", True, False),
    ("{1,2}", True, False),
    ("{2,}", True, False),
    ("{0,2}", True, True),
)
# A NOT followed only by optional elements (SEQ(a, NOT c, b?)): when they bind
# nothing, docs/semantics.md leaves the NOT undefined (reference DECISION D4
# makes it constrain nothing). Generated only when this is True.
NOT_BEFORE_OPTIONAL_TAIL = True


# ---- rules -----------------------------------------------------------------------


def _combine(draw: st.DrawFn, atoms: list[str], chance: int = 2) -> str | None:
    """None, or one atom, two atoms joined by and/or, or a negated atom: an
    expression `chance` times in 5."""
    if draw(st.integers(1, 5)) > chance:
        return None
    shape = draw(st.sampled_from(("one", "one", "one", "two", "not")))
    if not atoms:
        return None
    first = draw(st.sampled_from(atoms))
    if shape == "one":
        return first
    if shape == "not":
        return f"not ({first})"
    second = draw(st.sampled_from(atoms))
    op = draw(st.sampled_from(("and", "or")))
    return f"({first}) {op} ({second})"


def _element_atoms(alias: str, quantified: bool, earlier: Sequence[tuple[str, bool]]) -> list[str]:
    atoms = ["x > 0", "x < 2", "x == 0", "x != 1", "x >= 1 and x <= 2", "x in (0, 3)", "x is not null"]
    if quantified:
        prev = ["x == prev.x", "x > prev.x", "x >= prev.x", "x != prev.x", "not (x < prev.x)", "prev.x > 0"]
        atoms += [
            *prev,
            *prev,
            f"count({alias}) < 2",
            f"sum({alias}.x) + x <= 4",
            f"count({alias}) == 0 or x >= last({alias}).x",
        ]
    for other, other_quantified in earlier:
        if other_quantified:
            atoms += [f"x >= first({other}).x", f"x == last({other}).x", f"count({other}) >= 2"]
        else:
            atoms += [f"x > {other}.x", f"x == {other}.x", f"{other}.x is null"]
    return atoms


def _where_atoms(positives: Sequence[tuple[str, bool]], keyed: bool) -> list[str]:
    atoms: list[str] = []
    singles = [alias for alias, quantified in positives if not quantified]
    for alias, quantified in positives:
        if quantified:
            atoms += [
                f"count({alias}) >= 2",
                f"sum({alias}.x) >= 3",
                f"last({alias}).x >= first({alias}).x",
                f"max({alias}.x) - min({alias}.x) <= 1",
                f"avg({alias}.x) > 1",
            ]
        else:
            atoms += [f"{alias}.x >= 2", f"{alias}.x is null", f"exists({alias}.x)"]
    for left, right in itertools.pairwise(singles):
        atoms.append(f"{left}.x + {right}.x >= 3")
    if keyed:
        atoms.append("k == 0")
    return atoms


@st.composite
def rule_texts(
    draw: st.DrawFn,
    selection: str | None = None,
    skip: str | None = None,
    trailing_not: bool | None = None,
    keyed: bool | None = None,
) -> str:
    """A random rule `r`: SEQ of 1-4 elements over a/b/c, predicates on x,
    quantifiers, an optional NOT (between or trailing), WITHIN, BY k, WHERE."""
    count = draw(st.sampled_from((1, 2, 2, 3, 3, 3, 4, 4, 4)))
    positives: list[tuple[str, bool]] = []
    optionals: list[bool] = []
    items: list[str] = []
    for i in range(count):
        alias = f"e{i}"
        quantifier, quantified, optional = draw(st.sampled_from(QUANTIFIERS))
        optionals.append(optional)
        predicate = _combine(draw, _element_atoms(alias, quantified, positives))
        kind = draw(st.sampled_from(TYPES))
        body = f"{kind}[{predicate}]" if predicate else kind
        items.append(f"{body}{quantifier} AS {alias}")
        positives.append((alias, quantified))
    if trailing_not is None:
        where_not = draw(st.sampled_from(("none", "none", "between", "trailing")))
    else:
        where_not = "trailing" if trailing_not else draw(st.sampled_from(("none", "between")))
    if where_not == "between" and count < 2:
        where_not = "none"
    if where_not == "between" and not NOT_BEFORE_OPTIONAL_TAIL:
        # positions with a non-optional element after them
        places = [p for p in range(1, count) if not all(optionals[p:])]
        if places:
            position = draw(st.sampled_from(places))
        else:
            where_not = "none"
    within = draw(st.one_of(st.none(), st.integers(1, 5)))
    if where_not != "none":
        if where_not == "trailing":
            position = count
        elif NOT_BEFORE_OPTIONAL_TAIL:
            position = draw(st.integers(1, count - 1))
        before = [p for p in positives[:position] if not p[1]]
        atoms = ["x > 1", "x == 0"] + [f"x == {alias}.x" for alias, _ in before]
        predicate = draw(st.one_of(st.none(), st.sampled_from(atoms)))
        kind = draw(st.sampled_from(TYPES))
        body = f"{kind}[{predicate}]" if predicate else kind
        items.insert(position, f"NOT {body} AS n")
        if where_not == "trailing" and within is None:
            within = draw(st.integers(1, 5))
    if keyed is None:
        keyed = draw(st.booleans())
    where = _combine(draw, _where_atoms(positives, keyed), chance=1)
    lines = ["RULE r", f"  PATTERN SEQ({', '.join(items)})" + (f" WITHIN {within}s" if within else "")]
    if keyed:
        lines.append("  BY k")
    if where:
        lines.append(f"  WHERE {where}")
    lines.append(f"  SELECTION {selection or draw(st.sampled_from(SELECTIONS))}")
    lines.append(f"  AFTER MATCH {skip or draw(st.sampled_from(SKIPS))}")
    return "\n".join(lines) + "\n"


def valid(text: str) -> bool:
    return not check_text(text).errors


# ---- streams -------------------------------------------------------------------------


SIZES = (0, 2, 4, 5, 6, 6, 7, 7, 8, 8, 8, 9, 9, 9, 10, 10, 10)  # 0 first: it shrinks there


@st.composite
def streams(
    draw: st.DrawFn, max_size: int = 10, types: Sequence[str] = TYPES, order: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Events in time order (ties in list order), each with a unique id, of
    `types` (the rule's) and sometimes `d` (a type no rule uses); x or k is
    sometimes missing. With an `order` (the rule's positive element types in
    SEQ order) about half the events follow it, cycling, so that most
    examples have matches. Sizes are drawn nearly evenly, not small-first."""
    size = min(max_size, draw(st.sampled_from(SIZES)))
    kinds = [*types, *types, *types, "d"]
    ts = draw(st.integers(0, 3))
    cursor = 0
    events: list[dict[str, Any]] = []
    for i in range(size):
        ts += draw(st.sampled_from((0, 1, 1, 2)))
        if order and draw(st.booleans()):
            kind = order[cursor % len(order)]
            cursor += 1
        else:
            kind = draw(st.sampled_from(kinds))
        event: dict[str, Any] = {"id": f"e{i}", "type": kind, "ts": ts}
        x = draw(st.sampled_from((0, 1, 2, 3, 0, 1, 2, 3, None)))
        if x is not None:
            event["x"] = x
        k = draw(st.sampled_from((0, 1, 0, 1, 0, 1, 0, 1, 0, 1, None)))
        if k is not None:
            event["k"] = k
        events.append(event)
    return events


def streams_for(text: str, max_size: int = 10) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Streams shaped for this rule: its types, and its positive elements'
    types in order (twice for a quantified element)."""
    rule = parse_text(text).rules[0]
    assert rule.pattern is not None
    types = tuple(dict.fromkeys(e.type_name for e in ast.elements(rule.pattern.pattern) if e.type_name))
    order: list[str] = []
    for scope in element_scopes(rule.pattern.pattern):
        if not scope.negated and scope.element.type_name:
            order += [scope.element.type_name] * (2 if scope.element.quantified else 1)
    return streams(max_size=max_size, types=types, order=order)


# ---- comparing --------------------------------------------------------------------------

Partitioned = dict[Any, list[dict[str, tuple[int, ...]]]]


def by_fields(text: str) -> tuple[str, ...]:
    return tuple(p.dotted for p in parse_text(text).rules[0].by)


def reference_partitioned(text: str, events: Sequence[Mapping[str, Any]]) -> Partitioned:
    out: Partitioned = {}
    for match in reference_matches(parse_text(text).rules[0], events):
        out.setdefault(_partition_of(match.key), []).append(match.as_dict())
    return out


def _partition_of(values: Sequence[Any]) -> Any:
    return tuple(json_key(v) for v in values)


def _event_index(event: Mapping[str, Any]) -> int:
    return int(str(event["id"])[1:])


def engine_partitioned(text: str, matches: Sequence[Any]) -> Partitioned:
    fields = by_fields(text)
    out: Partitioned = {}
    for match in matches:
        assert match.rule == "r"
        bindings: dict[str, tuple[int, ...]] = {}
        for alias, bound in match.events.items():
            if isinstance(bound, Mapping):
                bindings[alias] = (_event_index(bound),)
            else:
                bindings[alias] = tuple(_event_index(e) for e in bound)
        key = _partition_of([match.key[f] for f in fields])
        out.setdefault(key, []).append(bindings)
    return out


def run_engine(text: str, events: Sequence[Mapping[str, Any]], **options: Any) -> list[Any]:
    assert Engine is not None
    engine = Engine.from_text(text, **options)
    matches = list(engine.process([dict(e) for e in events]))
    matches.extend(engine.close() or [])
    return matches


def show(events: Sequence[Mapping[str, Any]]) -> str:
    return "\n".join(f"  [{i}] {dict(e)}" for i, e in enumerate(events))


def check_engine_against_reference(text: str, events: list[dict[str, Any]]) -> None:
    note(f"rule:\n{text}")
    note(f"stream:\n{show(events)}")
    expected = reference_partitioned(text, events)
    note(f"reference (partition -> matches, alias -> event indices): {expected}")
    found = engine_partitioned(text, run_engine(text, events))
    note(f"engine: {found}")
    assert found == expected


# ---- the engine against the reference (need the engine) -----------------------------------


@needs_engine
@pytest.mark.parametrize("selection", SELECTIONS)
@hypothesis_settings(800)
@given(data=st.data())
def test_engine_agrees_with_reference(selection: str, data: st.DataObject) -> None:
    text = data.draw(rule_texts(selection=selection), label="rule")
    assume(valid(text))
    events = data.draw(streams_for(text, max_size=8 if selection == "SKIP_TILL_ANY" else 10), label="stream")
    check_engine_against_reference(text, events)


@needs_engine
@pytest.mark.parametrize("skip", SKIPS)
@hypothesis_settings(250)
@given(data=st.data())
def test_engine_agrees_on_trailing_not(skip: str, data: st.DataObject) -> None:
    text = data.draw(rule_texts(skip=skip, trailing_not=True), label="rule")
    assume(valid(text))
    events = data.draw(streams_for(text, max_size=10), label="stream")
    check_engine_against_reference(text, events)


@st.composite
def disordered(draw: st.DrawFn, events: list[dict[str, Any]], delay: int) -> list[dict[str, Any]]:
    """The events in an arrival order whose disorder is at most `delay`: each
    distinct time arrives late by 0..delay, and events of one time keep their
    order (ties are broken by arrival, so swapping them changes the stream).
    Event e arriving after f means e.ts + late(e) >= f.ts + late(f), so
    f.ts - e.ts <= delay: e is never older than the watermark max - delay.
    At equal arrival keys the later time goes first, so the disorder reaches
    `delay` exactly (the boundary: not late)."""
    lags = (0, *range(1, delay + 1), *range(1, delay + 1))
    lateness = {ts: draw(st.sampled_from(lags)) for ts in sorted({e["ts"] for e in events})}

    def arrival(i: int) -> tuple[int, int, int]:
        ts = events[i]["ts"]
        return (ts + lateness[ts], -ts, i)

    return [events[i] for i in sorted(range(len(events)), key=arrival)]


@needs_engine
@hypothesis_settings(400)
@given(data=st.data())
def test_engine_out_of_order_within_max_delay(data: st.DataObject) -> None:
    """A permutation whose disorder stays within max_delay (and that keeps
    events of equal time in their order, since ties are broken by arrival)
    gives, per partition, the same matches as the sorted stream."""
    text = data.draw(rule_texts(), label="rule")
    assume(valid(text))
    events = data.draw(streams_for(text, max_size=10), label="stream")
    delay = data.draw(st.integers(1, 3), label="max_delay")
    shuffled = data.draw(disordered(events, delay), label="arrival order")
    note(f"rule:\n{text}")
    note(f"sorted stream:\n{show(events)}")
    note(f"arrival order (max_delay={delay}):\n{show(shuffled)}")
    in_order = engine_partitioned(text, run_engine(text, events))
    note(f"engine, sorted, max_delay 0: {in_order}")
    out_of_order = engine_partitioned(text, run_engine(text, shuffled, max_delay=delay))
    note(f"engine, shuffled, max_delay {delay}: {out_of_order}")
    assert out_of_order == in_order


# ---- properties of the reference alone (run now) -------------------------------------------


def _with(text: str, selection: str | None = None, skip: str | None = None) -> str:
    lines = text.splitlines()
    if selection is not None:
        lines = [f"  SELECTION {selection}" if line.startswith("  SELECTION") else line for line in lines]
    if skip is not None:
        lines = [f"  AFTER MATCH {skip}" if line.startswith("  AFTER MATCH") else line for line in lines]
    return "\n".join(lines) + "\n"


def _as_set(matches: Sequence[RefMatch]) -> set[tuple[Any, ...]]:
    return {(_partition_of(m.key), m.bindings) for m in matches}


@hypothesis_settings(250)
@given(data=st.data())
def test_reference_selection_strategies_nest(data: st.DataObject) -> None:
    """Under NO SKIP, STRICT matches are SKIP_TILL_NEXT matches, which are
    SKIP_TILL_ANY matches (a prefix of a stricter match is as strict)."""
    text = data.draw(rule_texts(selection="STRICT", skip="NO SKIP"), label="rule")
    assume(valid(text))
    events = data.draw(streams_for(text, max_size=8), label="stream")
    rule = {s: parse_text(_with(text, selection=s)).rules[0] for s in SELECTIONS}
    found = {s: reference_matches(rule[s], events) for s in SELECTIONS}
    note(f"rule:\n{text}\nstream:\n{show(events)}\n{found}")
    for matches in found.values():
        assert len(set(matches)) == len(matches)
    assert _as_set(found["STRICT"]) <= _as_set(found["SKIP_TILL_NEXT"]) <= _as_set(found["SKIP_TILL_ANY"])


@hypothesis_settings(250)
@given(data=st.data())
def test_reference_skips(data: st.DataObject) -> None:
    """What each skip strategy guarantees about what it emits."""
    text = data.draw(rule_texts(skip="NO SKIP"), label="rule")
    assume(valid(text))
    events = data.draw(streams_for(text, max_size=9), label="stream")
    rules = {s: parse_text(_with(text, skip=s)).rules[0] for s in SKIPS}
    found = {s: reference_matches(rules[s], events) for s in SKIPS}
    note(f"rule:\n{text}\nstream:\n{show(events)}\n{found}")
    everything = found["NO SKIP"]
    for skip in ("SKIP PAST LAST", "SKIP TO NEXT"):
        # a subsequence of the NO SKIP output
        remaining = iter(everything)
        assert all(any(m == other for other in remaining) for m in found[skip])
    by_partition: dict[Any, list[RefMatch]] = {}
    for m in found["SKIP PAST LAST"]:
        by_partition.setdefault(_partition_of(m.key), []).append(m)
    for matches in by_partition.values():
        spans = [
            (min(i for _, ix in m.bindings for i in ix), max(i for _, ix in m.bindings for i in ix)) for m in matches
        ]
        assert all(prev[1] < nxt[0] for prev, nxt in itertools.pairwise(spans))
    firsts = [(_partition_of(m.key), min(i for _, ix in m.bindings for i in ix)) for m in found["SKIP TO NEXT"]]
    assert len(set(firsts)) == len(firsts)
    if everything:
        assert found["SKIP PAST LAST"] and found["SKIP TO NEXT"]
        assert found["SKIP PAST LAST"][0] == everything[0] == found["SKIP TO NEXT"][0]


@hypothesis_settings(250)
@given(data=st.data())
def test_reference_partitions_are_independent(data: st.DataObject) -> None:
    """A partition's matches are those of the rule over that partition's events
    alone (for a trailing NOT too: its settle points move, not its order)."""
    text = data.draw(rule_texts(keyed=True), label="rule")
    assume(valid(text))
    events = data.draw(streams_for(text, max_size=10), label="stream")
    whole = reference_partitioned(text, events)
    note(f"rule:\n{text}\nstream:\n{show(events)}\n{whole}")
    for k in (0, 1):
        indices = [i for i, e in enumerate(events) if e.get("k") == k]
        alone = reference_partitioned(text, [events[i] for i in indices])
        remapped = [
            {alias: tuple(indices[i] for i in ix) for alias, ix in m.items()} for ms in alone.values() for m in ms
        ]
        assert whole.get(_partition_of([k]), []) == remapped


@hypothesis_settings(200)
@given(data=st.data())
def test_reference_matches_are_well_formed(data: st.DataObject) -> None:
    """Bound events are of their element's type, in order, within WITHIN, and
    quantified aliases respect their bounds."""
    text = data.draw(rule_texts(), label="rule")
    assume(valid(text))
    events = data.draw(streams_for(text, max_size=10), label="stream")
    rule = parse_text(text).rules[0]
    assert rule.pattern is not None
    items = rule.pattern.pattern.items if hasattr(rule.pattern.pattern, "items") else (rule.pattern.pattern,)
    elements = {item.alias: item for item in items if not hasattr(item, "element")}
    for match in reference_matches(rule, events):
        note(f"rule:\n{text}\nstream:\n{show(events)}\nmatch: {match}")
        flat = [i for _, ix in match.bindings for i in ix]
        assert flat == sorted(set(flat))
        if rule.pattern.within is not None:
            assert (events[flat[-1]]["ts"] - events[flat[0]]["ts"]) * 1000 <= rule.pattern.within.ms
        for alias, ix in match.bindings:
            element = elements[alias]
            assert all(events[i]["type"] == element.type_name for i in ix)
            q = element.quantifier
            low, high = (1, 1) if q is None else (max(q.min, 1), q.max)
            assert low <= len(ix) and (high is None or len(ix) <= high)
            if rule.by:
                assert all(json_key(events[i]["k"]) == json_key(match.key[0]) for i in ix)
