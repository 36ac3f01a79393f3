"""The Python API (SPEC section 8): loading, callbacks, process/push/close,
metrics, bounded state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cepengine import CepError, Engine, Match, RuleError, UsageError

PAIR = """
RULE pair
  PATTERN SEQ(a AS x, b AS y) WITHIN 10s
  BY k
  EMIT k
"""

COUNT = """
RULE cnt
  FROM a
  WINDOW TUMBLING 10s
  EMIT n = count()
"""


def ev(ts: float, type_: str = "a", **fields: object) -> dict[str, object]:
    return {"type": type_, "ts": ts, **fields}


# ---- loading -----------------------------------------------------------------------


def test_from_path_loads_every_rule_file_of_a_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "one.cep").write_text(PAIR)
    (tmp_path / "sub" / "two.cep").write_text(COUNT)
    (tmp_path / "notes.txt").write_text("RULE not a rule file")
    engine = Engine.from_path(tmp_path)
    seen: list[str] = []
    engine.on_match(None, lambda m: seen.append(m.rule))
    list(engine.process([ev(1, k=1), ev(2, "b", k=1)]))
    engine.close()
    assert sorted(seen) == ["cnt", "pair"]
    # A str path and several paths work too.
    engine = Engine.from_path(str(tmp_path / "one.cep"), tmp_path / "sub")
    assert sorted(r.info.name for r in engine.rules) == ["cnt", "pair"]


def test_rule_errors_raise_rule_error_with_diagnostics(tmp_path: Path) -> None:
    (tmp_path / "bad.cep").write_text("RULE broken\n  PATTERN SEQ(a, b WITHIN 5m\n")
    (tmp_path / "good.cep").write_text(PAIR)
    with pytest.raises(RuleError) as info:
        Engine.from_path(tmp_path)
    error = info.value
    assert isinstance(error, CepError)
    assert error.diagnostics
    first = next(d for d in error.diagnostics if d.severity == "error")
    assert first.span.path.endswith("bad.cep")
    assert first.span.line == 2
    assert "bad.cep:2:" in str(error)


def test_rule_error_from_text_reports_every_error() -> None:
    text = PAIR + PAIR.replace("EMIT k", "EMIT k, v = zz.v")  # duplicate name + unknown alias
    with pytest.raises(RuleError) as info:
        Engine.from_text(text, path="dup.cep")
    errors = [d for d in info.value.diagnostics if d.severity == "error"]
    assert len(errors) >= 2
    assert all(d.span.path == "dup.cep" for d in errors)


def test_from_path_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        Engine.from_path(tmp_path / "nope")


# ---- callbacks ---------------------------------------------------------------------


def test_on_match_per_rule_and_for_all() -> None:
    engine = Engine.from_text(PAIR + COUNT)
    pair: list[Match] = []
    cnt: list[Match] = []
    every: list[Match] = []
    star: list[Match] = []
    engine.on_match("pair", pair.append)
    engine.on_match("cnt", cnt.append)
    engine.on_match(None, every.append)
    engine.on_match("*", star.append)
    returned = engine.push(ev(1, k=1)) + engine.push(ev(2, "b", k=1)) + engine.push(ev(11, k=2))
    returned += engine.close()
    # pair: a@1 b@2 (k 1). cnt: [0,10) n 1 at ts 11, [10,20) n 1 at close.
    assert [m.rule for m in pair] == ["pair"]
    assert [(m.rule, m.start_ms) for m in cnt] == [("cnt", 0), ("cnt", 10_000)]
    assert every == returned == star
    assert len(every) == 3
    assert engine.metrics()["matches_out"] == 3


def test_on_match_unknown_rule() -> None:
    engine = Engine.from_text(PAIR)
    with pytest.raises(UsageError):
        engine.on_match("nope", print)


# ---- process / push / close ----------------------------------------------------------


def test_process_yields_each_match_as_soon_as_it_completes() -> None:
    engine = Engine.from_text(PAIR)
    pulled: list[int] = []

    def source() -> Iterator[dict[str, object]]:
        for i in range(1000):
            pulled.append(i)
            # a@0 b@1 a@2 b@3 ...: a match on every b.
            yield ev(i, "a" if i % 2 == 0 else "b", k=1)

    matches = engine.process(source())
    assert pulled == []
    first = next(matches)
    assert (first.start_ms, first.end_ms) == (0, 1000)
    assert pulled == [0, 1]  # only as much input as needed
    second = next(matches)
    assert (second.start_ms, second.end_ms) == (2000, 3000)
    assert pulled == [0, 1, 2, 3]
    assert sum(1 for _ in matches) == 498
    assert engine.close() == []


def test_push_returns_matches_completed_by_that_event() -> None:
    engine = Engine.from_text(PAIR)
    assert engine.push(ev(1, k=1)) == []
    assert engine.push(ev(2, "c", k=1)) == []
    (match,) = engine.push(ev(3, "b", k=1))
    assert (match.rule, match.key, match.start_ms, match.end_ms) == ("pair", {"k": 1}, 1000, 3000)
    assert set(match.events) == {"x", "y"}


def test_push_after_close_raises() -> None:
    engine = Engine.from_text(PAIR)
    engine.push(ev(1, k=1))
    engine.close()
    with pytest.raises(UsageError):
        engine.push(ev(2, "b", k=1))
    assert engine.close() == []  # closing twice is harmless


def test_close_returns_remaining_matches_once() -> None:
    engine = Engine.from_text(COUNT)
    engine.push(ev(1))
    first = engine.close()
    assert [m.emit for m in first] == [{"n": 1}]
    assert engine.close() == []


def test_callback_sees_matches_from_close_and_advance_watermark() -> None:
    engine = Engine.from_text(COUNT)
    seen: list[int] = []
    engine.on_match("cnt", lambda m: seen.append(m.start_ms))
    engine.push(ev(1))
    engine.push(ev(12))
    engine.advance_watermark(25)
    engine.push(ev(26))
    engine.close()
    assert seen == [0, 10_000, 20_000]


# ---- metrics -----------------------------------------------------------------------


def test_metrics_has_every_spec_counter() -> None:
    engine = Engine.from_text(PAIR, max_delay="1s")
    # max_delay 1 s: a@1 (watermark 0), its duplicate, b@2 (wm 1), a@5
    # without k (wm 4: releases a@1, b@2 -> a match, and nothing else), a
    # bad event, a@10 (wm 9: releases a@5 -> unkeyed; a@10 stays buffered),
    # a@3 (3 < 9: late).
    for event in [ev(1, k=1), ev(1, k=1), ev(2, "b", k=1), ev(5), {"no": "time"}, ev(10, k=2), ev(3, k=1)]:
        engine.push(event)
    metrics: dict[str, Any] = engine.metrics()
    expected = {
        "events_in": 7,
        "late": 1,
        "deduped": 1,
        "rejected": 1,
        "unkeyed": 1,
        "dropped": 0,
        "matches_out": 1,
        "partial_matches": 0,  # the match consumed a@1; a@10 is still buffered
    }
    for name, value in expected.items():
        assert metrics[name] == value, name
    assert metrics["watermark"] == 9_000
    assert isinstance(metrics["watermark_lag_ms"], int | float)
    assert metrics["throughput_eps"] > 0
    latency = metrics["latency_ms"]
    assert set(latency) >= {"p50", "p95", "p99"}
    assert 0 <= latency["p50"] <= latency["p95"] <= latency["p99"]


def test_metrics_before_any_event() -> None:
    metrics = Engine.from_text(PAIR).metrics()
    assert metrics["events_in"] == 0
    assert metrics["watermark"] is None
    assert metrics["partial_matches"] == 0


def test_partial_matches_are_bounded_by_within_on_a_long_stream() -> None:
    engine = Engine.from_text(PAIR)
    # 5000 `a` events 1 s apart, each its own key, never a `b`: every a
    # starts a partial match, which times out once the watermark passes
    # its ts + 10 s. So at most ~11 are alive at any time.
    peak = 0
    for i in range(5000):
        engine.push(ev(i, k=i))
        if i % 50 == 0:
            peak = max(peak, engine.metrics()["partial_matches"])
    assert peak <= 12
    engine.advance_watermark(5000 + 11)
    metrics = engine.metrics()
    assert metrics["partial_matches"] == 0
    assert metrics["timed_out"] == 5000
    assert engine.close() == []


def test_partial_matches_one_key_long_stream() -> None:
    engine = Engine.from_text(PAIR.replace("  BY k\n  EMIT k\n", ""))
    for i in range(3000):
        engine.push(ev(i * 0.5))
    assert engine.metrics()["partial_matches"] <= 22
    engine.advance_watermark(10_000)
    assert engine.metrics()["partial_matches"] == 0
