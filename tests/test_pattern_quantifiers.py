"""Quantifiers, prev and aggregates over quantified aliases (hand-computed)."""

from __future__ import annotations

from engine_helpers import run_spec


def test_spec_example_skip_till_next_is_greedy_inside_a_quantifier() -> None:
    # SPEC section 3: SEQ(c, a+, b) over c d a1 a2 a3 d a4 b → one match.
    found = run_spec("RULE r PATTERN SEQ(c, a+, b) WITHIN 1m", "c1 d1 a1 a2 a3 d2 a4 b1")
    assert found == [{"c": "c1", "a": ["a1", "a2", "a3", "a4"], "b": "b1"}]


def test_exact_count_stops_at_its_maximum() -> None:
    found = run_spec("RULE r PATTERN SEQ(a, b{2}, c) WITHIN 1m", "a1 b1 b2 b3 c1")
    assert found == [{"a": "a1", "b": ["b1", "b2"], "c": "c1"}]


def test_at_least_takes_every_fitting_event() -> None:
    found = run_spec("RULE r PATTERN SEQ(a, b{2,}, c) WITHIN 1m", "a1 b1 b2 b3 c1")
    assert found == [{"a": "a1", "b": ["b1", "b2", "b3"], "c": "c1"}]
    assert run_spec("RULE r PATTERN SEQ(a, b{2,}, c) WITHIN 1m", "a1 b1 c1") == []


def test_optional_element_taken_or_omitted() -> None:
    rule = "RULE r PATTERN SEQ(a, b?, c) WITHIN 1m"
    assert run_spec(rule, "a1 c1") == [{"a": "a1", "c": "c1"}]
    assert run_spec(rule, "a1 b1 c1") == [{"a": "a1", "b": "b1", "c": "c1"}]


def test_star_zero_or_more() -> None:
    rule = "RULE r PATTERN SEQ(a, b*, c) WITHIN 1m"
    assert run_spec(rule, "a1 c1") == [{"a": "a1", "c": "c1"}]
    assert run_spec(rule, "a1 b1 b2 c1") == [{"a": "a1", "b": ["b1", "b2"], "c": "c1"}]


def test_trailing_quantifier_completes_at_its_minimum() -> None:
    assert run_spec("RULE r PATTERN SEQ(a, b+) WITHIN 1m", "a1 b1 b2") == [{"a": "a1", "b": ["b1"]}]
    found = run_spec("RULE r PATTERN SEQ(a, b{2,3}) WITHIN 1m", "a1 b1 b2 b3")
    assert found == [{"a": "a1", "b": ["b1", "b2"]}]


def test_event_fitting_iteration_and_next_element_takes_both_paths() -> None:
    rule = "RULE r PATTERN SEQ(a, e[v > 0]+ AS xs, e[v > 5] AS y) WITHIN 1m AFTER MATCH {skip}"
    spec = "a1 e1{v=1} e2{v=7} e3{v=9}"
    # e2 both extends xs and completes with y=e2; the extended run sees e3.
    assert run_spec(rule.format(skip="NO SKIP"), spec) == [
        {"a": "a1", "xs": ["e1"], "y": "e2"},
        {"a": "a1", "xs": ["e1", "e2"], "y": "e3"},
    ]
    # SKIP PAST LAST discards the longer run: it started before e2.
    assert run_spec(rule.format(skip="SKIP PAST LAST"), spec) == [{"a": "a1", "xs": ["e1"], "y": "e2"}]


def test_prev_compares_with_the_previous_iteration() -> None:
    rule = "RULE r PATTERN SEQ(t AS base, t[p > prev.p]{3} AS rises) WITHIN 1m SELECTION STRICT"
    # The run from t1 breaks at t3 (1 is not > 2); the run from t3 rises three times.
    found = run_spec(rule, "t1{p=1} t2{p=2} t3{p=1} t4{p=2} t5{p=3} t6{p=4}")
    assert found == [{"base": "t3", "rises": ["t4", "t5", "t6"]}]


def test_prev_on_first_iteration_is_the_event_before_the_element() -> None:
    rule = "RULE r PATTERN SEQ(t AS base, t[p > prev.p]+ AS up, u) WITHIN 1m"
    assert run_spec(rule, "t1{p=5} t2{p=4} u1") == []
    assert run_spec(rule, "t1{p=3} t2{p=4} u1") == [{"base": "t1", "up": ["t2"], "u": "u1"}]


def test_prev_is_missing_in_a_quantified_first_element() -> None:
    assert run_spec("RULE r PATTERN SEQ(t[p > prev.p]+, u) WITHIN 1m", "t1{p=1} t2{p=2} u1") == []


def test_aggregates_in_where() -> None:
    rule = (
        "RULE r PATTERN SEQ(ch[amount < 5]{3,} AS small, ch[amount > 500] AS big) WITHIN 1m "
        "WHERE sum(small.amount) < LIMIT"
    )
    spec = "ch1{amount=1} ch2{amount=2} ch3{amount=3} ch4{amount=900}"
    assert run_spec(rule.replace("LIMIT", "10"), spec) == [{"small": ["ch1", "ch2", "ch3"], "big": "ch4"}]
    assert run_spec(rule.replace("LIMIT", "6"), spec) == []


def test_aggregates_in_own_predicate_cover_iterations_taken() -> None:
    rule = "RULE r PATTERN SEQ(a, b[count(b) < 2]+, c) WITHIN 1m"
    assert run_spec(rule, "a1 b1 b2 b3 c1") == [{"a": "a1", "b": ["b1", "b2"], "c": "c1"}]


def test_first_last_avg_min_max_count() -> None:
    from engine_helpers import stream

    from cepengine import Engine

    engine = Engine.from_text(
        "RULE r PATTERN SEQ(a, b{3}, c) WITHIN 1m EMIT f = first(b).x, l = last(b).x, n = count(b), "
        "s = sum(b.x), m = avg(b.x), lo = min(b.x), hi = max(b.x), nx = count(b.x)"
    )
    matches = list(engine.process(stream("a1 b1{x=4} b2 b3{x=2} c1"))) + engine.close()
    assert [m.emit for m in matches] == [{"f": 4, "l": 2, "n": 3, "s": 6, "m": 3.0, "lo": 2, "hi": 4, "nx": 2}]
