"""Event and Match value types, and reading an event's type, time and id.

The bottom layer: imports nothing else of cepengine but errors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
import orjson

from cepengine.errors import EventError


class Event:
    """An accepted event: its fields plus what the engine derived from them.

    `seq` is the event's position in event-time order (assigned when the
    reorder buffer releases it), which is what "arrival position" means in
    match ordering. A plain slotted class, not attrs: one is made per event,
    and mypyc compiles a plain class into a native one."""

    __slots__ = ("data", "id", "seq", "ts_ms", "type")

    def __init__(self, data: Mapping[str, Any], type: str, ts_ms: int, id: str, seq: int = -1) -> None:
        self.data = data
        self.type = type
        self.ts_ms = ts_ms
        self.id = id
        self.seq = seq

    def copy(self) -> Event:
        return Event(self.data, self.type, self.ts_ms, self.id, self.seq)

    def __repr__(self) -> str:
        return f"Event(type={self.type!r}, ts_ms={self.ts_ms}, id={self.id!r}, seq={self.seq})"


@attrs.frozen(slots=True)
class EventFields:
    """Which fields carry an event's type, time and id, and the time unit."""

    type_field: str = "type"
    time_field: str = "ts"
    id_field: str = "id"
    time_unit: str = "s"

    def __attrs_post_init__(self) -> None:
        if self.time_unit not in ("s", "ms"):
            raise ValueError(f"time_unit must be 's' or 'ms', not {self.time_unit!r}")


def read_event(data: object, fields: EventFields) -> Event:
    """Validate one decoded event; raise EventError with the reason if bad."""
    if not isinstance(data, Mapping):
        raise EventError(f"not a JSON object but {type(data).__name__}")
    type_value = data.get(fields.type_field)
    if not isinstance(type_value, str) or not type_value:
        raise EventError(f"missing or non-string type field {fields.type_field!r}")
    if fields.time_field not in data or data[fields.time_field] is None:
        raise EventError(f"missing time field {fields.time_field!r}")
    ts_ms = parse_time(data[fields.time_field], fields.time_unit)
    raw_id = data.get(fields.id_field)
    event_id = str(raw_id) if raw_id is not None else content_id(data)
    return Event(data, type_value, ts_ms, event_id)


def parse_time(value: object, unit: str = "s") -> int:
    """Epoch seconds / milliseconds (number) or ISO-8601 (UTC unless an
    offset is given) → integer milliseconds."""
    if isinstance(value, bool):
        raise EventError(f"unusable time {value!r}")
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            raise EventError(f"unusable time {value!r}")
        ts_ms = round(value * 1000) if unit == "s" else round(value)
    elif isinstance(value, str):
        ts_ms = _parse_iso(value)
    else:
        raise EventError(f"unusable time {value!r}")
    if not MIN_TIME_MS <= ts_ms <= MAX_TIME_MS:
        hint = " (milliseconds? use time_unit ms)" if unit == "s" and ts_ms > MAX_TIME_MS else ""
        raise EventError(f"time {value!r} is out of range (years 1 to 9999){hint}")
    return ts_ms


def _parse_iso(text: str) -> int:
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise EventError(f"unparseable time {text!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    delta = parsed - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MIN_TIME_MS = -62_135_596_800_000  # 0001-01-01T00:00:00Z
MAX_TIME_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


def format_time(ts_ms: int) -> str:
    """Integer milliseconds → ISO-8601 UTC with milliseconds and a Z."""
    seconds, millis = divmod(ts_ms, 1000)
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"


def content_id(data: Mapping[str, Any]) -> str:
    """The id of an event that has none: a hash of its canonical JSON."""
    return hashlib.blake2b(canonical_json(data).encode(), digest_size=12).hexdigest()


def canonical_json(value: Any) -> str:
    """JSON text that is equal for JSON-equal values: sorted keys, and a
    float with an integral value written as that integer (1.0 → 1).
    Values JSON cannot hold are written as their str()."""
    return orjson.dumps(_canonical(value), option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str).decode()


def json_token(value: Any) -> Any:
    """A hashable stand-in for a JSON value with JSON equality (1 == 1.0,
    true != 1, containers by canonical JSON): BY keys and count_distinct."""
    if type(value) is bool:
        return ("\x00bool", value)
    if isinstance(value, list | dict):
        return ("\x00json", canonical_json(value))
    return value


def _canonical(value: Any) -> Any:
    if type(value) is float and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def match_id(rule: str, parts: list[str]) -> str:
    """Stable id of a match: its rule and its events' ids (or, for a window,
    the key and the window bounds)."""
    digest = hashlib.blake2b(rule.encode(), digest_size=16)
    for part in parts:
        digest.update(b"\x00")
        digest.update(part.encode())
    return digest.hexdigest()


@attrs.frozen(slots=True)
class Match:
    """A complete match of a rule (SPEC section 6)."""

    rule: str
    match_id: str
    key: dict[str, Any]
    start_ms: int
    end_ms: int
    events: dict[str, Any]
    emit: dict[str, Any]
    severity: str = "medium"
    tags: tuple[str, ...] = ()

    @property
    def start(self) -> str:
        return format_time(self.start_ms)

    @property
    def end(self) -> str:
        return format_time(self.end_ms)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `cepengine run`'s output line (`rule` first)."""
        return {
            "rule": self.rule,
            "match_id": self.match_id,
            "key": self.key,
            "start": self.start,
            "end": self.end,
            "severity": self.severity,
            "tags": list(self.tags),
            "emit": self.emit,
            "events": self.events,
        }
