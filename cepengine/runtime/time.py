"""Event time: the reorder buffer that releases events in time order behind
a watermark, and the timers that fire when the watermark passes a deadline.

The watermark is max event time seen − max_delay (bounded out-of-orderness).
A rule with allowed lateness L runs behind watermark − L: it sees its events
in (time, arrival) order up to there. Timers fire at the first watermark at
or after their deadline.
"""

from __future__ import annotations

import heapq
from typing import Any

from cepengine.events import Event

FOREVER = 1 << 62  # the watermark at end of input


class ReorderBuffer:
    """Holds events until the watermark passes them, then releases them in
    (time, arrival) order."""

    __slots__ = ("_arrivals", "_heap")

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, Event]] = []
        self._arrivals = 0

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, event: Event) -> None:
        self._arrivals += 1
        heapq.heappush(self._heap, (event.ts_ms, self._arrivals, event))

    def release(self, watermark: int) -> list[Event]:
        """Every held event with ts <= watermark, oldest first."""
        heap = self._heap
        out = []
        while heap and heap[0][0] <= watermark:
            out.append(heapq.heappop(heap)[2])
        return out

    def events(self) -> list[Event]:
        """The held events in release order (for checkpoints)."""
        return [entry[2] for entry in sorted(self._heap, key=lambda e: (e[0], e[1]))]


class Timers:
    """Deadlines per (rule, key), fired in deadline order. Re-scheduling a
    key earlier pushes a new entry; stale entries are skipped on pop."""

    __slots__ = ("_count", "_due", "_heap")

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, int, Any]] = []
        self._due: dict[tuple[int, Any], int] = {}
        self._count = 0

    def schedule(self, deadline: int | None, rule: int, key: Any) -> None:
        if deadline is None:
            return
        slot = (rule, key)
        current = self._due.get(slot)
        if current is None or deadline < current:
            self._due[slot] = deadline
            self._count += 1  # tie-breaker: keys of mixed types do not compare
            heapq.heappush(self._heap, (deadline, self._count, rule, key))

    def pop_due(self, watermark: int) -> list[tuple[int, Any]]:
        """The (rule, key) slots whose deadline <= watermark, in deadline order."""
        heap = self._heap
        due = []
        while heap and heap[0][0] <= watermark:
            deadline, _, rule, key = heapq.heappop(heap)
            if self._due.get((rule, key)) == deadline:
                del self._due[(rule, key)]
                due.append((rule, key))
        return due

    def __len__(self) -> int:
        return len(self._due)
