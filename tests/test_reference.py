"""Hand-computed cases that pin down the reference matcher (tests/reference.py).

Each expected result below was worked out by hand from docs/semantics.md; the
examples taken from the Flink CEP documentation cite their source. Streams are
written compactly: `stream("a1 b1@3 c:x=2,k=1")` is three events named a1, b1
and c, of types a, b, c (the name without its trailing digits, unless a single
`type_` is given), at ts = their position unless `@ts` says otherwise, with the
listed fields. Results are shown as alias -> names of the bound events.
"""

from __future__ import annotations

from typing import Any

import pytest
from reference import MISSING, reference_candidates, reference_matches

from cepengine.check import check_text
from cepengine.syntax.parser import parse_text

FLINK_CEP_DOCS = "https://nightlies.apache.org/flink/flink-docs-stable/docs/libs/cep/"
# (source: apache/flink, docs/content/docs/libs/cep.md)


# ---- helpers -------------------------------------------------------------------


def _value(text: str) -> Any:
    if text.lstrip("-").isdigit():
        return int(text)
    return text


def stream(spec: str, type_: str | None = None) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for position, token in enumerate(spec.split()):
        token, _, fields = token.partition(":")
        name, _, at = token.partition("@")
        event: dict[str, Any] = {
            "type": type_ or name.rstrip("0123456789"),
            "ts": int(at) if at else position,
            "name": name,
        }
        for item in filter(None, fields.split(",")):
            key, _, value = item.partition("=")
            event[key] = _value(value)
        events.append(event)
    return events


def rule_of(text: str) -> Any:
    errors = check_text(text).errors
    assert not errors, errors
    return parse_text(text).rules[0]


