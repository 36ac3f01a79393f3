"""Events (SPEC section 1): type, time, id; bad events; the Match format."""

from __future__ import annotations

import types
from collections import OrderedDict
from typing import Any

import pytest

from cepengine import Engine
from cepengine.events import format_time, parse_time

# A one-element pattern: every `a` event is a match whose start is its time.
EACH = """
RULE each
  PATTERN a AS x
"""


def start_of(event: dict[str, Any], **options: Any) -> int:
    engine = Engine.from_text(EACH, **options)
    out = engine.push(event) + engine.close()
    assert len(out) == 1, out
    return out[0].start_ms


# ---- time --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ts", "expected_ms"),
    [
        (0, 0),
        (1_700_000_000, 1_700_000_000_000),
        (1_700_000_000.5, 1_700_000_000_500),
        (1_700_000_000.123, 1_700_000_000_123),
        (12.25, 12_250),
    ],
)
def test_epoch_seconds(ts: float, expected_ms: int) -> None:
    assert start_of({"type": "a", "ts": ts}) == expected_ms


@pytest.mark.parametrize(
    ("ts", "expected_ms"),
    [(1_700_000_000_123, 1_700_000_000_123), (0, 0), (1500, 1500), (1500.4, 1500)],
)
def test_epoch_milliseconds(ts: float, expected_ms: int) -> None:
    assert start_of({"type": "a", "ts": ts}, time_unit="ms") == expected_ms


@pytest.mark.parametrize(
    ("text", "expected_ms"),
    [
        # 2023-11-14T22:13:20Z is 1700000000 s.
        ("2023-11-14T22:13:20Z", 1_700_000_000_000),
        ("2023-11-14T22:13:20z", 1_700_000_000_000),
        ("2023-11-14T22:13:20+00:00", 1_700_000_000_000),
        ("2023-11-14T22:13:20", 1_700_000_000_000),  # no offset: UTC
        ("2023-11-15T00:13:20+02:00", 1_700_000_000_000),  # 00:13+02:00 = 22:13Z the day before
        ("2023-11-14T17:13:20-05:00", 1_700_000_000_000),
        ("2023-11-14T22:13:20.5Z", 1_700_000_000_500),
        ("2023-11-14T22:13:20.123Z", 1_700_000_000_123),
        ("2023-11-14T22:13:20.123456Z", 1_700_000_000_123),  # microseconds truncated to ms
        ("2023-11-14T22:13:20.250", 1_700_000_000_250),
        ("1970-01-01T00:00:00Z", 0),
    ],
)
def test_iso_8601(text: str, expected_ms: int) -> None:
    assert start_of({"type": "a", "ts": text}) == expected_ms
    # ISO strings do not depend on the numeric time unit.
    assert start_of({"type": "a", "ts": text}, time_unit="ms") == expected_ms
    assert parse_time(text) == expected_ms


def test_format_time_is_iso_utc_with_milliseconds() -> None:
    assert format_time(0) == "1970-01-01T00:00:00.000Z"
    assert format_time(1_700_000_000_007) == "2023-11-14T22:13:20.007Z"
    assert format_time(1_700_000_000_500) == "2023-11-14T22:13:20.500Z"


def test_match_to_dict_shape() -> None:
    engine = Engine.from_text(
        """
RULE pair
  SEVERITY high
  TAGS x, y
  PATTERN SEQ(a AS first_a, b AS then_b) WITHIN 1m
  BY user
  EMIT user, v = then_b.v
"""
    )
    engine.push({"type": "a", "ts": "2023-11-14T22:13:20.5+01:00", "user": "u"})
    (match,) = engine.push({"type": "b", "ts": 1_700_000_000 - 3600 + 2, "user": "u", "v": 3})
    data = match.to_dict()
    assert next(iter(data)) == "rule"
    assert data["rule"] == "pair"
    assert isinstance(data["match_id"], str) and data["match_id"]
    assert data["key"] == {"user": "u"}
    # 22:13:20.5+01:00 = 21:13:20.500Z; the b event is 1700000000 - 3600 + 2 = 21:13:22Z.
    assert data["start"] == "2023-11-14T21:13:20.500Z"
    assert data["end"] == "2023-11-14T21:13:22.000Z"
    assert data["severity"] == "high"
    assert data["tags"] == ["x", "y"]
    assert data["emit"] == {"user": "u", "v": 3}
    assert data["events"]["first_a"]["ts"] == "2023-11-14T22:13:20.5+01:00"  # events are kept as given
    assert data["events"]["then_b"]["v"] == 3
    assert (match.start, match.end) == (data["start"], data["end"])


# ---- rejects -----------------------------------------------------------------------

BAD_EVENTS: list[tuple[object, str]] = [
    ([1, 2], "object"),
    ("text", "object"),
    (None, "object"),
    (42, "object"),
    ({"type": "a"}, "time"),
    ({"type": "a", "ts": None}, "time"),
    ({"type": "a", "ts": "yesterday"}, "time"),
    ({"type": "a", "ts": ""}, "time"),
    ({"type": "a", "ts": "2023-13-45T99:00:00Z"}, "time"),
    ({"type": "a", "ts": True}, "time"),
    ({"type": "a", "ts": False}, "time"),
    ({"type": "a", "ts": float("nan")}, "time"),
    ({"type": "a", "ts": float("inf")}, "time"),
    ({"type": "a", "ts": [1]}, "time"),
    ({"type": "a", "ts": {"s": 1}}, "time"),
]


