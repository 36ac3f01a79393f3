"""Runs of one automaton over one key's events.

The automaton (compiler/nfa.py) is immutable and shared by every key; what
changes is a `KeyState`: the key's partial matches (`Run`s). A run's
bindings are a linked list of `Node`s (newest first) that runs share when
they branch — a branch adds one node and copies nothing, as Flink CEP's
SharedBuffer does — so memory stays linear in the events held.

Plain-data form of a key's state (used by checkpoints): see `KeyState.to_data`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cepengine.compiler.functions import to_json
from cepengine.compiler.nfa import Automaton, Entry, State
from cepengine.events import Event, Match, match_id


class Node:
    """One binding: the event taken into `state`, then the older bindings."""

    __slots__ = ("event", "parent", "state")

    def __init__(self, state: int, event: Event, parent: Node | None) -> None:
        self.state = state
        self.event = event
        self.parent = parent


class Run:
    """A partial match: in `state` with `count` iterations taken.

    `seen` holds the NOT guards (bitmask) met since the last take; `deadline`
    is set once the positive part is complete and only a trailing NOT is
    left to settle."""

    __slots__ = ("count", "deadline", "node", "seen", "start_seq", "start_ts", "state")

    def __init__(
        self, state: int, count: int, node: Node, start_ts: int, start_seq: int, seen: int = 0, deadline: int = -1
    ) -> None:
        self.state = state
        self.count = count
        self.node = node
        self.start_ts = start_ts
        self.start_seq = start_seq
        self.seen = seen
        self.deadline = deadline

    def positions(self) -> tuple[int, ...]:
        found = []
        node: Node | None = self.node
        while node is not None:
            found.append(node.event.seq)
            node = node.parent
        found.reverse()
        return tuple(found)

    def sort_key(self) -> tuple[int, tuple[int, ...]]:
        return (self.start_ts, self.positions())


class KeyState:
    """The mutable state of one rule for one key: its runs, oldest first
    (runs are created in event-time order, and branches stay beside their
    parent). `due` is the deadline a timer is set for (engine bookkeeping)."""

    __slots__ = ("due", "key", "runs")

    def __init__(self, key: tuple[Any, ...]) -> None:
        self.key = key
        self.runs: list[Run] = []
        self.due: int | None = None


Predicate = Callable[[Any, Node | None], bool] | None
ITERATE = Entry(-2)  # "take the event into the current state again"


class _TypeTable:
    """For one event type, what it can do, precomputed once: per state, the
    predicate of another iteration (None: the type cannot iterate it; TRUE:
    no predicate) and the follow entries whose target accepts the type, with
    their predicates; the start entries; the guards the type can trip."""

    __slots__ = ("guards", "inert", "iterate", "start", "step")

    def __init__(self, automaton: Automaton, event_type: str) -> None:
        def accepts(type_name: str | None) -> bool:
            return type_name is None or type_name == event_type

        def predicate(state: State) -> Any:
            return state.predicate.fn if state.predicate is not None else _true

        states = automaton.states
        self.iterate = [predicate(s) if accepts(s.type_name) and s.max > 1 else None for s in states]
        self.step = [
            [(e, predicate(states[e.target])) for e in s.follow if accepts(states[e.target].type_name)] for s in states
        ]
        self.start = [(e, predicate(states[e.target])) for e in automaton.start if accepts(states[e.target].type_name)]
        self.guards = [
            (1 << g.index, g.predicate.fn if g.predicate else _true) for g in automaton.guards if accepts(g.type_name)
        ]
        # Per state: can an event of this type do nothing at all to a run
        # there (no iteration, no step, no guard)? Then the run just waits.
        self.inert = [
            it is None and not steps and not self.guards for it, steps in zip(self.iterate, self.step, strict=True)
        ]


def _true(_data: Any, _node: Any) -> bool:
    return True


Ordered = tuple[tuple[Any, ...], Match]


class Matcher:
    """Executes one automaton; holds no per-key state itself.

    The engine drives every rule through the same five calls: `new_state`,
    `feed` (an event), `expire` (the watermark), `deadline` and `is_empty`;
    `feed` and `expire` return matches with their SPEC ordering key."""

    accepts = None  # no pre-filter: the type index already chose the events

    def __init__(self, automaton: Automaton) -> None:
        self.automaton = automaton
        self.name = automaton.info.name
        self.by_names = automaton.info.by_names
        self.states = automaton.states
        self.within = automaton.within_ms
        self.strict = automaton.selection == "STRICT"
        self.any = automaton.selection == "SKIP_TILL_ANY"
        self.where = automaton.where.fn if automaton.where else None
        self.alias_of = [s.alias for s in automaton.states]
        self.quantified = automaton.quantified_aliases
        self._tables: dict[str, _TypeTable] = {}
        self.timed_out = 0

    # -- the runner interface ------------------------------------------------------------

    @staticmethod
    def new_state(key: tuple[Any, ...]) -> KeyState:
        return KeyState(key)

    @staticmethod
    def is_empty(state: KeyState) -> bool:
        return not state.runs

    def deadline(self, state: KeyState) -> int | None:
        """The watermark at which the oldest run times out or its trailing
        NOT settles: once the watermark passes first.ts + WITHIN."""
        if self.within is None or not state.runs:
            return None
        return state.runs[0].start_ts + self.within + 1

    def feed(self, state: KeyState, event: Event) -> list[Ordered]:
        completed = self.on_event(state, event)
        return [self.ordered(run, state) for run in completed] if completed else []

    def expire(self, state: KeyState, watermark: int) -> list[Ordered]:
        return [self.ordered(run, state) for run in self.on_watermark(state, watermark)]

    def ordered(self, run: Run, state: KeyState) -> Ordered:
        """SPEC section 3: by first event time, rule name, event positions."""
        key = dict(zip(self.by_names, state.key, strict=True))
        return (run.start_ts, self.name, run.positions(), ""), self.to_match(run, key)

    def table(self, event_type: str) -> _TypeTable:
        table = self._tables.get(event_type)
        if table is None:
            table = self._tables[event_type] = _TypeTable(self.automaton, event_type)
        return table

    # -- events ----------------------------------------------------------------------

    def on_event(self, ks: KeyState, event: Event) -> list[Run]:
        """Feed one event (already in time order) to a key's runs. Returns
        the runs it completed, in emission order, with the after-match skip
        applied."""
        table = self._tables.get(event.type) or self.table(event.type)
        survivors: list[Run] = []
        completed: list[Run] = []
        if ks.runs:
            data = event.data
            inert = table.inert
            waits = not self.strict  # under STRICT an event a run cannot take ends it
            for run in ks.runs:
                if run.deadline >= 0:
                    if not self._trips_trailing(run, table, data):
                        survivors.append(run)
                elif inert[run.state]:
                    if waits:
                        survivors.append(run)
                else:
                    self._step(run, event, table, survivors, completed)
        if table.start:
            self._start(event, table, survivors, completed)
        ks.runs = survivors
        return self._emit(ks, completed) if completed else completed

    def _step(self, run: Run, event: Event, table: _TypeTable, survivors: list[Run], completed: list[Run]) -> None:
        data = event.data
        index = run.state
        state = self.states[index]
        node = run.node
        taken: list[Entry] = []
        iterate = table.iterate[index]
        if iterate is not None and run.count < state.max and iterate(data, node):
            taken.append(ITERATE)
        if run.count >= state.min:
            for entry, predicate in table.step[index]:
                if not entry.guards & run.seen and predicate(data, node):
                    taken.append(entry)
        if taken and self.within is not None and event.ts_ms - run.start_ts > self.within:
            return  # too old to grow: it can never complete
        if len(taken) > 1:
            taken = _leftmost(taken)
        if table.guards:
            for bit, guard in table.guards:
                if guard(data, node):
                    run.seen |= bit
        if (self.any or not (taken or self.strict)) and (run.seen == 0 or self._alive(run, state)):
            survivors.append(run)
        for entry in taken:
            if entry is ITERATE:
                nxt = Run(run.state, run.count + 1, Node(run.state, event, node), run.start_ts, run.start_seq)
            else:
                nxt = Run(entry.target, 1, Node(entry.target, event, node), run.start_ts, run.start_seq)
            self._place(nxt, survivors, completed)

    def _alive(self, run: Run, state: State) -> bool:
        """False once NOT guards have closed every way forward."""
        if run.seen == 0 or run.count < state.max:
            return True
        return any(not (e.guards & run.seen) for e in state.follow) or (
            state.end is not None and not (state.end.guards & run.seen)
        )

    def _start(self, event: Event, table: _TypeTable, survivors: list[Run], completed: list[Run]) -> None:
        data = event.data
        taken = [entry for entry, predicate in table.start if predicate(data, None)]
        if len(taken) > 1:
            taken = _leftmost(taken)
        for entry in taken:
            run = Run(entry.target, 1, Node(entry.target, event, None), event.ts_ms, event.seq)
            self._place(run, survivors, completed)

    def _place(self, run: Run, survivors: list[Run], completed: list[Run]) -> None:
        """A run that just took an event: complete, waiting on a trailing
        NOT, or still partial."""
        state = self.states[run.state]
        end = state.end
        if end is None or run.count < state.min:
            survivors.append(run)
        elif self.where is not None and not self.where(run.node):
            return  # complete, but WHERE fails: no match, and the run is done
        elif end.guards:
            assert self.within is not None, "a trailing NOT requires WITHIN"
            run.deadline = run.start_ts + self.within
            run.seen = end.guards  # the guards still to watch
            survivors.append(run)
        else:
            completed.append(run)

    def _trips_trailing(self, run: Run, table: _TypeTable, data: Any) -> bool:
        return any(bit & run.seen and guard(data, run.node) for bit, guard in table.guards)

    # -- time ------------------------------------------------------------------------

    def on_watermark(self, ks: KeyState, watermark: int) -> list[Run]:
        """Settle trailing NOTs whose interval has passed, then drop runs
        that can no longer complete within WITHIN. Returns completed runs."""
        settled = [r for r in ks.runs if 0 <= r.deadline < watermark]
        done: list[Run] = []
        if settled:
            ks.runs = [r for r in ks.runs if not 0 <= r.deadline < watermark]
            done = self._emit(ks, settled)
        if self.within is not None:
            horizon = watermark - self.within
            alive = [r for r in ks.runs if r.start_ts >= horizon]
            self.timed_out += len(ks.runs) - len(alive)
            ks.runs = alive
        return done

    # -- after-match skip ------------------------------------------------------------------

    def _emit(self, ks: KeyState, completed: list[Run]) -> list[Run]:
        if not completed:
            return completed
        if len(completed) > 1:
            completed.sort(key=Run.sort_key)
        policy = self.automaton.after_match
        if policy == "NO_SKIP":
            return completed
        emitted: list[Run] = []
        for run in completed:
            if any(_skips(policy, done, run) for done in emitted):
                continue
            emitted.append(run)
            ks.runs = [r for r in ks.runs if not _skips(policy, run, r)]
        return emitted

    # -- results ---------------------------------------------------------------------

    def to_match(self, run: Run, key: dict[str, Any]) -> Match:
        automaton = self.automaton
        chain: list[Node] = []
        node: Node | None = run.node
        while node is not None:
            chain.append(node)
            node = node.parent
        chain.reverse()
        events: dict[str, Any] = {}
        for link in chain:
            alias = self.alias_of[link.state]
            if alias in self.quantified:
                events.setdefault(alias, []).append(link.event.data)
            else:
                events[alias] = link.event.data
        info = automaton.info
        return Match(
            rule=info.name,
            match_id=match_id(info.name, [link.event.id for link in chain]),
            key=key,
            start_ms=chain[0].event.ts_ms,
            end_ms=chain[-1].event.ts_ms,
            events=events,
            emit={name: to_json(p.fn(run.node)) for name, p in automaton.emit},
            severity=info.severity,
            tags=info.tags,
        )


def _skips(policy: str, emitted: Run, other: Run) -> bool:
    """Does emitting `emitted` discard `other` under the after-match skip?"""
    if policy == "SKIP_PAST_LAST":
        return other.start_seq <= emitted.node.event.seq
    return other.start_seq == emitted.start_seq


def _leftmost(taken: list[Entry]) -> list[Entry]:
    """OR: when one event fits several branches of the same OR, keep only
    the leftmost branch."""
    best: dict[int, int] = {}
    for entry in taken:
        for or_id, branch in entry.choices:
            best[or_id] = min(branch, best.get(or_id, branch))
    return [e for e in taken if all(best[o] == b for o, b in e.choices)]