def run(text: str, events: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [
        {alias: " ".join(events[i]["name"] for i in indices) for alias, indices in match.bindings}
        for match in reference_matches(rule_of(text), events)
    ]


def run_keyed(text: str, events: list[dict[str, Any]]) -> list[tuple[tuple[Any, ...], dict[str, str]]]:
    return [
        (match.key, {alias: " ".join(events[i]["name"] for i in indices) for alias, indices in match.bindings})
        for match in reference_matches(rule_of(text), events)
    ]


# ---- SPEC section 3 ------------------------------------------------------------


def test_spec_example_skip_till_next_is_greedy_inside_a_quantifier() -> None:
    # SPEC section 3: SEQ(c, a+, b) over c d a1 a2 a3 d a4 b gives one match.
    events = stream("c d a1 a2 a3 d a4 b")
    assert run("RULE r PATTERN SEQ(c, a+, b)", events) == [{"c": "c", "a": "a1 a2 a3 a4", "b": "b"}]
    # NO SKIP changes nothing: the partial matches starting at c are one run.
    assert run("RULE r PATTERN SEQ(c, a+, b) AFTER MATCH NO SKIP", events) == [{"c": "c", "a": "a1 a2 a3 a4", "b": "b"}]


def test_spec_example_strict_ignores_unrelated_types() -> None:
    # d is not a type of the rule, so it is not in the partition stream and
    # does not break STRICT: c a1 a2 a3 a4 b are consecutive there.
    events = stream("c d a1 a2 a3 d a4 b")
    assert run("RULE r PATTERN SEQ(c, a+, b) SELECTION STRICT", events) == [{"c": "c", "a": "a1 a2 a3 a4", "b": "b"}]


# ---- Flink CEP documentation: contiguity ------------------------------------------
#
# Flink's conditions test an event's name; we translate a Flink pattern over
# names into one event type `e` with a `name` field, so that every event of
# the example (the "c" and "d" ones included) is in the rule's partition
# stream, as in Flink. Flink's default after-match strategy is NO_SKIP, so the
# translations say AFTER MATCH NO SKIP. Strict = STRICT, relaxed =
# SKIP_TILL_NEXT, non-deterministic relaxed = SKIP_TILL_ANY.

A_THEN_B = 'RULE r PATTERN SEQ(e[name == "a"] AS a, e[name startswith "b"] AS b) AFTER MATCH NO SKIP'


def test_flink_contiguity_a_b() -> None:
    # Flink CEP docs, "Combining Patterns" (FLINK_CEP_DOCS): pattern "a b" over
    # "a", "c", "b1", "b2": strict {} (no match), relaxed {a b1},
    # non-deterministic relaxed {a b1}, {a b2}.
    events = stream("a c b1 b2", type_="e")
    assert run(A_THEN_B + " SELECTION STRICT", events) == []
    assert run(A_THEN_B + " SELECTION SKIP_TILL_NEXT", events) == [{"a": "a", "b": "b1"}]
    assert run(A_THEN_B + " SELECTION SKIP_TILL_ANY", events) == [{"a": "a", "b": "b1"}, {"a": "a", "b": "b2"}]


def test_flink_contiguity_a_b_with_our_default_skip() -> None:
    # Adaptation: with our default AFTER MATCH SKIP PAST LAST, {a b1} discards
    # the partial match a... that would have completed as {a b2}.
    events = stream("a c b1 b2", type_="e")
    text = 'RULE r PATTERN SEQ(e[name == "a"] AS a, e[name startswith "b"] AS b) SELECTION SKIP_TILL_ANY'
    assert run(text, events) == [{"a": "a", "b": "b1"}]


def test_flink_contiguity_a_b_strict_with_an_unrelated_type() -> None:
    # Adaptation: in our language a "c" of a type the rule does not use is not
    # in the rule's stream, so it does not break STRICT (docs/semantics.md,
    # "The stream a rule sees").
    events = stream("a c b1 b2")
    assert run("RULE r PATTERN SEQ(a, b) SELECTION STRICT AFTER MATCH NO SKIP", events) == [{"a": "a", "b": "b1"}]


A_BS_C = (
    'RULE r PATTERN SEQ(e[name == "a"] AS a, e[name startswith "b"]+ AS b, e[name == "c"] AS c) AFTER MATCH NO SKIP'
)


def test_flink_contiguity_within_looping_patterns_non_deterministic() -> None:
    # Flink CEP docs, "Contiguity within looping patterns" (FLINK_CEP_DOCS):
    # "a b+ c" over "a", "b1", "d1", "b2", "d2", "b3", "c", non-deterministic
    # relaxed: {a b1 c}, {a b1 b2 c}, {a b1 b3 c}, {a b1 b2 b3 c}, {a b2 c},
    # {a b2 b3 c}, {a b3 c}. SKIP_TILL_ANY gives exactly these seven; all
    # complete at c with the same first event, so they come out ordered by the
    # arrival positions of their events (lexicographic).
    events = stream("a b1 d1 b2 d2 b3 c", type_="e")
    assert run(A_BS_C + " SELECTION SKIP_TILL_ANY", events) == [
        {"a": "a", "b": "b1 b2 b3", "c": "c"},
        {"a": "a", "b": "b1 b2", "c": "c"},
        {"a": "a", "b": "b1 b3", "c": "c"},
        {"a": "a", "b": "b1", "c": "c"},
        {"a": "a", "b": "b2 b3", "c": "c"},
        {"a": "a", "b": "b2", "c": "c"},
        {"a": "a", "b": "b3", "c": "c"},
    ]


def test_flink_contiguity_within_looping_patterns_relaxed_and_strict() -> None:
    # Same example. Adaptations: Flink's relaxed result {a b1 c}, {a b1 b2 c},
    # {a b1 b2 b3 c}, {a b2 c}, {a b2 b3 c}, {a b3 c} comes from a
    # non-deterministic a -> b+ transition and a non-greedy loop; our
    # SKIP_TILL_NEXT never ignores a fitting event, so one match. Flink's
    # strict {a b3 c} also relies on the non-deterministic a -> b+ transition;
    # our STRICT applies to the whole match, and d1 right after b1 breaks every
    # candidate, so nothing.
    events = stream("a b1 d1 b2 d2 b3 c", type_="e")
    assert run(A_BS_C + " SELECTION SKIP_TILL_NEXT", events) == [{"a": "a", "b": "b1 b2 b3", "c": "c"}]
    assert run(A_BS_C + " SELECTION STRICT", events) == []
    # With the d's of an unrelated type, STRICT sees a b1 b2 b3 c.
    assert run("RULE r PATTERN SEQ(a, b+, c) SELECTION STRICT", stream("a b1 d1 b2 d2 b3 c")) == [
        {"a": "a", "b": "b1 b2 b3", "c": "c"}
    ]


def test_flink_allow_combinations() -> None:
    # Flink CEP docs, "allowCombinations()" (FLINK_CEP_DOCS): c, a+ (with
    # combinations), b over C D A1 A2 A3 D A4 B gives the 15 matches
    # {C A1 B}, {C A1 A2 B}, {C A1 A3 B}, {C A1 A4 B}, {C A1 A2 A3 B},
    # {C A1 A2 A4 B}, {C A1 A3 A4 B}, {C A1 A2 A3 A4 B}, {C A2 B}, {C A2 A3 B},
    # {C A2 A4 B}, {C A2 A3 A4 B}, {C A3 B}, {C A3 A4 B}, {C A4 B}: our
    # SKIP_TILL_ANY with NO SKIP, emitted in lexicographic order.
    # Without combinations Flink gives {C A1 B}, {C A1 A2 B}, {C A1 A2 A3 B},
    # {C A1 A2 A3 A4 B}; ours (SKIP_TILL_NEXT) is the SPEC example's single
    # match, see test_spec_example_skip_till_next_is_greedy_inside_a_quantifier.
    events = stream("c d a1 a2 a3 d a4 b")
    found = run("RULE r PATTERN SEQ(c, a+, b) SELECTION SKIP_TILL_ANY AFTER MATCH NO SKIP", events)
    flink = [
        "a1",
        "a1 a2",
        "a1 a3",
        "a1 a4",
        "a1 a2 a3",
        "a1 a2 a4",
        "a1 a3 a4",
        "a1 a2 a3 a4",
        "a2",
        "a2 a3",
        "a2 a4",
        "a2 a3 a4",
        "a3",
        "a3 a4",
        "a4",
    ]
    assert sorted(m["a"] for m in found) == sorted(flink)
    assert all(m["c"] == "c" and m["b"] == "b" for m in found)
    # The arrival positions: c = 0, a1..a4 = 2, 3, 4, 6, b = 7.
    positions = {"a1": 2, "a2": 3, "a3": 4, "a4": 6}
    order = sorted(flink, key=lambda names: [0, *(positions[n] for n in names.split()), 7])
    assert [m["a"] for m in found] == order


# ---- Flink CEP documentation: after match skip --------------------------------------


@pytest.mark.parametrize(
    ("skip", "expected"),
    [
        ("NO SKIP", ["b1 b2 b3", "b2 b3", "b3"]),
        ("SKIP TO NEXT", ["b1 b2 b3", "b2 b3", "b3"]),
        ("SKIP PAST LAST", ["b1 b2 b3"]),
    ],
)
def test_flink_after_match_skip_b_plus_c(skip: str, expected: list[str]) -> None:
    # Flink CEP docs, "After Match Skip Strategy" (FLINK_CEP_DOCS): pattern
    # `b+ c` over `b1 b2 b3 c`: NO_SKIP and SKIP_TO_NEXT give b1 b2 b3 c,
    # b2 b3 c, b3 c; SKIP_PAST_LAST_EVENT gives b1 b2 b3 c. Reproduced exactly
    # with SKIP_TILL_NEXT (Flink loops default to relaxed contiguity; ours is
    # greedy, which here gives the same three runs, one per start).
    found = run(f"RULE r PATTERN SEQ(b+, c) AFTER MATCH {skip}", stream("b1 b2 b3 c"))
    assert found == [{"b": names, "c": "c"} for names in expected]


def test_flink_after_match_skip_a_b_plus() -> None:
    # Flink CEP docs, same section: pattern `a b+` over `a b1 b2 b3`: NO_SKIP
    # gives a b1, a b1 b2, a b1 b2 b3; SKIP_TO_NEXT gives a b1.
    # Adaptation: our trailing b+ completes at its first b (docs/semantics.md,
    # condition 7), so under SKIP_TILL_NEXT every skip strategy gives a b1.
    events = stream("a b1 b2 b3")
    for skip in ("NO SKIP", "SKIP TO NEXT", "SKIP PAST LAST"):
        assert run(f"RULE r PATTERN SEQ(a, b+) AFTER MATCH {skip}", events) == [{"a": "a", "b": "b1"}]
    # Under SKIP_TILL_ANY each b completes its own match; NO SKIP keeps all
    # three, SKIP TO NEXT keeps Flink's single a b1 (the others start with a).
    any_ = "RULE r PATTERN SEQ(a, b+) SELECTION SKIP_TILL_ANY AFTER MATCH"
    assert run(f"{any_} NO SKIP", events) == [{"a": "a", "b": "b1"}, {"a": "a", "b": "b2"}, {"a": "a", "b": "b3"}]
    assert run(f"{any_} SKIP TO NEXT", events) == [{"a": "a", "b": "b1"}]


FLINK_GREEDY = (
    "RULE r PATTERN SEQ("
    'e[name in ("a", "b") or name startswith "c"] AS p1, '
    'e[name == "b" or name startswith "c"] AS p2, '
    'e[name startswith "c"]+ AS p3, '
    'e[name == "d"] AS p4)'
)


@pytest.mark.parametrize(
    ("skip", "expected"),
    [
        ("NO SKIP", ["a b c1 c2 c3 d", "b c1 c2 c3 d", "c1 c2 c3 d"]),
        ("SKIP TO NEXT", ["a b c1 c2 c3 d", "b c1 c2 c3 d", "c1 c2 c3 d"]),
        ("SKIP PAST LAST", ["a b c1 c2 c3 d"]),
    ],
)
def test_flink_after_match_skip_greedy_example(skip: str, expected: list[str]) -> None:
    # Flink CEP docs, same section: pattern `(a | b | c) (b | c) c+.greedy d`
    # over `a b c1 c2 c3 d`, NO_SKIP: a b c1 c2 c3 d, b c1 c2 c3 d,
    # c1 c2 c3 d. Our SKIP_TILL_NEXT is greedy inside c+, as .greedy asks, and
    # gives the same three (a run starting at c2 has no c left for p3).
    # Flink's SKIP_TO_FIRST[c*] is not in our language; SKIP PAST LAST and
    # SKIP TO NEXT are hand-computed from the three matches, all completed by d.
    found = run(f"{FLINK_GREEDY} AFTER MATCH {skip}", stream("a b c1 c2 c3 d", type_="e"))
    assert [" ".join(m[p] for p in ("p1", "p2", "p3", "p4")) for m in found] == expected


# ---- quantifiers -------------------------------------------------------------------


def test_exact_count() -> None:
    events = stream("a1 a2 a3 b")
    assert run("RULE r PATTERN SEQ(a{2}, b) AFTER MATCH NO SKIP", events) == [
        {"a": "a1 a2", "b": "b"},
        {"a": "a2 a3", "b": "b"},
    ]
    # SKIP_TILL_NEXT: a3 is skipped by the run a1 a2 (a{2} is full and a3 does
    # not fit b). SKIP PAST LAST then drops the run that started at a2.
    assert run("RULE r PATTERN SEQ(a{2}, b)", events) == [{"a": "a1 a2", "b": "b"}]
    assert run("RULE r PATTERN SEQ(a{2}, b) SELECTION STRICT AFTER MATCH NO SKIP", events) == [{"a": "a2 a3", "b": "b"}]


def test_bounded_range_fills_to_its_maximum() -> None:
    events = stream("a1 a2 a3 a4 b")
    assert run("RULE r PATTERN SEQ(a{2,3}, b) AFTER MATCH NO SKIP", events) == [
        {"a": "a1 a2 a3", "b": "b"},
        {"a": "a2 a3 a4", "b": "b"},
        {"a": "a3 a4", "b": "b"},
    ]
    assert run("RULE r PATTERN SEQ(a{2,}, b) AFTER MATCH NO SKIP", events) == [
        {"a": "a1 a2 a3 a4", "b": "b"},
        {"a": "a2 a3 a4", "b": "b"},
        {"a": "a3 a4", "b": "b"},
    ]
    # Below the minimum b is not a continuation: the run a1 skips b1; the run
    # starting at a2 never gets a second a.
    assert run("RULE r PATTERN SEQ(a{2,}, b) AFTER MATCH NO SKIP", stream("a1 b1 a2 b2")) == [{"a": "a1 a2", "b": "b2"}]


def test_trailing_quantifier_completes_at_its_minimum() -> None:
    events = stream("x a1 a2 a3 a4 a5 a6")
    assert run("RULE r PATTERN SEQ(x, a{2,5})", events) == [{"x": "x", "a": "a1 a2"}]
    assert run("RULE r PATTERN SEQ(x, a+)", events) == [{"x": "x", "a": "a1"}]
    # A trailing ? or * binds nothing: the match is complete at x (the alias
    # is unbound and omitted).
    assert run("RULE r PATTERN SEQ(x, a?)", events) == [{"x": "x"}]
    assert run("RULE r PATTERN SEQ(x, a*)", events) == [{"x": "x"}]


def test_decision_d1_empty_match_does_not_exist() -> None:
    # DECISION D1: `a*` alone matches each a by itself (never the empty match).
    assert run("RULE r PATTERN a* AFTER MATCH NO SKIP", stream("a1 a2")) == [{"a": "a1"}, {"a": "a2"}]


def test_skip_till_next_takes_both_paths() -> None:
    # b2 fits both another iteration of bs and the element `last`: two runs.
    events = stream("a b1 b2 b3")
    text = "RULE r PATTERN SEQ(a, b+ AS bs, b AS last) AFTER MATCH"
    assert run(f"{text} NO SKIP", events) == [
        {"a": "a", "bs": "b1", "last": "b2"},
        {"a": "a", "bs": "b1 b2", "last": "b3"},
    ]
    assert run(f"{text} SKIP TO NEXT", events) == [{"a": "a", "bs": "b1", "last": "b2"}]
    assert run(f"{text} SKIP PAST LAST", events) == [{"a": "a", "bs": "b1", "last": "b2"}]


def test_decision_d7_tie_break_on_elements() -> None:
    # Same emission point, same first event, same events: x takes a2 in one
    # match, y in the other. DECISION D7: the one putting a2 in the earlier
    # element comes first.
    events = stream("a1 a2 b")
    text = "RULE r PATTERN SEQ(a+ AS x, a? AS y, b) AFTER MATCH"
    assert run(f"{text} NO SKIP", events) == [
        {"x": "a1 a2", "b": "b"},
        {"x": "a1", "y": "a2", "b": "b"},
        {"x": "a2", "b": "b"},
    ]
    assert run(f"{text} SKIP TO NEXT", events) == [{"x": "a1 a2", "b": "b"}, {"x": "a2", "b": "b"}]
    assert run(f"{text} SKIP PAST LAST", events) == [{"x": "a1 a2", "b": "b"}]


# ---- optional elements ------------------------------------------------------------------


def test_optional_element() -> None:
    text = "RULE r PATTERN SEQ(a, b?, c) AFTER MATCH NO SKIP"
    assert run(text, stream("a c")) == [{"a": "a", "c": "c"}]
    assert run(text, stream("a b c")) == [{"a": "a", "b": "b", "c": "c"}]
    # SKIP_TILL_ANY also skips the b: both complete at c, (a b c) first.
    assert run(text + " SELECTION SKIP_TILL_ANY", stream("a b c")) == [
        {"a": "a", "b": "b", "c": "c"},
        {"a": "a", "c": "c"},
    ]
    # SKIP_TILL_NEXT: c1 fits the element after the optional b, so the run
    # ends there; a match skipping c1 for b would ignore a fitting event.
    assert run(text, stream("a c1 b c2")) == [{"a": "a", "c": "c1"}]


def test_leading_optional_element() -> None:
    events = stream("a b")
    assert run("RULE r PATTERN SEQ(a?, b) AFTER MATCH NO SKIP", events) == [{"a": "a", "b": "b"}, {"b": "b"}]
    # Both complete at b; (a b) is first, and its last event b discards the
    # match that started at b.
    assert run("RULE r PATTERN SEQ(a?, b)", events) == [{"a": "a", "b": "b"}]


# ---- NOT ---------------------------------------------------------------------------------


def test_not_between() -> None:
    text = "RULE r PATTERN SEQ(a, NOT c, b) AFTER MATCH NO SKIP"
    assert run(text, stream("a c b")) == []
    assert run(text, stream("a b1 c b2")) == [{"a": "a", "b": "b1"}]
    assert run(text, stream("a1 c a2 b")) == [{"a": "a2", "b": "b"}]
    assert run(text + " SELECTION SKIP_TILL_ANY", stream("a1 c a2 b1 c b2")) == [{"a": "a2", "b": "b1"}]


def test_not_between_sees_earlier_aliases() -> None:
    text = "RULE r PATTERN SEQ(a AS s, NOT c[x == s.x] AS n, b AS e)"
    assert run(text, stream("a:x=1 c:x=2 b")) == [{"s": "a", "e": "b"}]
    assert run(text, stream("a:x=1 c:x=1 b")) == []


def test_not_between_a_quantifier_and_an_optional_element() -> None:
    # The NOT lies between the last b and the first event after it; here c
    # (optional) is unbound, so the interval ends at d.
    text = "RULE r PATTERN SEQ(b+, NOT x, c?, d) AFTER MATCH NO SKIP"
    assert run(text, stream("b1 b2 d")) == [{"b": "b1 b2", "d": "d"}, {"b": "b2", "d": "d"}]
    assert run(text, stream("b1 x b2 d")) == [{"b": "b1 b2", "d": "d"}, {"b": "b2", "d": "d"}]
    assert run(text, stream("b1 b2 x d")) == []
    assert run(text, stream("b1 b2 c x d")) == [{"b": "b1 b2", "c": "c", "d": "d"}, {"b": "b2", "c": "c", "d": "d"}]


def test_trailing_not_closed_interval() -> None:
    text = "RULE r PATTERN SEQ(a, NOT b) WITHIN 5s"
    # b exactly at first.ts + d cancels (SPEC section 9: [first.ts, first.ts + d]).
    assert run(text, stream("a@0 b@5")) == []
    assert run(text, stream("a@0 b@6")) == [{"a": "a"}]
    # End of input settles it.
    assert run(text, stream("a@0")) == [{"a": "a"}]
    # A b at the same time but arriving before a is not after it.
    assert run(text, stream("b@0 a@0")) == [{"a": "a"}]
    assert run(text, stream("a@0 b@0")) == []
    assert run(text, stream("a1@0 a2@3 b@6")) == [{"a": "a1"}]


def test_trailing_not_emission_points() -> None:
    # Settled by the watermark advance past first.ts + d, before the event
    # that advanced it is processed (here the unrelated z at index 2), or at
    # end of input (index len(events)).
    rule = rule_of("RULE r PATTERN SEQ(a, NOT b) WITHIN 5s AFTER MATCH NO SKIP")
    events = stream("a1@0 a2@4 z@6")
    assert [(c.indices, c.point) for c in reference_candidates(rule, events)] == [((0,), (2, 0)), ((1,), (3, 0))]


def test_trailing_not_after_a_quantifier() -> None:
    text = "RULE r PATTERN SEQ(a, b+, NOT c) WITHIN 10s AFTER MATCH NO SKIP"
    # The positive part is complete at a b1 (b+ at its minimum); the match is
    # a b1 once the watermark passes 10 with no c after b1.
    assert run(text, stream("a b1 b2")) == [{"a": "a", "b": "b1"}]
    # DECISION D3: c after b1 cancels a b1, and the run ended at b1 (the
    # trailing NOT does not keep it going): nothing, not a b1 b2.
    assert run(text, stream("a b1 c b2")) == []
    # b2 starts its own run, which no c follows.
    assert run(text + " SELECTION SKIP_TILL_ANY", stream("a b1 c b2")) == [{"a": "a", "b": "b2"}]


def test_trailing_not_and_skip_past_last() -> None:
    events = stream("a1@0 a2@1 b@2")
    text = "RULE r PATTERN SEQ(a, b, NOT c) WITHIN 5s AFTER MATCH"
    assert run(f"{text} NO SKIP", events) == [{"a": "a1", "b": "b"}, {"a": "a2", "b": "b"}]
    assert run(f"{text} SKIP PAST LAST", events) == [{"a": "a1", "b": "b"}]


# ---- WITHIN ------------------------------------------------------------------------------


def test_within_boundary() -> None:
    text = "RULE r PATTERN SEQ(a, b) WITHIN 5s"
    assert run(text, stream("a@0 b@5")) == [{"a": "a", "b": "b"}]
    assert run(text, stream("a@0 b@6")) == []
    assert run(text + " AFTER MATCH NO SKIP", stream("a1@0 a2@2 b@6")) == [{"a": "a2", "b": "b"}]
    assert run("RULE r PATTERN SEQ(a, b) WITHIN 1500ms", stream("a@0 b@1 b@2")) == [{"a": "a", "b": "b"}]


def test_within_bounds_a_quantifier() -> None:
    # Under SKIP_TILL_NEXT the run a1.. takes a2 and a3; a3 is 6s after a1,
    # so that run cannot match, and SKIP_TILL_NEXT forbids dropping a3.
    text = "RULE r PATTERN SEQ(a+, b) WITHIN 5s AFTER MATCH NO SKIP"
    assert run(text, stream("a1@0 a2@3 a3@6 b@7")) == [{"a": "a2 a3", "b": "b"}, {"a": "a3", "b": "b"}]


# ---- BY -------------------------------------------------------------------------------------


def test_by_partitions() -> None:
    events = stream("a1:k=1 a2:k=2 b1:k=1 b2:k=2")
    assert run_keyed("RULE r PATTERN SEQ(a, b) BY k", events) == [
        ((1,), {"a": "a1", "b": "b1"}),
        ((2,), {"a": "a2", "b": "b2"}),
    ]
    # STRICT is judged inside the partition.
    assert run_keyed("RULE r PATTERN SEQ(a, b) BY k SELECTION STRICT", events) == [
        ((1,), {"a": "a1", "b": "b1"}),
        ((2,), {"a": "a2", "b": "b2"}),
    ]


def test_by_json_equality_and_unkeyed_events() -> None:
    text = "RULE r PATTERN SEQ(a, b) BY k"
    float_key = [*stream("a:k=1"), {"type": "b", "ts": 1, "name": "b", "k": 1.0}]
    assert run(text, float_key) == [{"a": "a", "b": "b"}]
    assert run(text, stream("a:k=1 b:k=x")) == []
    # b without k (or with a null k) is not routed; nor breaks anything.
    null_key = [*stream("a:k=1 b1"), {"type": "b", "ts": 2, "name": "b2", "k": None}, *stream("b3@3:k=1")]
    assert run(text + " SELECTION STRICT", null_key) == [{"a": "a", "b": "b3"}]


def test_by_nested_path() -> None:
    events = [
        {"type": "a", "ts": 0, "name": "a", "u": {"id": 7}},
        {"type": "b", "ts": 1, "name": "b1", "u": {"id": 8}},
        {"type": "b", "ts": 2, "name": "b2", "u": {"id": 7}},
    ]
    assert run_keyed("RULE r PATTERN SEQ(a, b) BY u.id", events) == [((7,), {"a": "a", "b": "b2"})]


# ---- STRICT ----------------------------------------------------------------------------------


def test_strict_broken_by_a_rule_type_only() -> None:
    text = "RULE r PATTERN SEQ(a, b[x > 0]) SELECTION STRICT AFTER MATCH NO SKIP"
    # b:x=0 does not fit, but it is of a type the rule uses: it breaks STRICT.
    assert run(text, stream("a b1:x=0 b2:x=1")) == []
    # d is not: a and b are consecutive in the rule's stream.
    assert run(text, stream("a d b:x=1")) == [{"a": "a", "b": "b"}]
    # A type used only by a NOT is in the rule's stream too.
    assert run("RULE r PATTERN SEQ(a, NOT c[x > 5], b) SELECTION STRICT", stream("a c:x=0 b")) == []
    assert run("RULE r PATTERN SEQ(a, NOT c[x > 5], b) SELECTION STRICT", stream("a b")) == [{"a": "a", "b": "b"}]


def test_strict_quantifier() -> None:
    text = "RULE r PATTERN SEQ(a, b[x > 0]+, c) SELECTION STRICT AFTER MATCH NO SKIP"
    assert run(text, stream("a b1:x=1 b2:x=2 c")) == [{"a": "a", "b": "b1 b2", "c": "c"}]
    assert run(text, stream("a b1:x=1 b2:x=0 b3:x=1 c")) == []


def test_selection_strategies_differ() -> None:
    events = stream("a1 a2 b1 b2")
    text = "RULE r PATTERN SEQ(a, b) AFTER MATCH NO SKIP SELECTION"
    assert run(f"{text} STRICT", events) == [{"a": "a2", "b": "b1"}]
    assert run(f"{text} SKIP_TILL_NEXT", events) == [{"a": "a1", "b": "b1"}, {"a": "a2", "b": "b1"}]
    assert run(f"{text} SKIP_TILL_ANY", events) == [
        {"a": "a1", "b": "b1"},
        {"a": "a2", "b": "b1"},
        {"a": "a1", "b": "b2"},
        {"a": "a2", "b": "b2"},
    ]


def test_skip_strategies_differ() -> None:
    events = stream("a1 a2 b1 b2")
    text = "RULE r PATTERN SEQ(a, b) SELECTION SKIP_TILL_ANY AFTER MATCH"
    assert run(f"{text} SKIP PAST LAST", events) == [{"a": "a1", "b": "b1"}]
    assert run(f"{text} SKIP TO NEXT", events) == [{"a": "a1", "b": "b1"}, {"a": "a2", "b": "b1"}]
    # SKIP PAST LAST discards only what started at or before the last event.
    assert run("RULE r PATTERN SEQ(a, b)", stream("a1 b1 a2 b2")) == [{"a": "a1", "b": "b1"}, {"a": "a2", "b": "b2"}]


# ---- predicates, prev, aggregates ----------------------------------------------------------------


def test_prev_on_the_first_iteration_is_the_event_before() -> None:
    text = "RULE r PATTERN SEQ(a, b[x > prev.x]+, c)"
    assert run(text, stream("a:x=1 b1:x=2 b2:x=3 c")) == [{"a": "a", "b": "b1 b2", "c": "c"}]
    # b1 is not above a: it does not fit, b2 does.
    assert run(text, stream("a:x=5 b1:x=2 b2:x=6 c")) == [{"a": "a", "b": "b2", "c": "c"}]
    # A b below its previous iteration is skipped (it does not fit).
    assert run(text, stream("a:x=0 b1:x=2 b2:x=1 b3:x=3 c")) == [{"a": "a", "b": "b1 b3", "c": "c"}]


def test_prev_missing_in_the_first_element() -> None:
    # On the first iteration of a first element prev is missing: x == prev.x
    # is false, and not (x != prev.x) is true (two-valued logic).
    events = stream("a1:x=1 a2:x=1 b")
    assert run("RULE r PATTERN SEQ(a[x == prev.x]+, b)", events) == []
    assert run("RULE r PATTERN SEQ(a[not (x != prev.x)]+, b)", events) == [{"a": "a1 a2", "b": "b"}]


def test_aggregates_in_where() -> None:
    events = stream("a b1:x=1 b2:x=2 b3:x=3 c")
    text = "RULE r PATTERN SEQ(a, b+, c) SELECTION SKIP_TILL_ANY AFTER MATCH NO SKIP WHERE"
    assert [m["b"] for m in run(f"{text} sum(b.x) >= 5", events)] == ["b1 b2 b3", "b2 b3"]
    assert [m["b"] for m in run(f"{text} count(b) == 2", events)] == ["b1 b2", "b1 b3", "b2 b3"]
    assert [m["b"] for m in run(f"{text} avg(b.x) == 2", events)] == ["b1 b2 b3", "b1 b3", "b2"]
    assert [m["b"] for m in run(f"{text} first(b).x == 1 and last(b).x == 3", events)] == ["b1 b2 b3", "b1 b3"]
    assert [m["b"] for m in run(f"{text} max(b.x) - min(b.x) == 1", events)] == ["b1 b2", "b2 b3"]


def test_aggregates_skip_missing_values() -> None:
    events = stream("a b1:x=2 b2 b3:x=4 c")
    text = "RULE r PATTERN SEQ(a, b+, c) WHERE"
    assert run(f"{text} sum(b.x) == 6 and avg(b.x) == 3 and count(b) == 3", events) == [
        {"a": "a", "b": "b1 b2 b3", "c": "c"}
    ]
    # DECISION D8: count(b.x) counts the iterations where x is present.
    assert run(f"{text} count(b.x) == 2", events) == [{"a": "a", "b": "b1 b2 b3", "c": "c"}]


def test_aggregate_over_own_iterations() -> None:
    # count(b) in b's own predicate counts the iterations already taken: b3 is
    # refused; it fits no continuation either, so SKIP_TILL_NEXT skips it.
    assert run("RULE r PATTERN SEQ(a, b[count(b) < 2]+, c)", stream("a b1 b2 b3 c")) == [
        {"a": "a", "b": "b1 b2", "c": "c"}
    ]
    assert run("RULE r PATTERN SEQ(a, b[sum(b.x) + x <= 3]+, c)", stream("a b1:x=1 b2:x=1 b3:x=2 b4:x=1 c")) == [
        {"a": "a", "b": "b1 b2 b4", "c": "c"}
    ]


def test_decision_d3_where_only_filters() -> None:
    # DECISION D3: a b1 is complete (b+ at its minimum); WHERE fails, so no
    # match, and the run does not go on to a b1 b2.
    assert run("RULE r PATTERN SEQ(a, b+) WHERE count(b) >= 2", stream("a b1 b2 b3")) == []
    # {c} is complete (a? may bind nothing): WHERE fails on it, c a is never tried.
    text = "RULE r PATTERN SEQ(c, a? AS o) WHERE exists(o.x) SELECTION STRICT"
    assert run(text, stream("c a:x=1")) == []
    # Inside the pattern, a WHERE-like condition belongs in a predicate.
    assert run("RULE r PATTERN SEQ(a, b{2,}) WHERE count(b) >= 2", stream("a b1 b2 b3")) == [{"a": "a", "b": "b1 b2"}]


def test_references_to_earlier_aliases_and_unbound_ones() -> None:
    assert run("RULE r PATTERN SEQ(a AS s, b[x > s.x] AS e)", stream("a:x=1 b1:x=1 b2:x=2")) == [{"s": "a", "e": "b2"}]
    # An unbound optional alias is missing.
    text = "RULE r PATTERN SEQ(a?, b[a.x is null or x > a.x]) AFTER MATCH NO SKIP"
    assert run(text, stream("b:x=0")) == [{"b": "b"}]
    assert run(text, stream("a:x=1 b:x=0")) == [{"b": "b"}]
    assert run("RULE r PATTERN SEQ(a, b*, c) WHERE count(b) == 0", stream("a c")) == [{"a": "a", "c": "c"}]


def test_where_reads_by_fields() -> None:
    events = stream("a1:k=1 a2:k=2 b1:k=1 b2:k=2")
    assert run_keyed("RULE r PATTERN SEQ(a, b) BY k WHERE k == 2", events) == [((2,), {"a": "a2", "b": "b2"})]


def test_any_element_sees_every_type() -> None:
    text = "RULE r PATTERN SEQ(a, ANY AS n, b) SELECTION STRICT"
    assert run(text, stream("a z b")) == [{"a": "a", "n": "z", "b": "b"}]
    # ANY puts every type in the rule's stream, so z now breaks STRICT.
    assert run('RULE r PATTERN SEQ(a, ANY[type == "b"] AS n) SELECTION STRICT', stream("a z b")) == []


EXPRESSIONS = [
    ("x == 2", True),
    ("x == 2.0", True),
    ('x == "2"', False),
    ('x != "2"', True),
    ("nope == 1", False),
    ("nope != 1", False),
    ("not (nope == 1)", True),
    ("not (nope != 1)", True),
    ("n == null", False),
    ("n != 1", False),
    ("n is null", True),
    ("nope is null", True),
    ("x is not null", True),
    ("exists(x)", True),
    ("exists(n)", False),
    ("exists(nope)", False),
    ("t == true", True),
    ("t == 1", False),
    ('x < "3"', False),
    ('s > "abb"', True),
    ("x / 0 == 0", False),
    ("not (x / 0 == 0)", True),
    ("x / 4 == 0.5", True),
    ("x % 0 == 0", False),
    ("x % 2 == 0", True),
    ("nope + 1 == 1", False),
    ("-x == -2", True),
    ("x * 3 - 1 == 5", True),
    # check rejects a number literal after contains (E018), so the list
    # membership cases use fields.
    ("l contains x", True),
    ("l contains s", False),
    ('s contains "b"', True),
    ('x contains "2"', False),
    ('s matches "^a.c$"', True),
    ('s matches "b"', True),
    ('s matches "B"', False),
    ('x matches "2"', False),
    ('s startswith "ab"', True),
    ("x in (1, 2)", True),
    ("x in (1, 3)", False),
    ("x not in (1, 2)", False),
    ("x not in (1, 3)", True),
    ("nope in (1, 2)", False),
    ("nope not in (1, 2)", False),
    ("abs(0 - x) == 2", True),
    ('upper(s) == "ABC"', True),
    ('lower(x) == "2"', False),
    ("len(s) == 3 and len(l) == 2", True),
    ("u.v == 1", True),
    ("u.w == 1", False),
    ("x == 1 or x == 2", True),
    ("x == 2 and nope == 1", False),
    ("t", True),
    ("not t", False),
    ("x", False),
]


@pytest.mark.parametrize(("expr", "holds"), EXPRESSIONS)
def test_expressions(expr: str, holds: bool) -> None:
    event = {"type": "a", "ts": 0, "name": "a", "x": 2, "s": "abc", "l": [1, 2], "n": None, "t": True, "u": {"v": 1}}
    assert run(f"RULE r PATTERN a[{expr}]", [event]) == ([{"a": "a"}] if holds else [])


def test_missing_is_a_singleton() -> None:
    assert type(MISSING)() is MISSING
