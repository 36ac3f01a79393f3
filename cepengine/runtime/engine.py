"""The engine: validates events, deduplicates, buffers and reorders them
behind the watermark, routes each to the rules that read its type and key,
and hands back matches in order (SPEC sections 5, 6 and 8)."""

from __future__ import annotations

import hashlib
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import attrs

from cepengine.check import CheckResult, check_paths, check_text
from cepengine.compiler.build import CompiledRule, compile_rules
from cepengine.compiler.nfa import Automaton, RuleInfo
from cepengine.errors import EventError, RuleError, StoreError, UsageError
from cepengine.events import Event, EventFields, Match, json_token, parse_time, read_event
from cepengine.runtime.matcher import Matcher
from cepengine.runtime.time import FOREVER, ReorderBuffer
from cepengine.runtime.windows import Windower
from cepengine.syntax import ast
from cepengine.syntax.transform import duration_ms

log = logging.getLogger(__name__)

MatchCallback = Callable[[Match], Any]
EventCallback = Callable[[Any, str], Any]
NO_WATERMARK = -(1 << 62)
_LATENCY_SAMPLES = 2048


def parse_duration(value: str | int | float | None, name: str) -> int:
    """A duration option: rule syntax (`250ms`, `5m`) or a number of seconds."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise UsageError(f"{name}: not a duration: {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise UsageError(f"{name} must not be negative")
        return round(value * 1000)
    text = value.strip()
    try:
        return round(float(text) * 1000) if text.replace(".", "", 1).isdigit() else _rule_duration(text)
    except ValueError:
        raise UsageError(f"{name}: not a duration: {value!r} (use e.g. 250ms, 10s, 5m, 1h30m)") from None


def _rule_duration(text: str) -> int:
    import re

    if not re.fullmatch(r"([0-9]+(ms|s|m|h|d))+", text, re.IGNORECASE):
        raise ValueError(text)
    return duration_ms(text)


@attrs.frozen(slots=True)
class EngineOptions:
    max_delay_ms: int = 0
    allowed_lateness_ms: int = 0
    late: str = "drop"
    idle_timeout_ms: int | None = None
    fields: EventFields = EventFields()


Ordered = tuple[tuple[Any, ...], Match]


class Runner(Protocol):
    """What the engine needs of a compiled rule's executor (matcher.Matcher
    for patterns, windows.Windower for windows): per-key state is opaque."""

    @property
    def accepts(self) -> Callable[[Any], Any] | None: ...

    def new_state(self, key: tuple[Any, ...]) -> Any: ...
    def is_empty(self, state: Any) -> bool: ...
    def deadline(self, state: Any) -> int | None: ...
    def feed(self, state: Any, event: Event) -> list[Ordered]: ...
    def expire(self, state: Any, watermark: int) -> list[Ordered]: ...


class _Rule:
    """One compiled rule inside the engine: its runner, key function and
    per-key states (dict key: the BY values as tokens with JSON equality)."""

    __slots__ = ("accepts", "by", "index", "info", "key_of", "matcher", "runner", "states", "values")

    def __init__(self, index: int, compiled: CompiledRule) -> None:
        self.index = index
        self.info: RuleInfo = compiled.info
        self.runner: Runner = Matcher(compiled) if isinstance(compiled, Automaton) else Windower(compiled)
        self.accepts = self.runner.accepts
        self.matcher = self.runner if isinstance(self.runner, Matcher) else None
        self.states: dict[Any, Any] = {}
        self.by = compiled.info.by
        self.key_of = _key_function(self.by)
        self.values = _values_function(self.by)


class _Group:
    """The rules that share one allowed lateness, and so one watermark: their
    reorder buffer and their timers (a heap of (deadline, n, rule, key); the
    deadline a key's timer is set for is kept on its state as `due`)."""

    def __init__(self, lateness_ms: int) -> None:
        self.lateness_ms = lateness_ms
        self.rules: list[_Rule] = []
        self.by_type: dict[str, list[_Rule]] = {}
        self.any_type: list[_Rule] = []
        self.buffer = ReorderBuffer()
        self.timers: list[tuple[int, int, _Rule, Any]] = []
        self.timer_count = 0
        self.seq = 0
        self.watermark = NO_WATERMARK

    def add(self, rule: _Rule) -> None:
        self.rules.append(rule)
        if rule.info.types is None:
            self.any_type.append(rule)
            for rules in self.by_type.values():
                rules.append(rule)
        else:
            for type_name in rule.info.types:
                self.by_type.setdefault(type_name, list(self.any_type)).append(rule)

    def rules_for(self, event_type: str) -> list[_Rule]:
        rules = self.by_type.get(event_type)
        return rules if rules is not None else self.any_type


def _key_function(by: tuple[tuple[str, ...], ...]) -> Callable[[Mapping[str, Any]], Any]:
    """BY values of an event → its state key (None: unkeyed). A single
    top-level field, the common case, is one dict lookup."""
    if not by:
        return lambda data: ()
    if len(by) == 1 and len(by[0]) == 1:
        name = by[0][0]

        def one_field(data: Mapping[str, Any]) -> Any:
            value = data.get(name)
            if value is None or type(value) in _PLAIN_KEYS:
                return value
            return json_token(value)

        return one_field

    def many_fields(data: Mapping[str, Any]) -> Any:
        tokens = []
        for path in by:
            value = _field(data, path)
            if value is None:
                return None
            tokens.append(json_token(value))
        return tokens[0] if len(tokens) == 1 else tuple(tokens)

    return many_fields


def _values_function(by: tuple[tuple[str, ...], ...]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """BY values of an event as written (for the match's `key`)."""
    if len(by) == 1 and len(by[0]) == 1:
        name = by[0][0]
        return lambda data: (data.get(name),)
    return lambda data: tuple(_field(data, path) for path in by)


_PLAIN_KEYS = frozenset((str, int, float))


def _field(data: Mapping[str, Any], parts: tuple[str, ...]) -> Any:
    value: Any = data
    for part in parts:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


class Engine:
    """Runs compiled rules over events. See SPEC section 8.

    ```
    engine = Engine.from_path("rules/", max_delay="5s")
    for match in engine.process(events): ...
    engine.close()
    ```
    """

    def __init__(
        self,
        rules: Sequence[ast.Rule] | CheckResult,
        *,
        max_delay: str | float | None = None,
        allowed_lateness: str | float | None = None,
        late: str = "drop",
        idle_timeout: str | float | None = None,
        type_field: str = "type",
        time_field: str = "ts",
        id_field: str = "id",
        time_unit: str = "s",
        store: str | None = None,
        checkpoint_every: int | None = None,
        checkpoint_seconds: float | None = None,
    ) -> None:
        self.sources: dict[str, str] = {}
        if isinstance(rules, CheckResult):
            if rules.errors:
                raise RuleError(rules.errors)
            self.sources = {path: source.text for path, source in rules.sources.items()}
            rules = rules.rules
        self.fingerprints = [rule_fingerprint(rule) for rule in rules]
        self.rules_fingerprint = _digest(sorted(self.fingerprints))
        if late not in ("drop", "output"):
            raise UsageError(f"late must be 'drop' or 'output', not {late!r}")
        if time_unit not in ("s", "ms"):
            raise UsageError(f"time_unit must be 's' or 'ms', not {time_unit!r}")
        # As given, so a store can record them and `restore` rebuild the engine.
        self.init_options: dict[str, Any] = {
            "max_delay": max_delay,
            "allowed_lateness": allowed_lateness,
            "late": late,
            "idle_timeout": idle_timeout,
            "type_field": type_field,
            "time_field": time_field,
            "id_field": id_field,
            "time_unit": time_unit,
        }
        self.options = EngineOptions(
            max_delay_ms=parse_duration(max_delay, "max_delay"),
            allowed_lateness_ms=parse_duration(allowed_lateness, "allowed_lateness"),
            late=late,
            idle_timeout_ms=parse_duration(idle_timeout, "idle_timeout") if idle_timeout is not None else None,
            fields=EventFields(type_field, time_field, id_field, time_unit),
        )
        self.rules = [_Rule(i, compiled) for i, compiled in enumerate(compile_rules(rules))]
        self._groups: dict[int, _Group] = {}
        for rule in self.rules:
            lateness = rule.info.allowed_lateness_ms
            lateness = self.options.allowed_lateness_ms if lateness is None else lateness
            self._groups.setdefault(lateness, _Group(lateness)).add(rule)
        self._group_list = sorted(self._groups.values(), key=lambda g: g.lateness_ms)
        self._only_group = self._group_list[0] if len(self._group_list) == 1 else None
        fields = self.options.fields
        self._field_names = (
            fields.type_field,
            fields.time_field,
            fields.id_field,
            1000 if fields.time_unit == "s" else 1,
        )
        self._max_lateness = max((g.lateness_ms for g in self._group_list), default=0)
        # Dedup keeps an id until its event could only be late (and then some:
        # the longest WITHIN / window, so a replay within a run's reach is caught).
        self.dedup_retention_ms = self._max_lateness + max((_span_ms(r.runner) for r in self.rules), default=0)
        self._callbacks: dict[str | None, list[MatchCallback]] = {}
        self._reject_callbacks: list[EventCallback] = []
        self._late_callbacks: list[EventCallback] = []
        self._seen_ids: dict[str, int] = {}
        self._seen_order: deque[tuple[int, str]] = deque()
        self._taken_at = 0  # counters["accepted"] at the last take_new_ids()
        self.max_ts = NO_WATERMARK
        self.closed = False
        self.counters = dict.fromkeys(
            ("events_in", "accepted", "late", "deduped", "rejected", "unkeyed", "dropped", "matches_out"), 0
        )
        self._started = time.monotonic()
        self._last_arrival = self._started
        self._latencies: deque[float] = deque(maxlen=_LATENCY_SAMPLES)
        self.session: Any = None
        if store is not None:
            self._open_store(store, checkpoint_every, checkpoint_seconds)

    # -- construction ----------------------------------------------------------------

    def _open_store(self, url: str, every: int | None, seconds: float | None) -> None:
        # The store layer sits above the runtime; it is imported only when
        # an embedding application asks for durability.
        from cepengine.store.session import DEFAULT_CHECKPOINT_EVENTS, DEFAULT_CHECKPOINT_SECONDS, DurableRun
        from cepengine.store.sql import SqlStore

        store = SqlStore(url)
        run = store.begin_run(self.rules_fingerprint, self.sources, [], {"engine": self.init_options})
        self.session = DurableRun(
            self, store, run, every or DEFAULT_CHECKPOINT_EVENTS, seconds or DEFAULT_CHECKPOINT_SECONDS
        )
        self.session.load_dedup()

    def checkpoint(self) -> None:
        """Commit matches, processed ids and state to the store now."""
        if self.session is None:
            raise UsageError("checkpoint() needs an engine created with store=URL")
        self.session.checkpoint({"events": self.counters["events_in"]})

    @classmethod
    def restore(cls, store: str, force: bool = False, **options: Any) -> Engine:
        """Continue the store's last interrupted run: its rules (as stored),
        options and state. `engine.resume_position["events"]` tells how many
        of the run's events the checkpoint covers: push the rest."""
        from cepengine.check import check_parsed
        from cepengine.store.session import DurableRun
        from cepengine.store.sql import SqlStore
        from cepengine.syntax.parser import parse_text

        sql = SqlStore(store)
        try:
            run = sql.last_interrupted_run()
            if run is None:
                raise StoreError(f"no interrupted run to resume in {store}")
            rules = check_parsed([parse_text(text, path) for path, text in run.rules.items()])
            engine = cls(rules, **{**run.options.get("engine", {}), **options})
            engine.session = DurableRun(engine, sql, run)
            engine.session.resume(force=force)
        except BaseException:
            sql.close()
            raise
        return engine

    @property
    def resume_position(self) -> dict[str, Any]:
        return dict(self.session.position) if self.session is not None else {}

    @classmethod
    def from_path(cls, *paths: str | Path, **options: Any) -> Engine:
        """Load, check and compile every `.cep` file under `paths`; raise
        RuleError (with every diagnostic) if any rule has an error."""
        return cls(check_paths(paths), **options)

    @classmethod
    def from_text(cls, text: str, path: str = "<string>", **options: Any) -> Engine:
        return cls(check_text(text, path), **options)

    # -- callbacks -------------------------------------------------------------------

    def on_match(self, rule: str | None, callback: MatchCallback) -> None:
        """Call `callback(match)` for each match of `rule` (None or "*": all)."""
        name = None if rule in (None, "*") else rule
        if name is not None and name not in {r.info.name for r in self.rules}:
            raise UsageError(f"no rule named {name!r}")
        self._callbacks.setdefault(name, []).append(callback)

    def on_reject(self, callback: EventCallback) -> None:
        """Call `callback(raw_event, reason)` for each bad event (dead letter)."""
        self._reject_callbacks.append(callback)

    def on_late(self, callback: EventCallback) -> None:
        """Call `callback(event, reason)` for each late event when late="output"."""
        self._late_callbacks.append(callback)

    # -- input -----------------------------------------------------------------------

    @property
    def watermark(self) -> int:
        """The engine watermark in ms (max event time seen − max_delay)."""
        return self.max_ts - self.options.max_delay_ms if self.max_ts != NO_WATERMARK else NO_WATERMARK

    def process(self, events: Iterable[Any]) -> Iterator[Match]:
        """Push every event; yield matches as they complete. Does not end
        the input: call close() for that."""
        push = self.push
        for raw in events:
            matches = push(raw)
            if matches:  # most events complete nothing: skip the yield machinery
                yield from matches

    def push(self, raw: Any) -> list[Match]:
        """Feed one event (a mapping, as decoded from JSON). Returns the
        matches it completed (possibly none; a bad event is counted and sent
        to the dead-letter callbacks, never raised)."""
        if self.closed:
            raise UsageError("engine is closed")
        counters = self.counters
        counters["events_in"] += 1
        # Latency of the first events, then of every 64th.
        sample = counters["events_in"] <= 256 or not counters["events_in"] & 63
        began = time.perf_counter() if sample else 0.0
        if self.options.idle_timeout_ms is not None:
            self._last_arrival = time.monotonic()
        event = self._fast_event(raw)
        if event is None:
            try:
                event = read_event(raw, self.options.fields)
            except EventError as exc:
                self._reject(raw, str(exc))
                return []
        only = self._only_group
        matches = self._accept_one(event, only) if only is not None else self._accept(event)
        if sample:
            self._latencies.append(time.perf_counter() - began)
        if self.session is not None and self.session.due():
            self.session.checkpoint({"events": counters["events_in"]})
        return matches

    def _fast_event(self, raw: Any) -> Event | None:
        """The common case inline: a dict with a string type, a numeric time
        in range and a string id. None means: take the careful path."""
        if type(raw) is not dict:
            return None
        type_field, time_field, id_field, scale = self._field_names
        event_type = raw.get(type_field)
        ts: Any = raw.get(time_field)
        if type(event_type) is not str or not event_type or type(ts) not in _PLAIN_TIMES:
            return None
        ts_ms = ts * scale
        if not -1e15 < ts_ms < 1e15:
            return None  # out of range, or NaN: the careful path says why
        event_id = raw.get(id_field)
        if type(event_id) is not str:
            return None
        return Event(raw, event_type, round(ts_ms), event_id)

    def reject(self, raw: Any, reason: str) -> None:
        """Count and dead-letter input that could not even be decoded (a line
        that is not JSON): it counts as an event in, and as rejected."""
        self.counters["events_in"] += 1
        self._reject(raw, reason)

    def _reject(self, raw: Any, reason: str) -> None:
        self.counters["rejected"] += 1
        for callback in self._reject_callbacks:
            callback(raw, reason)

    def _accept(self, event: Event) -> list[Match]:
        if event.id in self._seen_ids:
            self.counters["deduped"] += 1
            return []
        watermark = self.watermark
        groups = self._group_list
        ts = event.ts_ms
        late_for = [g for g in groups if ts < watermark - g.lateness_ms] if watermark != NO_WATERMARK else ()
        if late_for:
            self._late(event, watermark)
            if len(late_for) == len(groups):
                return []
        self._remember(event)
        self.counters["accepted"] += 1
        if ts > self.max_ts:
            self.max_ts = ts
        shared = len(groups) == 1
        for group in groups:
            if group not in late_for and (group.by_type.get(event.type) or group.any_type):
                group.buffer.add(event if shared else event.copy())
        return self._run_until(self.watermark)

    def _accept_one(self, event: Event, group: _Group) -> list[Match]:
        """_accept for the usual case of one lateness group, inlined: this is
        the per-event hot path."""
        event_id = event.id
        seen = self._seen_ids
        if event_id in seen:
            self.counters["deduped"] += 1
            return []
        ts = event.ts_ms
        max_ts = self.max_ts
        delay = self.options.max_delay_ms
        if max_ts != NO_WATERMARK and ts < max_ts - delay - group.lateness_ms:
            self._late(event, max_ts - delay)
            return []
        seen[event_id] = ts
        order = self._seen_order
        order.append((ts, event_id))
        if ts > max_ts:
            self.max_ts = max_ts = ts
        watermark = max_ts - delay
        horizon = watermark - self.dedup_retention_ms
        while order[0][0] < horizon:
            _, old = order.popleft()
            if seen.get(old, horizon) < horizon:
                del seen[old]
        self.counters["accepted"] += 1
        buffer = group.buffer
        if group.by_type.get(event.type) or group.any_type:
            buffer.arrivals += 1
            heapq.heappush(buffer.heap, (ts, buffer.arrivals, event))
        out: list[Match] = []
        rule_watermark = watermark - group.lateness_ms
        buffered = group.buffer.heap
        if buffered and buffered[0][0] <= rule_watermark:
            self._release(group, rule_watermark, out)
        elif rule_watermark > group.watermark:
            group.watermark = rule_watermark
            if group.timers and group.timers[0][0] <= rule_watermark:
                self._fire_timers(group, rule_watermark, out)
        if out:
            self._deliver(out)
        return out

    def _late(self, event: Event, watermark: int) -> None:
        self.counters["late"] += 1
        if self.options.late == "output":
            reason = f"late: ts {event.ts_ms} ms is older than watermark {watermark} ms − allowed lateness"
            for callback in self._late_callbacks:
                callback(event.data, reason)

    def _remember(self, event: Event) -> None:
        self.remember_id(event.id, event.ts_ms)
        horizon = self.dedup_horizon
        order = self._seen_order
        while order and order[0][0] < horizon:
            _, old = order.popleft()
            if self._seen_ids.get(old, horizon) < horizon:
                del self._seen_ids[old]

    def remember_id(self, event_id: str, ts_ms: int) -> None:
        """Dedup state: this id has been processed."""
        self._seen_ids[event_id] = ts_ms
        self._seen_order.append((ts_ms, event_id))

    def take_new_ids(self) -> list[tuple[str, int]]:
        """(id, ts) of the events accepted since the last call and still
        remembered, for the store's dedup table. Nothing is collected per
        event: they are the newest entries of the dedup order (arrival order)."""
        fresh = self.counters["accepted"] - self._taken_at
        self._taken_at = self.counters["accepted"]
        if fresh <= 0:
            return []
        newest = [(event_id, ts) for ts, event_id in itertools.islice(reversed(self._seen_order), fresh)]
        newest.reverse()
        return newest

    @property
    def dedup_horizon(self) -> int:
        """Ids of events older than this are forgotten (such an event would
        be late anyway)."""
        watermark = self.watermark
        return NO_WATERMARK if watermark == NO_WATERMARK else watermark - self.dedup_retention_ms

    # -- time ------------------------------------------------------------------------

    def advance_watermark(self, ts: Any) -> list[Match]:
        """Move the watermark to `ts` (event-time units or ISO-8601), as if
        an event with time ts + max_delay had arrived."""
        ts_ms = parse_time(ts, self.options.fields.time_unit)
        self.max_ts = max(self.max_ts, ts_ms + self.options.max_delay_ms)
        return self._run_until(self.watermark)

    def tick(self, now: float | None = None) -> list[Match]:
        """With idle_timeout: when no event has arrived for that long
        (processing time), advance the watermark by the time elapsed."""
        idle = self.options.idle_timeout_ms
        if idle is None or self.max_ts == NO_WATERMARK:
            return []
        now = time.monotonic() if now is None else now
        silent_ms = round((now - self._last_arrival) * 1000)
        if silent_ms < idle:
            return []
        self._last_arrival = now
        self.max_ts += silent_ms
        return self._run_until(self.watermark)

    def close(self) -> list[Match]:
        """End of input: the watermark goes to +infinity, so every buffered
        event is processed and every window and absence is settled."""
        if self.closed:
            return []
        matches = self._run_until(FOREVER, final=True)
        self.closed = True
        if self.session is not None:
            self.session.finish({"events": self.counters["events_in"]})
            self.session.store.close()
        return matches

    def _run_until(self, watermark: int, final: bool = False) -> list[Match]:
        out: list[Match] = []
        for group in self._group_list:
            self._release(group, FOREVER if final else watermark - group.lateness_ms, out)
        if out:
            self._deliver(out)
        return out

    def _release(self, group: _Group, rule_watermark: int, out: list[Match]) -> None:
        """Process the group's buffered events up to its watermark, in
        order, firing timers as event time passes them. Events at the
        watermark itself are released too: a later one with the same time is
        not late and queues behind them."""
        buffered = group.buffer.heap
        timers = group.timers
        while buffered and buffered[0][0] <= rule_watermark:
            event = heapq.heappop(buffered)[2]
            if timers and timers[0][0] <= event.ts_ms:
                self._fire_timers(group, event.ts_ms, out)
            event.seq = group.seq
            group.seq += 1
            self._dispatch(group, event, out)
        if rule_watermark > group.watermark:
            group.watermark = rule_watermark
            if timers and timers[0][0] <= rule_watermark:
                self._fire_timers(group, rule_watermark, out)

    def _fire_timers(self, group: _Group, watermark: int, out: list[Match]) -> None:
        """Expire every key whose deadline the watermark has reached."""
        timers = group.timers
        batch: list[tuple[Any, Match]] = []
        while timers and timers[0][0] <= watermark:
            deadline, _, rule, key = heapq.heappop(timers)
            state = rule.states.get(key)
            if state is None or state.due != deadline:
                continue  # stale: the key was dropped or rescheduled
            state.due = None
            batch.extend(rule.runner.expire(state, watermark))
            self._reschedule(group, rule, key, state)
        if len(batch) > 1:
            batch.sort(key=_first)
        out.extend(match for _, match in batch)

    def _dispatch(self, group: _Group, event: Event, out: list[Match]) -> None:
        data = event.data
        batch: list[tuple[Any, Match]] = []
        for rule in group.by_type.get(event.type) or group.any_type:
            if rule.accepts is not None and not rule.accepts(data):
                continue
            key = rule.key_of(data)
            if key is None:
                self.counters["unkeyed"] += 1
                continue
            states = rule.states
            state = states.get(key)
            if state is None:
                state = states[key] = rule.runner.new_state(rule.values(data))
            matcher = rule.matcher
            if matcher is None:
                found = rule.runner.feed(state, event)
                if found:
                    batch.extend(found)
                self._reschedule(group, rule, key, state)
                continue
            # Pattern rules, inlined (the hot path): Matcher.feed and
            # _reschedule, with the oldest run's deadline read directly.
            done = matcher.on_event(state, event)
            if done:
                batch.extend(matcher.ordered(run, state) for run in done)
            runs = state.runs
            if not runs:
                # A key with a timer pending keeps its (empty) state until the
                # timer drops it: an active key is not rebuilt on every event.
                if state.due is None:
                    del states[key]
            elif matcher.within is not None:
                deadline = runs[0].start_ts + matcher.within + 1
                if state.due is None or deadline < state.due:
                    state.due = deadline
                    group.timer_count += 1
                    heapq.heappush(group.timers, (deadline, group.timer_count, rule, key))
        if batch:
            if len(batch) > 1:
                batch.sort(key=_first)
            out.extend(match for _, match in batch)

    def _reschedule(self, group: _Group, rule: _Rule, key: Any, state: Any) -> None:
        """Keep a timer at the key's next deadline; drop a key with no state."""
        deadline = rule.runner.deadline(state)
        if deadline is None:
            if rule.runner.is_empty(state):
                del rule.states[key]
            return
        if state.due is None or deadline < state.due:
            state.due = deadline
            group.timer_count += 1  # tie-breaker: keys of mixed types do not compare
            heapq.heappush(group.timers, (deadline, group.timer_count, rule, key))

    @staticmethod
    def key_token(rule: _Rule, values: tuple[Any, ...]) -> Any:
        """The dict key of a rule's state for these BY values."""
        return rule.key_of(_as_data(rule, values))

    def _deliver(self, matches: list[Match]) -> None:
        self.counters["matches_out"] += len(matches)
        if not self._callbacks:
            return
        for match in matches:
            for callback in self._callbacks.get(match.rule, ()):
                callback(match)
            for callback in self._callbacks.get(None, ()):
                callback(match)

    # -- monitoring ------------------------------------------------------------------

    def metrics(self) -> dict[str, Any]:
        """Counters and gauges (SPEC section 8)."""
        elapsed = max(time.monotonic() - self._started, 1e-9)
        latencies = sorted(self._latencies)

        def percentile(p: float) -> float | None:
            if not latencies:
                return None
            return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

        partial = sum(len(s.runs) for r in self.rules if isinstance(r.runner, Matcher) for s in r.states.values())
        windows = sum(len(s.open) for r in self.rules if isinstance(r.runner, Windower) for s in r.states.values())
        timed_out = sum(r.runner.timed_out for r in self.rules if isinstance(r.runner, Matcher))
        watermark = self.watermark
        return {
            **self.counters,
            "partial_matches": partial,
            "open_windows": windows,
            "timed_out": timed_out,
            "buffered": sum(len(g.buffer) for g in self._group_list),
            "watermark": None if watermark == NO_WATERMARK else watermark,
            "watermark_lag_ms": None if watermark == NO_WATERMARK else round(time.time() * 1000) - watermark,
            "throughput_eps": self.counters["events_in"] / elapsed,
            "latency_ms": {"p50": percentile(0.5), "p95": percentile(0.95), "p99": percentile(0.99)},
        }


def rule_fingerprint(rule: ast.Rule) -> str:
    """Identifies a rule's meaning: its AST without source positions."""
    return _digest([repr(rule)])


def _digest(parts: list[str]) -> str:
    return hashlib.blake2b("\x00".join(parts).encode(), digest_size=16).hexdigest()


def _span_ms(runner: Runner) -> int:
    if isinstance(runner, Windower):
        return runner.plan.size_ms
    assert isinstance(runner, Matcher)
    return runner.within or 0


def _first(item: tuple[Any, Match]) -> Any:
    return item[0]


def _as_data(rule: _Rule, values: tuple[Any, ...]) -> dict[str, Any]:
    """Rebuild an event-shaped mapping holding just these BY values."""
    data: dict[str, Any] = {}
    for path, value in zip(rule.by, values, strict=True):
        target = data
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    return data


_PLAIN_TIMES = frozenset((int, float))
