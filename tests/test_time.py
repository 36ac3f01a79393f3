"""Event time (SPEC sections 5 and 9): reordering, watermark, lateness,
end of input, idle sources, dedup.

Watermark = max event time seen - max_delay. An event is late for a rule
when ts < watermark - the rule's allowed lateness.
"""

from __future__ import annotations

import random
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cepengine import Engine

PAIR = """
RULE pair
  PATTERN SEQ(a AS x, b AS y) WITHIN 10s
  BY k
  EMIT k, xv = x.v, yv = y.v
"""

COUNT = """
RULE cnt
  FROM a
  WINDOW TUMBLING 10s
  EMIT n = count(), total = sum(v)
"""

BOTH = PAIR + COUNT


def ev(ts: float, type_: str = "a", **fields: object) -> dict[str, object]:
    return {"type": type_, "ts": ts, **fields}


def run_all(engine: Engine, events: list[dict[str, object]]) -> list:
    out = [m for e in events for m in engine.push(e)]
    return out + engine.close()


def as_set(matches: list) -> set[tuple[str, str, str]]:
    return {(m.rule, m.match_id, repr(m.emit)) for m in matches}


# ---- reordering --------------------------------------------------------------------


def test_out_of_order_within_max_delay_gives_the_sorted_result() -> None:
    # Sorted: a@0 (v 1), b@2 (v 2), a@4 (v 3), b@6 (v 4), a@12 (v 5).
    # PAIR (skip past last): a@0 b@2 and a@4 b@6. COUNT reads only type a:
    # [0,10) a@0, a@4 -> n 2 sum 4; [10,20) a@12 -> n 1 sum 5.
    ordered = [ev(0, v=1, k=1), ev(2, "b", v=2, k=1), ev(4, v=3, k=1), ev(6, "b", v=4, k=1), ev(12, v=5, k=1)]
    shuffled = [ordered[i] for i in (1, 0, 3, 2, 4)]  # each at most 2 s early
    expected = run_all(Engine.from_text(BOTH), ordered)
    assert sorted((m.rule, m.start_ms, repr(m.emit)) for m in expected) == [
        ("cnt", 0, repr({"n": 2, "total": 4})),
        ("cnt", 10_000, repr({"n": 1, "total": 5})),
        ("pair", 0, repr({"k": 1, "xv": 1, "yv": 2})),
        ("pair", 4_000, repr({"k": 1, "xv": 3, "yv": 4})),
    ]
    got = run_all(Engine.from_text(BOTH, max_delay="2s"), shuffled)
    assert as_set(got) == as_set(expected)
    engine = Engine.from_text(BOTH, max_delay="2s")
    run_all(engine, shuffled)
    assert engine.metrics()["late"] == 0


def test_without_max_delay_the_same_shuffle_is_late() -> None:
    ordered = [ev(0, v=1, k=1), ev(2, "b", v=2, k=1), ev(4, v=3, k=1), ev(6, "b", v=4, k=1)]
    shuffled = [ordered[i] for i in (1, 0, 3, 2)]
    engine = Engine.from_text(BOTH)
    out = run_all(engine, shuffled)
    # a@0 arrives after b@2 (watermark 2): late; a@4 after b@6: late.
    # Left: b@2, b@6 -> no pair; no a in any window -> nothing.
    assert out == []
    assert engine.metrics()["late"] == 2


def _jittered(times: list[int], jitter: list[int]) -> list[int]:
    """Arrival order: sort by ts + jitter (jitter in [0, D]) -> every event
    arrives no more than D after a later event, i.e. never late."""
    return sorted(range(len(times)), key=lambda i: (times[i] + jitter[i], i))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.sampled_from("ab"), st.integers(0, 1), st.integers(0, 5), st.integers(0, 3000)),
        min_size=1,
        max_size=25,
    ),
    st.data(),
)
def test_reordering_property(spec: list[tuple[str, int, int, int]], data: st.DataObject) -> None:
    # Distinct times (ties are ordered by arrival, so a shuffle may change them).
    times = [i * 1000 + 7 * i for i in range(len(spec))]
    random.Random(len(spec)).shuffle(times)
    events = [
        {"type": t, "ts": ts / 1000, "k": k, "v": v, "id": f"e{i}"}
        for i, ((t, k, v, _), ts) in enumerate(zip(spec, times, strict=True))
    ]
    ordered = sorted(events, key=lambda e: e["ts"])
    jitter = [j for *_, j in spec]
    arrival = [events[i] for i in _jittered([e["ts"] * 1000 for e in events], jitter)]
    delay = data.draw(st.sampled_from(["3s", 3, "3", "3000ms", 5, "4.5"]))
    expected = run_all(Engine.from_text(BOTH), ordered)
    engine = Engine.from_text(BOTH, max_delay=delay)
    got = run_all(engine, arrival)
    assert engine.metrics()["late"] == 0
    assert as_set(got) == as_set(expected)


