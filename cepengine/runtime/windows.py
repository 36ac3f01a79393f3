"""Window-aggregate rules: per key, tumbling / sliding / session windows
with incremental accumulators.

Every aggregate is updated per event in O(1) and never re-scans the
window's events. The one aggregate that must remember more than a number is
`count_distinct`, which keeps the set of distinct values seen (memory grows
with distinct values, not with events). Windows are half-open [start, end)
and aligned to the epoch; a session window spans its first event to its last
event + GAP and takes an event that comes exactly GAP after the last one.
"""

from __future__ import annotations

from typing import Any

import orjson

from cepengine.compiler.functions import MISSING, NUMBER_TYPES, get_path, to_json
from cepengine.compiler.nfa import WindowPlan
from cepengine.events import Event, Match, json_token, match_id


def read_fields(plan: WindowPlan, data: Any) -> list[Any]:
    """The value of each aggregate's field in one event (None for count())."""
    return [get_path(data, field) if field else None for _, field in plan.aggregates]


class Accumulator:
    """The running aggregates of one window, one slot per aggregate call."""

    __slots__ = ("values",)

    def __init__(self, plan: WindowPlan) -> None:
        self.values: list[Any] = [_initial(name) for name, _ in plan.aggregates]

    def add(self, plan: WindowPlan, data: Any) -> None:
        self.add_fields(plan, read_fields(plan, data))

    def add_fields(self, plan: WindowPlan, fields: list[Any]) -> None:
        """Add one event, given its aggregated fields (read_fields): an event
        in several sliding windows is read once."""
        values = self.values
        for slot, (name, field) in enumerate(plan.aggregates):
            if name == "count" and not field:
                values[slot] += 1
                continue
            value = fields[slot]
            if value is None or value is MISSING:
                continue
            values[slot] = _update(name, values[slot], value)

    def results(self, plan: WindowPlan) -> list[Any]:
        return [_result(name, value) for (name, _), value in zip(plan.aggregates, self.values, strict=True)]

    def to_data(self, plan: WindowPlan) -> list[Any]:
        return [_to_data(name, value) for (name, _), value in zip(plan.aggregates, self.values, strict=True)]

    @classmethod
    def from_data(cls, plan: WindowPlan, data: list[Any]) -> Accumulator:
        acc = cls(plan)
        acc.values = [_from_data(name, value) for (name, _), value in zip(plan.aggregates, data, strict=True)]
        return acc


def _initial(name: str) -> Any:
    if name == "count":
        return 0
    if name == "count_distinct":
        return set()
    if name in ("sum", "avg"):
        return [0, 0]
    return MISSING


def _update(name: str, current: Any, value: Any) -> Any:
    if name == "count":
        return current + 1
    if name == "count_distinct":
        current.add(json_token(value))
        return current
    if name == "first":
        return value if current is MISSING else current
    if name == "last":
        return value
    if type(value) not in NUMBER_TYPES:
        return current
    if name in ("sum", "avg"):
        current[0] += value
        current[1] += 1
        return current
    if name == "min":
        return value if current is MISSING or value < current else current
    return value if current is MISSING or value > current else current  # max


def _result(name: str, value: Any) -> Any:
    if name == "count_distinct":
        return len(value)
    if name == "sum":
        return value[0]
    if name == "avg":
        return value[0] / value[1] if value[1] else MISSING
    return value


def _to_data(name: str, value: Any) -> Any:
    if name == "count_distinct":
        return sorted(orjson.dumps(v, option=orjson.OPT_SORT_KEYS).decode() for v in value)
    return None if value is MISSING else value


def _from_data(name: str, value: Any) -> Any:
    if name == "count_distinct":
        return {_from_token(orjson.loads(v)) for v in value}
    if value is None and name not in ("count", "sum", "avg"):
        return MISSING
    return value


