"""Tumbling windows (SPEC sections 4 and 9), with hand-computed expectations.

Conventions used below: times are event times in seconds unless said
otherwise; a window [s, e) holds events with s <= ts < e; the watermark is
max event time seen (max_delay 0), and a tumbling window is emitted once the
watermark reaches its end (no event older than the end can come any more).
"""

from __future__ import annotations

import pytest

from cepengine import Engine

B = 1_700_000_400  # 2023-11-14T22:20:00Z, a multiple of 10 s, 1 m and 2 m


def ev(ts: float, type_: str = "a", **fields: object) -> dict[str, object]:
    return {"type": type_, "ts": ts, **fields}


def counts(matches: list) -> list[tuple[int, int, object]]:
    """(start s, end s, n) of each match, in output order."""
    return [(m.start_ms // 1000, m.end_ms // 1000, m.emit.get("n")) for m in matches]


COUNT_10S = """
RULE c
  FROM a
  WINDOW TUMBLING 10s
  EMIT n = count()
"""


def test_half_open_windows_event_at_end_goes_to_next_window() -> None:
    engine = Engine.from_text(COUNT_10S)
    # 3 and 9.999 are in [0, 10); 10 is exactly the end of [0, 10), so it is
    # in [10, 20); 25 is in [20, 30).
    assert engine.push(ev(3)) == []
    assert engine.push(ev(9.999)) == []
    # ts 10 moves the watermark to 10 = end of [0, 10): that window closes
    # with its two events, before ts 10 is counted anywhere.
    first = engine.push(ev(10))
    assert counts(first) == [(0, 10, 2)]
    assert first[0].start == "1970-01-01T00:00:00.000Z"
    assert first[0].end == "1970-01-01T00:00:10.000Z"
    # ts 25: watermark 25 passes 20, the end of [10, 20) (one event: ts 10).
    assert counts(engine.push(ev(25))) == [(10, 20, 1)]
    assert counts(engine.close()) == [(20, 30, 1)]


def test_windows_are_aligned_to_the_epoch() -> None:
    engine = Engine.from_text(
        """
RULE per_minute
  FROM a
  WINDOW TUMBLING 1m
  EMIT n = count()
RULE per_hour
  FROM a
  WINDOW TUMBLING 1h
  EMIT n = count()
"""
    )
    # 2023-11-14T22:13:23.250Z: the minute window is 22:13:00-22:14:00, the
    # hour window 22:00-23:00, whatever time the first event came at.
    engine.push(ev("2023-11-14T22:13:23.250Z"))
    out = {m.rule: m for m in engine.close()}
    assert out["per_minute"].start == "2023-11-14T22:13:00.000Z"
    assert out["per_minute"].end == "2023-11-14T22:14:00.000Z"
    assert out["per_hour"].start == "2023-11-14T22:00:00.000Z"
    assert out["per_hour"].end == "2023-11-14T23:00:00.000Z"
    # Epoch seconds: 1700000003 = 22:13:23Z, same minute window.
    engine = Engine.from_text(COUNT_10S.replace("10s", "1m"))
    engine.push(ev(1_700_000_003))
    (match,) = engine.close()
    assert (match.start_ms, match.end_ms) == (1_699_999_980_000, 1_700_000_040_000)


def test_window_without_events_emits_nothing() -> None:
    engine = Engine.from_text(COUNT_10S)
    # Events at 5 and 35: [0,10) and [30,40) have one each; [10,20) and
    # [20,30) have none and are not emitted.
    engine.push(ev(5))
    out = engine.push(ev(35))
    assert counts(out) == [(0, 10, 1)]
    assert counts(engine.close()) == [(30, 40, 1)]


def test_window_is_emitted_only_when_the_watermark_passes_its_end() -> None:
    engine = Engine.from_text(COUNT_10S)
    assert engine.push(ev(1)) == []
    assert engine.push(ev(9)) == []  # watermark 9 < 10
    assert engine.advance_watermark(9.999) == []
    out = engine.advance_watermark(10)
    assert counts(out) == [(0, 10, 2)]
    assert engine.close() == []  # nothing else open

    # Without a later event, only close() (end of input) emits it.
    engine = Engine.from_text(COUNT_10S)
    assert engine.push(ev(1)) == []
    assert counts(engine.close()) == [(0, 10, 1)]


def test_having_filters_windows() -> None:
    engine = Engine.from_text(
        """
RULE busy
  FROM a
  WINDOW TUMBLING 10s
  HAVING count() >= 2 and sum(v) > 5
  EMIT n = count(), total = sum(v)
"""
    )
    # [0,10): v 1, 2, 3 -> n 3, sum 6: emitted.
    # [10,20): v 10 -> n 1: not emitted (count).
    # [20,30): v 1, 1 -> n 2, sum 2: not emitted (sum).
    # [30,40): v 5, 0.5 -> n 2, sum 5.5: emitted.
    out = []
    for ts, v in [(1, 1), (2, 2), (3, 3), (11, 10), (21, 1), (22, 1), (31, 5), (32, 0.5)]:
        out += engine.push(ev(ts, v=v))
    out += engine.close()
    assert [(m.start_ms, m.emit) for m in out] == [
        (0, {"n": 3, "total": 6}),
        (30_000, {"n": 2, "total": 5.5}),
    ]


AGGREGATES = """
RULE aggs
  FROM a
  WINDOW TUMBLING 10s
  EMIT n = count(), nv = count(v), nw = count(w), dw = count_distinct(w),
       s = sum(v), mean = avg(v), lo = min(v), hi = max(v),
       fv = first(v), lv = last(v), fw = first(w), lw = last(w)
"""


def test_every_aggregate() -> None:
    engine = Engine.from_text(AGGREGATES)
    # [0, 10):
    #   ts 1  v 4      w "x"
    #   ts 2  v 1.5    (no w)
    #   ts 3  (no v)   w null
    #   ts 4  v "str"  w "y"
    #   ts 5  v -2     (no w)
    # count() = 5; count(v) = 4 (present, not null: 4, 1.5, "str", -2);
    # count(w) = 2 ("x", "y": null is not counted); count_distinct(w) = 2;
    # sum/avg/min/max read numbers only: sum = 4 + 1.5 - 2 = 3.5,
    # avg = 3.5 / 3, min -2, max 4; first/last skip missing and null:
    # first(v) 4, last(v) -2, first(w) "x", last(w) "y".
    engine.push(ev(1, v=4, w="x"))
    engine.push(ev(2, v=1.5))
    engine.push(ev(3, w=None))
    engine.push(ev(4, v="str", w="y"))
    engine.push(ev(5, v=-2))
    (match,) = engine.close()
    assert match.emit == {
        "n": 5,
        "nv": 4,
        "nw": 2,
        "dw": 2,
        "s": 3.5,
        "mean": pytest.approx(3.5 / 3),
        "lo": -2,
        "hi": 4,
        "fv": 4,
        "lv": -2,
        "fw": "x",
        "lw": "y",
    }


def test_aggregates_of_nothing() -> None:
    engine = Engine.from_text(AGGREGATES)
    # No event has v or w: count(f) and sum of nothing are 0,
    # count_distinct of nothing 0, avg/min/max/first/last missing -> null.
    engine.push(ev(1))
    engine.push(ev(2, v=None))
    (match,) = engine.close()
    assert match.emit == {
        "n": 2,
        "nv": 0,
        "nw": 0,
        "dw": 0,
        "s": 0,
        "mean": None,
        "lo": None,
        "hi": None,
        "fv": None,
        "lv": None,
        "fw": None,
        "lw": None,
    }


DISTINCT = """
RULE d
  FROM a
  WINDOW TUMBLING 10s
  EMIT n = count(), d = count_distinct(v)
"""


def test_count_distinct_uses_json_equality_for_scalars() -> None:
    engine = Engine.from_text(DISTINCT)
    # 1 and 1.0 are one JSON value; true is not 1; "1" is not 1; false is
    # not 0; 0 and 0.0 are one value; null is skipped.
    # Distinct: {1, true, "1", 0, false} -> 5.
    for i, v in enumerate([1, 1.0, True, "1", 0, 0.0, False, None]):
        engine.push(ev(i, v=v, i=i))
    (match,) = engine.close()
    assert match.emit == {"n": 8, "d": 5}


def test_count_distinct_objects_ignore_key_order() -> None:
    engine = Engine.from_text(DISTINCT)
    # {"a": 1, "b": 2} and {"b": 2, "a": 1} are one JSON value; [1, 2] and
    # [2, 1] are two.
    for i, v in enumerate([{"a": 1, "b": 2}, {"b": 2, "a": 1}, [1, 2], [2, 1]]):
        engine.push(ev(i, v=v))
    (match,) = engine.close()
    assert match.emit == {"n": 4, "d": 3}


def test_count_distinct_json_equality_inside_containers() -> None:
    engine = Engine.from_text(DISTINCT)
    # [1] and [1.0] are one JSON value; {"a": 1} and {"a": 1.0} are one.
    for i, v in enumerate([[1], [1.0], {"a": 1}, {"a": 1.0}]):
        engine.push(ev(i, v=v))
    (match,) = engine.close()
    assert match.emit == {"n": 4, "d": 2}


BY_K = """
RULE per_key
  FROM a
  WINDOW TUMBLING 10s
  BY k
  EMIT k, n = count()
"""


def test_by_keys_compare_as_json_values() -> None:
    engine = Engine.from_text(BY_K)
    # k = 1 and k = 1.0 are one key (2 events); "1" and true are two more.
    engine.push(ev(1, k=1))
    engine.push(ev(2, k=1.0))
    engine.push(ev(3, k="1"))
    engine.push(ev(4, k=True))
    out = engine.close()
    got = sorted((repr(m.key["k"]), m.emit["n"], m.emit["k"] == m.key["k"]) for m in out)
    assert got == [("'1'", 1, True), ("1", 2, True), ("True", 1, True)]
    assert all(m.start_ms == 0 and m.end_ms == 10_000 for m in out)


def test_by_key_json_equality_inside_containers() -> None:
    engine = Engine.from_text(BY_K)
    engine.push(ev(1, k=[1, "x"]))
    engine.push(ev(2, k=[1.0, "x"]))
    out = engine.close()
    assert [m.emit["n"] for m in out] == [2]


def test_events_without_key_are_not_routed_and_counted_unkeyed() -> None:
    engine = Engine.from_text(BY_K)
    engine.push(ev(1, k="a"))
    engine.push(ev(2))  # no k
    engine.push(ev(3, k=None))  # null k
    out = engine.close()
    assert [(m.key, m.emit["n"]) for m in out] == [({"k": "a"}, 1)]
    assert engine.metrics()["unkeyed"] == 2


def test_several_keys_interleaved() -> None:
    engine = Engine.from_text(
        """
RULE per_pair
  FROM a
  WINDOW TUMBLING 10s
  BY ip, user
  EMIT ip, user, n = count(), total = sum(v)
"""
    )
    stream = [
        (1, "1.1.1.1", "u1", 1),
        (2, "2.2.2.2", "u1", 10),
        (3, "1.1.1.1", "u2", 100),
        (4, "1.1.1.1", "u1", 2),
        (12, "2.2.2.2", "u1", 20),  # closes [0,10) of every key
        (13, "1.1.1.1", "u1", 3),
        (19.999, "2.2.2.2", "u1", 30),
    ]
    emitted = []
    for ts, ip, user, v in stream:
        emitted.append(engine.push(ev(ts, ip=ip, user=user, v=v)))
    emitted.append(engine.close())
    # [0,10):  (1.1.1.1,u1) n 2 sum 3; (2.2.2.2,u1) n 1 sum 10; (1.1.1.1,u2) n 1 sum 100
    # [10,20): (2.2.2.2,u1) n 2 sum 50; (1.1.1.1,u1) n 1 sum 3
    assert all(out == [] for out in emitted[:4])
    at_12 = sorted((m.key["ip"], m.key["user"], m.emit["n"], m.emit["total"], m.start_ms) for m in emitted[4])
    assert at_12 == [
        ("1.1.1.1", "u1", 2, 3, 0),
        ("1.1.1.1", "u2", 1, 100, 0),
        ("2.2.2.2", "u1", 1, 10, 0),
    ]
    assert emitted[5] == [] and emitted[6] == []
    at_close = sorted((m.key["ip"], m.key["user"], m.emit["n"], m.emit["total"], m.start_ms) for m in emitted[7])
    assert at_close == [("1.1.1.1", "u1", 1, 3, 10_000), ("2.2.2.2", "u1", 2, 50, 10_000)]
    for m in emitted[4] + emitted[7]:
        assert m.key == {"ip": m.emit["ip"], "user": m.emit["user"]}


def test_from_filter_applies_before_aggregation() -> None:
    engine = Engine.from_text(
        """
RULE big
  FROM a[v > 10]
  WINDOW TUMBLING 10s
  EMIT n = count(), total = sum(v)
"""
    )
    # Only v 11 and 20 pass the filter; b events are another type.
    for ts, v in [(1, 5), (2, 11), (3, 20), (4, 10)]:
        engine.push(ev(ts, v=v))
    engine.push(ev(5, "b", v=100))
    (match,) = engine.close()
    assert match.emit == {"n": 2, "total": 31}


def _run(text: str, events: list[dict[str, object]]) -> list:
    engine = Engine.from_text(text)
    out = [m for e in events for m in engine.push(e)]
    return out + engine.close()


def test_match_id_is_stable_and_distinct_per_window_and_key() -> None:
    events = [ev(B + 1, k="x"), ev(B + 2, k="y"), ev(B + 11, k="x"), ev(B + 12, k="x")]
    first = _run(BY_K, events)
    second = _run(BY_K, events)
    # Windows: x [B,B+10), y [B,B+10), x [B+10,B+20): three matches.
    assert len(first) == 3
    assert [m.match_id for m in first] == [m.match_id for m in second]
    assert len({m.match_id for m in first}) == 3
    # The id depends on rule, key and bounds, not on which events: another
    # event in the same window gives the same id.
    third = _run(BY_K, [*events, ev(B + 3, k="y", extra=1)])
    assert {m.match_id for m in third} == {m.match_id for m in first}
    # A different rule name gives different ids.
    renamed = _run(BY_K.replace("per_key", "per_key2"), events)
    assert not {m.match_id for m in renamed} & {m.match_id for m in first}


def test_match_metadata_and_to_dict() -> None:
    engine = Engine.from_text(
        """
RULE meta
  DESCRIPTION "count"
  SEVERITY critical
  TAGS t1, t2
  FROM a
  WINDOW TUMBLING 1m
  BY k
  EMIT k, n = count()
"""
    )
    engine.push(ev(B + 5, k="x"))
    (match,) = engine.close()
    assert match.severity == "critical"
    assert tuple(match.tags) == ("t1", "t2")
    assert match.events == {}
    data = match.to_dict()
    assert next(iter(data)) == "rule"
    assert data["rule"] == "meta"
    assert data["key"] == {"k": "x"}
    assert data["start"] == "2023-11-14T22:20:00.000Z"
    assert data["end"] == "2023-11-14T22:21:00.000Z"
    assert data["emit"] == {"k": "x", "n": 1}


def test_open_windows_are_released() -> None:
    engine = Engine.from_text(BY_K)
    # 300 keys, one event each, 1 s apart: at any time only the windows of
    # the last 10 s (at most 2 windows' worth of keys) may be open.
    peak = 0
    emitted = 0
    for i in range(300):
        emitted += len(engine.push(ev(i, k=i)))
        peak = max(peak, engine.metrics()["open_windows"])
    assert peak <= 20
    assert emitted + len(engine.close()) == 300
    assert engine.metrics()["open_windows"] == 0