# ---- watermark ---------------------------------------------------------------------


def test_watermark_is_max_time_minus_max_delay() -> None:
    engine = Engine.from_text(COUNT, max_delay="5s")
    assert engine.metrics()["watermark"] is None
    engine.push(ev(100))
    assert engine.metrics()["watermark"] == 95_000
    engine.push(ev(98))  # older than the max: watermark unchanged
    assert engine.metrics()["watermark"] == 95_000
    engine.push(ev(103.5))
    assert engine.metrics()["watermark"] == 98_500
    assert engine.watermark == 98_500


def test_max_delay_holds_back_window_results() -> None:
    engine = Engine.from_text(COUNT, max_delay="5s")
    # [0,10) closes when the watermark reaches 10, i.e. max ts 15.
    assert engine.push(ev(1, v=1)) == []
    assert engine.push(ev(12, v=2)) == []  # watermark 7
    assert engine.push(ev(8, v=3)) == []  # not late (8 >= 7): joins [0,10)
    assert engine.push(ev(14.999, v=4)) == []  # watermark 9.999
    out = engine.push(ev(15, v=5))  # watermark 10
    assert [(m.start_ms, m.emit) for m in out] == [(0, {"n": 2, "total": 4})]
    assert [(m.start_ms, m.emit) for m in engine.close()] == [(10_000, {"n": 3, "total": 11})]


# ---- lateness ----------------------------------------------------------------------


def test_late_events_are_counted_and_dropped() -> None:
    engine = Engine.from_text(COUNT)
    late = []
    engine.on_late(lambda event, reason: late.append(event))
    engine.push(ev(10, v=1))  # watermark 10
    engine.push(ev(10, v=2))  # ts == watermark: not late
    engine.push(ev(9.999, v=100))  # late: dropped
    engine.push(ev(3, v=100))  # late: dropped
    out = engine.close()
    assert [(m.start_ms, m.emit) for m in out] == [(10_000, {"n": 2, "total": 3})]
    assert engine.metrics()["late"] == 2
    assert late == []  # late="drop": no late output


def test_late_output_passes_late_events_to_callbacks() -> None:
    engine = Engine.from_text(COUNT, late="output")
    late: list[tuple[object, str]] = []
    engine.on_late(lambda event, reason: late.append((event, reason)))
    engine.push(ev(20, v=1))
    engine.push(ev(5, v=2, id="old"))
    out = engine.close()
    assert [m.emit for m in out] == [{"n": 1, "total": 1}]
    assert engine.metrics()["late"] == 1
    assert len(late) == 1
    event, reason = late[0]
    assert event == ev(5, v=2, id="old")
    assert isinstance(reason, str) and "late" in reason


def test_engine_allowed_lateness() -> None:
    engine = Engine.from_text(COUNT, allowed_lateness="5s")
    # Rule watermark = watermark - 5 s = 7 after ts 12. ts 8 is on time
    # for the rule (8 >= 7); ts 6.999 is late (6.999 < 7).
    engine.push(ev(3, v=10))
    engine.push(ev(12, v=1))
    engine.push(ev(8, v=2))
    engine.push(ev(6.999, v=100))
    out = engine.close()
    # [0,10): ts 3 (v 10) and ts 8 (v 2) -> n 2, total 12. [10,20): ts 12.
    assert [(m.start_ms, m.emit) for m in out] == [(0, {"n": 2, "total": 12}), (10_000, {"n": 1, "total": 1})]
    assert engine.metrics()["late"] == 1


