"""Session windows (SPEC sections 4 and 9), with hand-computed expectations.

SESSION GAP g, per key: consecutive events at most g apart are one session
(an event exactly g after the last one joins it, as Flink's
TimeWindow.intersects); the session spans [first event, last event + g)
and is emitted once the watermark passes last + g (an event at exactly
last + g could still join, so the watermark must go beyond it).
"""

from __future__ import annotations

from cepengine import Engine

GAP_10S = """
RULE s
  FROM a
  WINDOW SESSION GAP 10s
  BY k
  EMIT k, n = count(), first_t = first(ts), last_t = last(ts)
"""


def ev(ts: float, k: object = "x", type_: str = "a", **fields: object) -> dict[str, object]:
    return {"type": type_, "ts": ts, "k": k, **fields}


def spans(matches: list) -> list[tuple[object, int, int, int]]:
    return [(m.key["k"], m.start_ms, m.end_ms, m.emit["n"]) for m in matches]


def test_gap_equal_to_gap_merges() -> None:
    engine = Engine.from_text(GAP_10S)
    # 0, 10, 20: each exactly 10 s after the previous one -> one session,
    # start 0, end 20 + 10 = 30.
    out = []
    for t in (0, 10, 20):
        out += engine.push(ev(t))
    assert out == []
    out = engine.close()
    assert spans(out) == [("x", 0, 30_000, 3)]
    assert out[0].emit["first_t"] == 0 and out[0].emit["last_t"] == 20
    assert out[0].start == "1970-01-01T00:00:00.000Z"
    assert out[0].end == "1970-01-01T00:00:30.000Z"


def test_gap_longer_than_gap_splits() -> None:
    engine = Engine.from_text(GAP_10S)
    # 0 then 10.001: 10.001 s of silence > 10 s -> two sessions:
    # [0, 10) and [10.001, 20.001).
    assert engine.push(ev(0)) == []
    out = engine.push(ev(10.001))
    assert spans(out) == [("x", 0, 10_000, 1)]
    assert spans(engine.close()) == [("x", 10_001, 20_001, 1)]


def test_session_emitted_when_watermark_passes_its_end() -> None:
    # x: 0, 5 -> session [0, 15).
    engine = Engine.from_text(GAP_10S)
    assert engine.push(ev(0)) == []
    assert engine.push(ev(5)) == []  # x: last 5, end 15
    assert engine.advance_watermark(14.999) == []
    # Watermark exactly at the end: an event at 15 could still join.
    assert engine.advance_watermark(15) == []
    out = engine.advance_watermark(15.001)
    assert spans(out) == [("x", 0, 15_000, 2)]
    assert engine.close() == []


def test_event_exactly_at_end_joins_after_watermark_reached_end() -> None:
    engine = Engine.from_text(GAP_10S)
    engine.push(ev(0))
    assert engine.advance_watermark(10) == []
    # ts 10 is not late (watermark 10) and is exactly GAP after 0: it joins.
    engine.push(ev(10))
    out = engine.close()
    assert spans(out) == [("x", 0, 20_000, 2)]


def test_sessions_per_key_interleaved() -> None:
    engine = Engine.from_text(GAP_10S)
    # k1: 0, 5, 16 -> 16 - 5 = 11 > 10 -> sessions [0, 15) n 2, [16, 26) n 1
    # k2: 3, 20    -> 17 > 10           -> sessions [3, 13) n 1, [20, 30) n 1
    # k3: 4, 14, 24 (each 10 apart)    -> one session [4, 34) n 3
    stream = [(0, "k1"), (3, "k2"), (4, "k3"), (5, "k1"), (14, "k3"), (16, "k1"), (20, "k2"), (24, "k3")]
    out = []
    emitted_at = {}
    for t, k in stream:
        got = engine.push(ev(t, k))
        emitted_at[t] = spans(got)
        out += got
    out += engine.close()
    assert sorted(spans(out), key=lambda s: (s[0], s[1])) == [
        ("k1", 0, 15_000, 2),
        ("k1", 16_000, 26_000, 1),
        ("k2", 3_000, 13_000, 1),
        ("k2", 20_000, 30_000, 1),
        ("k3", 4_000, 34_000, 3),
    ]
    # k2's first session ends at 13: closed when the watermark passes 13 (t = 14);
    # k1's first ends at 15: closed at t = 16.
    assert emitted_at[14] == [("k2", 3_000, 13_000, 1)]
    assert emitted_at[16] == [("k1", 0, 15_000, 2)]


def test_session_having_and_filter() -> None:
    engine = Engine.from_text(
        """
RULE busy_session
  FROM a[ok == true]
  WINDOW SESSION GAP 10s
  BY k
  HAVING count() >= 2
  EMIT k, n = count(), total = sum(v)
"""
    )
    # Filtered-out events (ok false) neither count nor extend a session:
    # ok at 0, 8; not-ok at 15; ok at 25 (25 - 8 = 17 > 10: new session).
    # Sessions: [0, 18) n 2 (emitted), [25, 35) n 1 (HAVING fails).
    out = []
    for t, ok, v in [(0, True, 1), (8, True, 2), (15, False, 100), (25, True, 4)]:
        out += engine.push(ev(t, ok=ok, v=v))
    out += engine.close()
    assert [(m.start_ms, m.end_ms, m.emit) for m in out] == [(0, 18_000, {"k": "x", "n": 2, "total": 3})]


def test_session_match_ids_stable_and_distinct() -> None:
    def run() -> list[str]:
        engine = Engine.from_text(GAP_10S)
        out = []
        for t in (0, 5, 30, 50, 60):
            out += engine.push(ev(t))
        return [m.match_id for m in out + engine.close()]

    # Sessions: [0, 15), [30, 40), [50, 70) (60 - 50 = GAP: merged): three ids.
    first, second = run(), run()
    assert first == second
    assert len(set(first)) == 3


def test_session_state_released() -> None:
    engine = Engine.from_text(GAP_10S)
    total = 0
    peak = 0
    for i in range(200):
        total += len(engine.push(ev(i * 3, k=i % 4)))  # each key every 12 s > gap
        peak = max(peak, engine.metrics()["open_windows"])
    total += len(engine.close())
    assert total == 200
    assert peak <= 5
    assert engine.metrics()["open_windows"] == 0
