"""Sliding windows (SPEC sections 4 and 9), with hand-computed expectations.

SLIDING size EVERY slide: windows [s, s + size) for every s that is a
multiple of slide (epoch-aligned); an event at t is in every window with
t - size < s <= t. A window is emitted once the watermark reaches its end.
"""

from __future__ import annotations

from cepengine import Engine

B = 1_700_000_400  # 2023-11-14T22:20:00Z: a multiple of 60 s and of 120 s


def ev(ts: float, type_: str = "a", **fields: object) -> dict[str, object]:
    return {"type": type_, "ts": ts, **fields}


def rel(matches: list) -> list[tuple[int, int, object]]:
    """(start, end, n) in seconds relative to B."""
    return [(m.start_ms // 1000 - B, m.end_ms // 1000 - B, m.emit.get("n")) for m in matches]


SLIDE_5M_1M = """
RULE s
  FROM a
  WINDOW SLIDING 5m EVERY 1m
  EMIT n = count(), lo = first(ts), hi = last(ts)
"""


def test_each_event_lands_in_size_over_slide_windows() -> None:
    engine = Engine.from_text(SLIDE_5M_1M)
    # t = B + 450 (7m30s): windows start at 3m, 4m, 5m, 6m, 7m (2m30s < s <= 7m30s).
    assert engine.push(ev(B + 450)) == []
    out = engine.close()
    assert rel(out) == [(180, 480, 1), (240, 540, 1), (300, 600, 1), (360, 660, 1), (420, 720, 1)]
    assert len({m.match_id for m in out}) == 5
    assert out[0].start == "2023-11-14T22:23:00.000Z"
    assert out[0].end == "2023-11-14T22:28:00.000Z"


def test_results_per_window() -> None:
    engine = Engine.from_text(SLIDE_5M_1M)
    # Events at B + 30, 90, 150, 330. Window start s (relative to B) holds
    # the events with s <= t < s + 300:
    #   s = -240: {30}            1
    #   s = -180: {30, 90}        2
    #   s = -120: {30, 90, 150}   3
    #   s =  -60: {30, 90, 150}   3
    #   s =    0: {30, 90, 150}   3
    #   s =   60: {90, 150, 330}  3
    #   s =  120: {150, 330}      2
    #   s =  180: {330}           1
    #   s =  240: {330}           1
    #   s =  300: {330}           1
    out = []
    for t in (30, 90, 150):
        out.append(engine.push(ev(B + t)))
    # s = -240 ends at 60: the watermark reaches B + 60 at t = 90.
    # s = -180 ends at 120: closed at t = 150.
    assert out[0] == []
    assert rel(out[1]) == [(-240, 60, 1)]
    assert rel(out[2]) == [(-180, 120, 2)]
    # t = 330: windows ending at or before 330 close: s = -120 (end 180),
    # -60 (240), 0 (300).
    assert rel(engine.push(ev(B + 330))) == [(-120, 180, 3), (-60, 240, 3), (0, 300, 3)]
    assert rel(engine.close()) == [(60, 360, 3), (120, 420, 2), (180, 480, 1), (240, 540, 1), (300, 600, 1)]


def test_sliding_having_and_first_last() -> None:
    engine = Engine.from_text(
        """
RULE burst
  FROM a
  WINDOW SLIDING 5m EVERY 1m
  HAVING count() >= 3
  EMIT n = count(), lo = first(t), hi = last(t)
"""
    )
    # Same events as above: the windows with 3 events are s = -120, -60, 0
    # ({30, 90, 150}) and s = 60 ({90, 150, 330}).
    out = []
    for t in (30, 90, 150, 330):
        out += engine.push(ev(B + t, t=t))
    out += engine.close()
    assert rel(out) == [(-120, 180, 3), (-60, 240, 3), (0, 300, 3), (60, 360, 3)]
    assert [(m.emit["lo"], m.emit["hi"]) for m in out] == [(30, 150), (30, 150), (30, 150), (90, 330)]


SLIDE_5M_2M = """
RULE odd
  FROM a
  WINDOW SLIDING 5m EVERY 2m
  EMIT n = count()
"""


def test_every_not_dividing_the_size() -> None:
    # Size 300 s, slide 120 s: an event is in 2 or 3 windows.
    # t = 420 (7m): 120 < s <= 420, s multiple of 120 -> 240, 360.
    engine = Engine.from_text(SLIDE_5M_2M)
    engine.push(ev(B + 420))
    assert rel(engine.close()) == [(240, 540, 1), (360, 660, 1)]
    # t = 0: -300 < s <= 0 -> -240, -120, 0.
    engine = Engine.from_text(SLIDE_5M_2M)
    engine.push(ev(B))
    assert rel(engine.close()) == [(-240, 60, 1), (-120, 180, 1), (0, 300, 1)]
    # t = 180 (3m): -120 < s <= 180 -> 0, 120 (-120 is excluded: its window
    # [-120, 180) ends exactly at 180).
    engine = Engine.from_text(SLIDE_5M_2M)
    engine.push(ev(B + 180))
    assert rel(engine.close()) == [(0, 300, 1), (120, 420, 1)]


def test_sliding_per_key() -> None:
    engine = Engine.from_text(
        """
RULE k
  FROM a
  WINDOW SLIDING 20s EVERY 10s
  BY user
  EMIT user, n = count()
"""
    )
    # u1 at 5, 15; u2 at 12. Windows of 20 s every 10 s:
    #   u1: 5 -> [-10,10), [0,20); 15 -> [0,20), [10,30)
    #       => [-10,10) 1, [0,20) 2, [10,30) 1
    #   u2: 12 -> [0,20), [10,30) => 1, 1
    out = []
    for t, user in [(5, "u1"), (12, "u2"), (15, "u1")]:
        out += engine.push(ev(B + t, user=user))
    out += engine.close()
    got = sorted((m.key["user"], m.start_ms // 1000 - B, m.emit["n"]) for m in out)
    assert got == [("u1", -10, 1), ("u1", 0, 2), ("u1", 10, 1), ("u2", 0, 1), ("u2", 10, 1)]


def test_sliding_match_ids_stable() -> None:
    def run() -> list[str]:
        engine = Engine.from_text(SLIDE_5M_1M)
        out = []
        for t in (30, 90, 150, 330):
            out += engine.push(ev(B + t))
        return [m.match_id for m in out + engine.close()]

    first, second = run(), run()
    assert first == second
    assert len(set(first)) == len(first) == 10