def _from_token(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


class WindowKeyState:
    """The open windows of one rule for one key: window start → accumulator.
    A session keeps at most one open window (events arrive in time order):
    `session_last` is its last event time."""

    __slots__ = ("due", "key", "open", "session_last")

    def __init__(self, key: tuple[Any, ...]) -> None:
        self.key = key
        self.open: dict[int, Accumulator] = {}
        self.session_last = -1
        self.due: int | None = None


class Windower:
    """Executes one window plan; holds no per-key state itself. Same runner
    interface as matcher.Matcher."""

    def __init__(self, plan: WindowPlan) -> None:
        self.plan = plan
        # The FROM element's predicate, applied before the key is read so
        # that events the rule does not want are not counted as unkeyed.
        self.accepts = plan.filter.fn if plan.filter else None

    @staticmethod
    def new_state(key: tuple[Any, ...]) -> WindowKeyState:
        return WindowKeyState(key)

    @staticmethod
    def is_empty(state: WindowKeyState) -> bool:
        return not state.open

    def deadline(self, state: WindowKeyState) -> int | None:
        """When the earliest open window closes (its end; for a session the
        watermark must pass the end, hence +1)."""
        if not state.open:
            return None
        if self.plan.kind == "session":
            return state.session_last + self.plan.size_ms + 1
        return min(state.open) + self.plan.size_ms

    def feed(self, state: WindowKeyState, event: Event) -> list[tuple[tuple[Any, ...], Match]]:
        return [(_order(m), m) for m in self.on_event(state, event)]

    def expire(self, state: WindowKeyState, watermark: int) -> list[tuple[tuple[Any, ...], Match]]:
        return [(_order(m), m) for m in self.on_watermark(state, watermark)]

    def on_event(self, ks: WindowKeyState, event: Event) -> list[Match]:
        """Add an accepted event to its key's windows (sessions may close)."""
        plan = self.plan
        ts = event.ts_ms
        if plan.kind == "session":
            return self._session(ks, event)
        size, slide = plan.size_ms, plan.slide_ms
        fields = read_fields(plan, event.data)
        start = ts - ts % slide
        while start > ts - size:
            acc = ks.open.get(start)
            if acc is None:
                acc = ks.open[start] = Accumulator(plan)
            acc.add_fields(plan, fields)
            start -= slide
        return []

    def _session(self, ks: WindowKeyState, event: Event) -> list[Match]:
        plan = self.plan
        fired: list[Match] = []
        if ks.open and event.ts_ms > ks.session_last + plan.size_ms:
            fired = self.on_watermark(ks, event.ts_ms)
        if not ks.open:
            ks.open[event.ts_ms] = Accumulator(plan)
        next(iter(ks.open.values())).add(plan, event.data)
        ks.session_last = max(ks.session_last, event.ts_ms)
        return fired

    def on_watermark(self, ks: WindowKeyState, watermark: int) -> list[Match]:
        """Close the windows the watermark has passed; emit those whose
        HAVING holds, oldest first."""
        plan = self.plan
        closing: list[tuple[int, int]] = []
        if plan.kind == "session":
            if ks.open and watermark > ks.session_last + plan.size_ms:
                start = next(iter(ks.open))
                closing.append((start, ks.session_last + plan.size_ms))
        else:
            closing = [(start, start + plan.size_ms) for start in ks.open if start + plan.size_ms <= watermark]
        fired = []
        for start, end in sorted(closing):
            acc = ks.open.pop(start)
            match = self._result(ks.key, start, end, acc)
            if match is not None:
                fired.append(match)
        if plan.kind == "session" and not ks.open:
            ks.session_last = -1
        return fired

    def _result(self, key: tuple[Any, ...], start: int, end: int, acc: Accumulator) -> Match | None:
        plan = self.plan
        aggs = acc.results(plan)
        if plan.having is not None and not plan.having.fn(aggs, key):
            return None
        info = plan.info
        key_json = orjson.dumps(list(key), option=orjson.OPT_SORT_KEYS).decode()
        return Match(
            rule=info.name,
            match_id=match_id(info.name, [key_json, str(start), str(end)]),
            key=dict(zip(info.by_names, key, strict=True)),
            start_ms=start,
            end_ms=end,
            events={},
            emit={name: to_json(p.fn(aggs, key)) for name, p in plan.emit},
            severity=info.severity,
            tags=info.tags,
        )


def _order(match: Match) -> tuple[int, str, tuple[int, ...], str]:
    """Windows closing together: by start, rule, end, then key (so the
    order never depends on the timers' history, e.g. across a restore)."""
    key = orjson.dumps(match.key, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()
    return (match.start_ms, match.rule, (match.end_ms,), key)