@pytest.mark.parametrize(("raw", "word"), BAD_EVENTS)
def test_bad_events_are_rejected_with_a_reason(raw: object, word: str) -> None:
    engine = Engine.from_text(EACH)
    rejected: list[tuple[object, str]] = []
    engine.on_reject(lambda event, reason: rejected.append((event, reason)))
    assert engine.push(raw) == []
    assert len(rejected) == 1
    event, reason = rejected[0]
    assert event is raw
    assert isinstance(reason, str) and word in reason.lower()
    metrics = engine.metrics()
    assert metrics["rejected"] == 1
    assert metrics["events_in"] == 1
    # The stream goes on.
    assert len(engine.push({"type": "a", "ts": 1})) == 1
    assert engine.close() == []


def test_rejected_events_never_reach_a_rule() -> None:
    engine = Engine.from_text(
        """
RULE cnt
  FROM a
  WINDOW TUMBLING 10s
  EMIT n = count()
"""
    )
    for raw in [{"type": "a"}, {"type": "a", "ts": "x"}, [1], {"type": "a", "ts": 1}]:
        engine.push(raw)
    assert [m.emit for m in engine.close()] == [{"n": 1}]
    assert engine.metrics()["rejected"] == 3


def test_reject_without_callback_does_not_raise() -> None:
    engine = Engine.from_text(EACH)
    for raw, _ in BAD_EVENTS:
        assert engine.push(raw) == []
    assert engine.metrics()["rejected"] == len(BAD_EVENTS)


def test_any_mapping_without_id_is_accepted_or_rejected_never_raises() -> None:
    from decimal import Decimal

    engine = Engine.from_text(EACH)
    out = engine.push(types.MappingProxyType({"type": "a", "ts": 1}))
    assert len(out) == 1  # SPEC 1: in Python an event is a Mapping[str, Any]
    engine.push({"type": "a", "ts": 2, "amount": Decimal("1.5")})
    engine.push({"type": "a", "ts": 3, "tags": {"x"}})
    metrics = engine.metrics()
    assert metrics["events_in"] == 3


def test_other_mappings_are_events() -> None:
    engine = Engine.from_text(EACH)
    out = engine.push(OrderedDict(type="a", ts=5, id="o1"))
    assert [m.start_ms for m in out] == [5000]
    out = engine.push(types.MappingProxyType({"type": "a", "ts": 6, "id": "p1"}))
    assert [m.start_ms for m in out] == [6000]


@pytest.mark.parametrize("ts", [1_700_000_000_000, 1e300])
def test_time_out_of_range_is_rejected(ts: float) -> None:
    engine = Engine.from_text(EACH)
    reasons: list[str] = []
    engine.on_reject(lambda event, reason: reasons.append(reason))
    out = engine.push({"type": "a", "ts": ts}) + engine.close()
    assert [m.to_dict()["start"] for m in out] == [] and len(reasons) == 1


# ---- fields ------------------------------------------------------------------------


def test_custom_type_time_and_id_fields() -> None:
    engine = Engine.from_text(
        """
RULE cnt
  FROM login
  WINDOW TUMBLING 10s
  EMIT n = count()
""",
        type_field="kind",
        time_field="at",
        id_field="eid",
        time_unit="ms",
    )
    rejected: list[str] = []
    engine.on_reject(lambda event, reason: rejected.append(reason))
    engine.push({"kind": "login", "at": 1000, "eid": 1})
    engine.push({"kind": "login", "at": 2000, "eid": 1})  # duplicate eid
    engine.push({"kind": "login", "at": 3000, "eid": 2, "id": 1})  # `id` is just a field now
    engine.push({"kind": "other", "at": 4000, "eid": 3})
    engine.push({"type": "login", "at": 5000, "eid": 4})  # no `kind` field: never a login
    engine.push({"kind": "login", "ts": 6, "eid": 5})  # no `at`: rejected
    out = engine.close()
    assert [(m.start_ms, m.emit) for m in out] == [(0, {"n": 2})]
    metrics = engine.metrics()
    assert metrics["deduped"] == 1
    assert metrics["rejected"] >= 1
    assert any("at" in reason for reason in rejected)


def test_dotted_fields_in_rules() -> None:
    engine = Engine.from_text(
        """
RULE nested
  PATTERN a[payload.card.country == "FR"] AS x
  BY payload.user
  EMIT payload.user, c = x.payload.card.country
"""
    )
    out = engine.push({"type": "a", "ts": 1, "payload": {"user": "u", "card": {"country": "FR"}}})
    out += engine.push({"type": "a", "ts": 2, "payload": {"user": "u", "card": {}}})  # missing: false
    out += engine.push({"type": "a", "ts": 3, "payload": "flat"})  # not an object: unkeyed
    assert [(m.key, m.emit) for m in out] == [({"payload.user": "u"}, {"user": "u", "c": "FR"})]
    assert engine.metrics()["unkeyed"] == 1


def test_bad_options() -> None:
    from cepengine import UsageError

    with pytest.raises(UsageError):
        Engine.from_text(EACH, time_unit="h")
    with pytest.raises(UsageError):
        Engine.from_text(EACH, late="keep")
    with pytest.raises(UsageError):
        Engine.from_text(EACH, max_delay="soon")
    with pytest.raises(UsageError):
        Engine.from_text(EACH, max_delay=-1)