def test_allowed_lateness_delays_results() -> None:
    engine = Engine.from_text(COUNT, allowed_lateness="5s")
    engine.push(ev(3, v=1))
    # Watermark 12, rule watermark 7: [0,10) is still open.
    assert engine.push(ev(12, v=1)) == []
    # Watermark 15, rule watermark 10: [0,10) closes.
    assert [m.start_ms for m in engine.push(ev(15, v=1))] == [0]


LATENESS_RULES = """
RULE strict_r
  FROM a
  WINDOW TUMBLING 10s
  EMIT n = count()
RULE lax_r
  FROM a
  WINDOW TUMBLING 10s
  ALLOWED LATENESS 10s
  EMIT n = count()
"""


def test_per_rule_allowed_lateness() -> None:
    engine = Engine.from_text(LATENESS_RULES, late="output")
    late: list[object] = []
    engine.on_late(lambda event, reason: late.append(event))
    # Watermark after ts 15: 15. strict_r runs at 15, lax_r at 5.
    # ts 5: late for strict_r (5 < 15), on time for lax_r (5 >= 5).
    # ts 1: late for both (1 < 5): dropped everywhere.
    out = []
    for ts in (0, 15, 5, 1):
        out += engine.push(ev(ts, id=f"t{ts}"))
    out += engine.close()
    got = sorted((m.rule, m.start_ms, m.emit["n"]) for m in out)
    assert got == [
        ("lax_r", 0, 2),  # ts 0 and 5
        ("lax_r", 10_000, 1),
        ("strict_r", 0, 1),  # ts 0 only
        ("strict_r", 10_000, 1),
    ]
    assert ev(1, id="t1") in late
    assert engine.metrics()["late"] >= 1


def test_per_rule_lateness_delays_only_that_rule() -> None:
    engine = Engine.from_text(LATENESS_RULES)
    engine.push(ev(3))
    out = engine.push(ev(12))
    # strict_r's [0,10) closes at watermark 10; lax_r's needs 20.
    assert [(m.rule, m.start_ms) for m in out] == [("strict_r", 0)]
    # At 20: strict_r's [10,20) and lax_r's [0,10) (order between rules of
    # different lateness is not pinned here).
    assert sorted((m.rule, m.start_ms) for m in engine.push(ev(20))) == [("lax_r", 0), ("strict_r", 10_000)]


# ---- end of input, advance_watermark -----------------------------------------------

ABSENCE = """
RULE no_b
  PATTERN SEQ(a AS x, NOT b) WITHIN 10s
  BY k
  EMIT k
"""


def test_close_settles_trailing_not_and_windows() -> None:
    engine = Engine.from_text(ABSENCE + COUNT)
    assert engine.push(ev(1, k="u", v=1)) == []
    out = engine.close()
    assert sorted((m.rule, m.start_ms) for m in out) == [("cnt", 0), ("no_b", 1000)]
    assert engine.close() == []


def test_trailing_not_closed_interval_and_advance_watermark() -> None:
    engine = Engine.from_text(ABSENCE)
    engine.push(ev(0, k="u"))
    # Interval [0, 10] is closed: the match needs the watermark beyond 10.
    assert engine.advance_watermark(10) == []
    out = engine.advance_watermark(10.001)
    assert [(m.rule, m.key, m.start_ms, m.end_ms) for m in out] == [("no_b", {"k": "u"}, 0, 0)]
    # A b exactly at first.ts + 10 s cancels.
    engine = Engine.from_text(ABSENCE)
    engine.push(ev(0, k="u"))
    engine.push(ev(10, "b", k="u"))
    assert engine.close() == []


def test_advance_watermark_accounts_for_max_delay() -> None:
    engine = Engine.from_text(COUNT, max_delay="5s")
    engine.push(ev(1))
    # advance_watermark(ts) sets the watermark itself to ts.
    assert engine.advance_watermark(9) == []
    assert engine.metrics()["watermark"] == 9_000
    assert [m.start_ms for m in engine.advance_watermark(10)] == [0]
    # Never moves back.
    engine.advance_watermark(2)
    assert engine.metrics()["watermark"] == 10_000
    # An event older than the advanced watermark is late.
    engine.push(ev(9.5))
    assert engine.metrics()["late"] == 1


