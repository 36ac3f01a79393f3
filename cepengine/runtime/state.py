"""Engine state as plain data (JSON-ready), for checkpoints.

Never pickled: every value here is a dict, list, str, int, float, bool or
None. The form, version 1:

    {"format": 1,
     "rules_fingerprint": str,
     "max_ts": int | null,
     "counters": {name: int},
     "events": [[id, type, ts_ms, seq, data], ...],   # referenced below by index
     "groups": [{"lateness_ms": int, "seq": int, "watermark": int, "buffer": [event index, ...]}],
     "rules": {name: {"fingerprint": str, "timed_out": int, "keys": [key state, ...]}},
     "dedup": [[event id, ts_ms], ...] | null}

A pattern rule's key state: {"key": [values], "nodes": [[state, event index,
parent node index or -1], ...], "runs": [[state, count, node index, start_ts,
start_seq, seen, deadline], ...]}. Nodes are shared between runs, as in
memory. A window rule's key state: {"key": [values], "session_last": int,
"open": [[window start, [aggregate slot data, ...]], ...]}.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cepengine.errors import StoreError
from cepengine.events import Event
from cepengine.runtime.matcher import KeyState, Matcher, Node, Run
from cepengine.runtime.windows import Accumulator, Windower, WindowKeyState

if TYPE_CHECKING:
    from cepengine.runtime.engine import Engine

FORMAT_VERSION = 1


class _Events:
    """Numbers each distinct Event object once."""

    def __init__(self) -> None:
        self.index: dict[int, int] = {}
        self.rows: list[list[Any]] = []

    def ref(self, event: Event) -> int:
        number = self.index.get(id(event))
        if number is None:
            number = self.index[id(event)] = len(self.rows)
            self.rows.append([event.id, event.type, event.ts_ms, event.seq, event.data])
        return number


def snapshot(engine: Engine, include_dedup: bool = True) -> dict[str, Any]:
    """The engine's whole state as plain data."""
    events = _Events()
    groups = [
        {
            "lateness_ms": g.lateness_ms,
            "seq": g.seq,
            "watermark": g.watermark,
            "buffer": [events.ref(e) for e in g.buffer.events()],
        }
        for g in engine._group_list
    ]
    rules = {}
    for rule in engine.rules:
        if isinstance(rule.runner, Windower):
            plan = rule.runner.plan
            keys = [_window_key(state, plan) for state in rule.states.values()]
            timed_out = 0
        else:
            assert isinstance(rule.runner, Matcher)
            keys = [_pattern_key(state, events) for state in rule.states.values()]
            timed_out = rule.runner.timed_out
        rules[rule.info.name] = {"fingerprint": engine.fingerprints[rule.index], "timed_out": timed_out, "keys": keys}
    return {
        "format": FORMAT_VERSION,
        "rules_fingerprint": engine.rules_fingerprint,
        "max_ts": engine.max_ts,
        "counters": dict(engine.counters),
        "events": events.rows,
        "groups": groups,
        "rules": rules,
        "dedup": [[i, ts] for ts, i in engine._seen_order if i in engine._seen_ids] if include_dedup else None,
    }


def _pattern_key(state: KeyState, events: _Events) -> dict[str, Any]:
    node_index: dict[int, int] = {}
    nodes: list[list[int]] = []

    def ref(node: Node | None) -> int:
        if node is None:
            return -1
        found = node_index.get(id(node))
        if found is None:
            parent = ref(node.parent)
            found = node_index[id(node)] = len(nodes)
            nodes.append([node.state, events.ref(node.event), parent])
        return found

    runs = [[r.state, r.count, ref(r.node), r.start_ts, r.start_seq, r.seen, r.deadline] for r in state.runs]
    return {"key": list(state.key), "nodes": nodes, "runs": runs}


def _window_key(state: WindowKeyState, plan: Any) -> dict[str, Any]:
    return {
        "key": list(state.key),
        "session_last": state.session_last,
        "open": [[start, acc.to_data(plan)] for start, acc in state.open.items()],
    }


# ---- restore -------------------------------------------------------------------------


def restore(engine: Engine, data: dict[str, Any], force: bool = False) -> list[str]:
    """Load a snapshot into a freshly built engine. Returns the names of
    rules whose state was not restored (only with `force`, when a rule
    changed or is new). Raises StoreError for a snapshot it cannot use."""
    data = migrate(data)
    if data.get("rules_fingerprint") != engine.rules_fingerprint and not force:
        raise StoreError(
            "the checkpoint was made with different rules (fingerprint mismatch); "
            "restore with the same rules, or force it (state of changed rules is dropped)"
        )
    try:
        return _restore(engine, data)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise StoreError(f"checkpoint state is malformed: {exc!r}") from exc


def migrate(data: Any) -> dict[str, Any]:
    """Bring an older snapshot up to FORMAT_VERSION, or refuse it."""
    if not isinstance(data, dict) or "format" not in data:
        raise StoreError("checkpoint state is not a cepengine snapshot")
    version = data["format"]
    if version == FORMAT_VERSION:
        return data
    raise StoreError(
        f"checkpoint format {version!r} is not supported by this cepengine (format {FORMAT_VERSION}); "
        "finish the run with the cepengine version that started it"
    )


def _restore(engine: Engine, data: dict[str, Any]) -> list[str]:
    events = [Event(row[4], row[1], row[2], row[0], row[3]) for row in data["events"]]
    engine.max_ts = data["max_ts"]
    engine.counters.update({k: int(v) for k, v in data["counters"].items() if k in engine.counters})
    groups = {g.lateness_ms: g for g in engine._group_list}
    for saved in data["groups"]:
        group = groups.get(saved["lateness_ms"])
        if group is None:
            continue
        group.seq = saved["seq"]
        group.watermark = saved["watermark"]
        for index in saved["buffer"]:
            group.buffer.add(events[index])
    skipped = []
    for rule in engine.rules:
        saved_rule = data["rules"].get(rule.info.name)
        if saved_rule is None or saved_rule["fingerprint"] != engine.fingerprints[rule.index]:
            skipped.append(rule.info.name)
            continue
        for saved_key in saved_rule["keys"]:
            state = _restore_key(rule.runner, saved_key, events)
            token = engine.key_token(rule, state.key)
            rule.states[token] = state
            group = next(g for g in engine._group_list if rule in g.rules)
            engine._reschedule(group, rule, token, state)
        if isinstance(rule.runner, Matcher):
            rule.runner.timed_out = saved_rule["timed_out"]
    for event_id, ts in data.get("dedup") or ():
        engine.remember_id(event_id, ts)
    return skipped


def _restore_key(runner: Any, saved: dict[str, Any], events: list[Event]) -> Any:
    key = tuple(saved["key"])
    if isinstance(runner, Windower):
        state = WindowKeyState(key)
        state.session_last = saved["session_last"]
        for start, acc in saved["open"]:
            state.open[start] = Accumulator.from_data(runner.plan, acc)
        return state
    pattern_state = KeyState(key)
    nodes: list[Node] = []
    for node_state, event_index, parent in saved["nodes"]:
        nodes.append(Node(node_state, events[event_index], nodes[parent] if parent >= 0 else None))
    for state_index, count, node, start_ts, start_seq, seen, deadline in saved["runs"]:
        pattern_state.runs.append(Run(state_index, count, nodes[node], start_ts, start_seq, seen, deadline))
    return pattern_state
