"""OR and AND (hand-computed)."""

from __future__ import annotations

from engine_helpers import run_spec


def test_or_binds_the_branch_taken_and_omits_the_other() -> None:
    rule = "RULE r PATTERN SEQ(x, OR(a, b), y) WITHIN 1m"
    assert run_spec(rule, "x1 b1 y1") == [{"x": "x1", "b": "b1", "y": "y1"}]
    # Under SKIP_TILL_NEXT the run takes the first event that fits the OR.
    assert run_spec(rule, "x1 a1 b1 y1") == [{"x": "x1", "a": "a1", "y": "y1"}]


def test_or_overlap_binds_the_leftmost_branch() -> None:
    rule = "RULE r PATTERN SEQ(x, OR(e[v > 1] AS big, e[v > 0] AS pos), y) WITHIN 1m"
    assert run_spec(rule, "x1 e1{v=5} y1") == [{"x": "x1", "big": "e1", "y": "y1"}]
    assert run_spec(rule, "x1 e1{v=1} y1") == [{"x": "x1", "pos": "e1", "y": "y1"}]


def test_or_at_the_top() -> None:
    assert run_spec("RULE r PATTERN OR(a, b) WITHIN 1m", "a1 c1 b1") == [{"a": "a1"}, {"b": "b1"}]


def test_or_of_sequences() -> None:
    rule = "RULE r PATTERN SEQ(x, OR(SEQ(a, b), c), y) WITHIN 1m"
    assert run_spec(rule, "x1 a1 b1 y1") == [{"x": "x1", "a": "a1", "b": "b1", "y": "y1"}]
    assert run_spec(rule, "x1 c1 y1") == [{"x": "x1", "c": "c1", "y": "y1"}]


def test_and_in_any_order() -> None:
    rule = "RULE r PATTERN AND(a, b) WITHIN 1m"
    assert run_spec(rule, "a1 b1") == [{"a": "a1", "b": "b1"}]
    assert run_spec(rule, "b1 a1") == [{"a": "a1", "b": "b1"}]


def test_and_inside_seq() -> None:
    rule = "RULE r PATTERN SEQ(x, AND(a, b), y) WITHIN 1m"
    assert run_spec(rule, "x1 b1 a1 y1") == [{"x": "x1", "b": "b1", "a": "a1", "y": "y1"}]
    assert run_spec(rule, "x1 b1 y1") == []
