"""NOT between elements and trailing NOT (hand-computed)."""

from __future__ import annotations

from engine_helpers import run_spec, stream

from cepengine import Engine

BETWEEN = "RULE r PATTERN SEQ(a, NOT n, b) WITHIN 1m"


def test_not_between_elements() -> None:
    assert run_spec(BETWEEN, "a1 b1") == [{"a": "a1", "b": "b1"}]
    assert run_spec(BETWEEN, "a1 n1 b1") == []
    # a1's path to b is dead after n1; a2 starts after it.
    assert run_spec(BETWEEN, "a1 n1 a2 b1") == [{"a": "a2", "b": "b1"}]


def test_not_predicate_may_use_earlier_aliases() -> None:
    rule = "RULE r PATTERN SEQ(login AS l, NOT logout[s == l.s], transfer) WITHIN 1m"
    assert run_spec(rule, "login1{s=1} logout1{s=2} transfer1") == [{"l": "login1", "transfer": "transfer1"}]
    assert run_spec(rule, "login1{s=1} logout1{s=1} transfer1") == []


def test_not_after_a_quantifier_counts_from_the_last_iteration() -> None:
    rule = "RULE r PATTERN SEQ(a+, NOT n, b) WITHIN 1m"
    assert run_spec(rule, "a1 n1 a2 b1") == [{"a": ["a1", "a2"], "b": "b1"}]


def test_strict_with_not() -> None:
    rule = "RULE r PATTERN SEQ(a, NOT n, b) WITHIN 1m SELECTION STRICT"
    assert run_spec(rule, "a1 n1 b1") == []
    assert run_spec(rule, "a1 b1") == [{"a": "a1", "b": "b1"}]


TRAILING = "RULE r PATTERN SEQ(o, NOT p) WITHIN 30s BY oid"


def test_trailing_not_emitted_when_the_interval_passes() -> None:
    assert run_spec(TRAILING, "o1{oid=1}@0 p1{oid=1}@31") == [{"o": "o1"}]
    assert run_spec(TRAILING, "o1{oid=1}@0 p1{oid=1}@10") == []
    assert run_spec(TRAILING, "o1{oid=1}@0 p1{oid=2}@10") == [{"o": "o1"}]


def test_trailing_not_interval_is_closed() -> None:
    # SPEC section 9: an event exactly at first.ts + d cancels the match.
    assert run_spec(TRAILING, "o1{oid=1}@0 p1{oid=1}@30") == []


def test_trailing_not_waits_for_the_watermark() -> None:
    engine = Engine.from_text(TRAILING)
    order, other_type = stream("o1{oid=1}@0 x1@30")
    assert engine.push(order) == []
    assert engine.push(other_type) == []  # watermark 30: not past 0 + 30 yet
    [match] = engine.push({"type": "x", "ts": 31, "id": "x2"})
    assert (match.rule, match.start_ms, match.end_ms) == ("r", 0, 0)
    assert engine.close() == []


def test_trailing_not_settled_at_end_of_input() -> None:
    engine = Engine.from_text(TRAILING)
    assert list(engine.process(stream("o1{oid=1}@0"))) == []
    assert [m.events["o"]["id"] for m in engine.close()] == ["o1"]


def test_trailing_not_after_several_elements() -> None:
    rule = "RULE r PATTERN SEQ(a, b, NOT c) WITHIN 10s"
    assert run_spec(rule, "a1@0 b1@2 c1@5") == []
    assert run_spec(rule, "a1@0 c1@1 b1@2") == [{"a": "a1", "b": "b1"}]  # c before b is not after b
    assert run_spec(rule, "a1@0 b1@2 c1@11") == [{"a": "a1", "b": "b1"}]
