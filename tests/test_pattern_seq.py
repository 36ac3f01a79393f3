"""SEQ under each selection strategy and after-match skip (hand-computed)."""

from __future__ import annotations

import pytest
from engine_helpers import run_spec

SEQ_AB = "RULE r PATTERN SEQ(a, b) WITHIN 1m SELECTION {sel} AFTER MATCH {skip}"


@pytest.mark.parametrize(
    ("sel", "skip", "expected"),
    [
        # a1 and a2 both wait for a b; b1 completes both (ordered by first event).
        ("SKIP_TILL_NEXT", "SKIP PAST LAST", [("a1", "b1")]),
        ("SKIP_TILL_NEXT", "SKIP TO NEXT", [("a1", "b1"), ("a2", "b1")]),
        ("SKIP_TILL_NEXT", "NO SKIP", [("a1", "b1"), ("a2", "b1")]),
        # SKIP_TILL_ANY also keeps the runs that ignored b1, so b2 matches again.
        ("SKIP_TILL_ANY", "NO SKIP", [("a1", "b1"), ("a2", "b1"), ("a1", "b2"), ("a2", "b2")]),
        ("SKIP_TILL_ANY", "SKIP TO NEXT", [("a1", "b1"), ("a2", "b1")]),
        ("SKIP_TILL_ANY", "SKIP PAST LAST", [("a1", "b1")]),
        # STRICT: a2 breaks a1's run (a2 is not a b); a2 b1 are consecutive.
        ("STRICT", "NO SKIP", [("a2", "b1")]),
    ],
)
def test_seq_strategies_and_skips(sel: str, skip: str, expected: list[tuple[str, str]]) -> None:
    found = run_spec(SEQ_AB.format(sel=sel, skip=skip), "a1 a2 b1 b2")
    assert [(m["a"], m["b"]) for m in found] == expected


def test_unrelated_types_are_not_in_the_rules_stream() -> None:
    # c is not used by the rule: it neither breaks STRICT nor costs anything.
    assert run_spec(SEQ_AB.format(sel="STRICT", skip="NO SKIP"), "a1 c1 b1") == [{"a": "a1", "b": "b1"}]


def _named(spec: str) -> str:
    """Flink's examples use conditions on one stream: every event is type e."""
    return " ".join(f"e{i}{{n='{tok}'}}" for i, tok in enumerate(spec.split()))


FLINK_AB = (
    "RULE r PATTERN SEQ(e[n == 'a'] AS a, e[n startswith 'b'] AS b) WITHIN 1m SELECTION {sel} AFTER MATCH NO SKIP"
)


@pytest.mark.parametrize(
    ("sel", "expected"),
    [
        # Flink CEP docs, "Combining Patterns" / contiguity: pattern "a b",
        # input "a", "c", "b1", "b2": strict → {}, relaxed → {a b1},
        # non-deterministic relaxed → {a b1}, {a b2}. (Flink's default
        # after-match strategy is NO_SKIP, hence AFTER MATCH NO SKIP.)
        # https://nightlies.apache.org/flink/flink-docs-stable/docs/libs/cep/#combining-patterns
        ("STRICT", []),
        ("SKIP_TILL_NEXT", [("e0", "e2")]),
        ("SKIP_TILL_ANY", [("e0", "e2"), ("e0", "e3")]),
    ],
)
def test_flink_contiguity_example(sel: str, expected: list[tuple[str, str]]) -> None:
    found = run_spec(FLINK_AB.replace("{sel}", sel), _named("a c b1 b2"))
    assert [(m["a"], m["b"]) for m in found] == expected


def test_single_element_pattern_matches_each_event() -> None:
    found = run_spec("RULE r PATTERN a[x > 1] WITHIN 1m", "a1{x=1} a2{x=2} a3{x=3}")
    assert found == [{"a": "a2"}, {"a": "a3"}]


def test_within_bounds_last_minus_first() -> None:
    rule = "RULE r PATTERN SEQ(a, b) WITHIN 5s"
    assert run_spec(rule, "a1@0 b1@5") == [{"a": "a1", "b": "b1"}]  # last - first == WITHIN
    assert run_spec(rule, "a1@0 b1@6") == []


def test_by_partitions_runs_independently() -> None:
    rule = "RULE r PATTERN SEQ(a, b) WITHIN 1m BY user"
    found = run_spec(rule, "a1{user=1} a2{user=2} b1{user=2} b2{user=1} b3{user=3}")
    assert found == [{"a": "a2", "b": "b1"}, {"a": "a1", "b": "b2"}]


def test_by_key_uses_json_equality() -> None:
    rule = "RULE r PATTERN SEQ(a, b) WITHIN 1m BY k"
    events = [
        {"type": "a", "ts": 0, "id": "a1", "k": 1},
        {"type": "b", "ts": 1, "id": "b1", "k": 1.0},  # same key as 1
        {"type": "a", "ts": 2, "id": "a2", "k": True},
        {"type": "b", "ts": 3, "id": "b2", "k": 1},  # true is not 1: a2 waits
    ]
    from engine_helpers import run

    assert run(rule, events) == [{"a": "a1", "b": "b1"}]


def test_references_to_earlier_aliases() -> None:
    rule = "RULE r PATTERN SEQ(a AS first, a[x != first.x] AS second) WITHIN 1m"
    assert run_spec(rule, "a1{x=1} a2{x=1} a3{x=2}") == [{"first": "a1", "second": "a3"}]


def test_where_filters_complete_matches() -> None:
    rule = "RULE r PATTERN SEQ(a, b) WITHIN 1m WHERE b.x > a.x AFTER MATCH NO SKIP"
    assert run_spec(rule, "a1{x=5} a2{x=1} b1{x=3}") == [{"a": "a2", "b": "b1"}]


def test_emit_values_and_missing_paths() -> None:
    from engine_helpers import stream

    from cepengine import Engine

    engine = Engine.from_text(
        "RULE r PATTERN SEQ(a AS l, b AS t) WITHIN 1m BY user EMIT user, amount = t.x * 2, ip = l.ip"
    )
    matches = list(engine.process(stream("a1{user=7,x=1} b1{user=7,x=21}"))) + engine.close()
    assert [m.emit for m in matches] == [{"user": 7, "amount": 42, "ip": None}]
    assert matches[0].key == {"user": 7}
    assert next(iter(matches[0].to_dict())) == "rule"