def test_advance_watermark_accepts_iso_time() -> None:
    engine = Engine.from_text(COUNT)
    engine.push(ev("2024-01-01T00:00:01Z"))
    out = engine.advance_watermark("2024-01-01T00:00:10Z")
    assert [m.start for m in out] == ["2024-01-01T00:00:00.000Z"]


# ---- idle sources ------------------------------------------------------------------


def test_idle_timeout_advances_the_watermark_by_processing_time() -> None:
    engine = Engine.from_text(COUNT, idle_timeout="10s")
    engine.push(ev(1))
    now = time.monotonic()  # the engine's processing clock
    # 5 s of silence < 10 s: nothing.
    assert engine.tick(now=now + 5) == []
    assert engine.metrics()["watermark"] == 1_000
    # 30 s of silence: the watermark moves ~30 s, past 10: [0,10) closes.
    out = engine.tick(now=now + 30)
    assert [(m.start_ms, m.emit["n"]) for m in out] == [(0, 1)]
    assert 31_000 <= engine.metrics()["watermark"] <= 31_500
    assert engine.close() == []


def test_tick_without_idle_timeout_or_before_any_event_does_nothing() -> None:
    engine = Engine.from_text(COUNT)
    engine.push(ev(1))
    assert engine.tick(now=time.monotonic() + 3600) == []
    assert engine.metrics()["watermark"] == 1_000
    engine = Engine.from_text(COUNT, idle_timeout="1s")
    assert engine.tick(now=time.monotonic() + 3600) == []
    assert engine.metrics()["watermark"] is None


def test_idle_timeout_settles_absence() -> None:
    engine = Engine.from_text(ABSENCE, idle_timeout="2s")
    engine.push(ev(100, k="u"))
    now = time.monotonic()
    assert engine.tick(now=now + 1) == []
    assert [m.rule for m in engine.tick(now=now + 20)] == ["no_b"]


# ---- dedup -------------------------------------------------------------------------


def test_same_id_is_processed_once() -> None:
    engine = Engine.from_text(COUNT)
    engine.push(ev(1, id="e1", v=1))
    engine.push(ev(2, id="e1", v=50))  # same id, other content: a duplicate
    engine.push(ev(3, id="e2", v=2))
    out = engine.close()
    assert [m.emit for m in out] == [{"n": 2, "total": 3}]
    assert engine.metrics()["deduped"] == 1


def test_events_without_id_dedup_by_content() -> None:
    engine = Engine.from_text(COUNT)
    engine.push({"type": "a", "ts": 1, "v": 1})
    engine.push({"v": 1, "ts": 1, "type": "a"})  # same content, other key order
    engine.push({"type": "a", "ts": 1, "v": 2})  # different content
    engine.push({"type": "a", "ts": 2, "v": 1})  # different time
    out = engine.close()
    assert [m.emit for m in out] == [{"n": 3, "total": 4}]
    assert engine.metrics()["deduped"] == 1


def test_duplicate_pattern_event_does_not_make_a_second_match() -> None:
    engine = Engine.from_text(PAIR)
    out = run_all(engine, [ev(1, k=1, id="a1"), ev(2, "b", k=1, id="b1"), ev(1, k=1, id="a1")])
    assert len(out) == 1
    assert engine.metrics()["deduped"] == 1


def test_unkeyed_events_are_counted() -> None:
    engine = Engine.from_text(PAIR)
    run_all(engine, [ev(1, k=1), ev(2), ev(3, "b", k=None), ev(4, "c")])
    # ev(2) has no k, ev(3) has k null; the c event is not read by the rule.
    assert engine.metrics()["unkeyed"] == 2


# ---- equal timestamps --------------------------------------------------------------


def test_tied_events_complete_after_close() -> None:
    engine = Engine.from_text(PAIR)
    out = run_all(engine, [ev(10, k=1), ev(10, "b", k=1)])
    assert len(out) == 1


def test_event_at_the_watermark_is_processed_on_push() -> None:
    # max_delay 0 and an event exactly at the watermark (same time as the
    # previous one): it is not late, so nothing holds it back.
    engine = Engine.from_text(PAIR)
    assert engine.push(ev(10, k=1)) == []
    out = engine.push(ev(10, "b", k=1))
    assert len(out) == 1
    assert engine.metrics()["buffered"] == 0
