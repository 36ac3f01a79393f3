"""Event time: the reorder buffer that releases events in time order behind
a watermark (the engine pops `heap` directly on its hot path).

The watermark is max event time seen − max_delay (bounded out-of-orderness).
A rule with allowed lateness L runs behind watermark − L: it sees its events
in (time, arrival) order up to there.
"""

from __future__ import annotations

import heapq

from cepengine.events import Event

FOREVER = 1 << 62  # the watermark at end of input


class ReorderBuffer:
    """Holds events until the watermark passes them, then releases them in
    (time, arrival) order."""

    __slots__ = ("arrivals", "heap")

    def __init__(self) -> None:
        self.heap: list[tuple[int, int, Event]] = []
        self.arrivals = 0

    def __len__(self) -> int:
        return len(self.heap)

    def add(self, event: Event) -> None:
        self.arrivals += 1
        heapq.heappush(self.heap, (event.ts_ms, self.arrivals, event))

    def release(self, watermark: int) -> list[Event]:
        """Every held event with ts <= watermark, oldest first."""
        heap = self.heap
        out = []
        while heap and heap[0][0] <= watermark:
            out.append(heapq.heappop(heap)[2])
        return out

    def events(self) -> list[Event]:
        """The held events in release order (for checkpoints)."""
        return [entry[2] for entry in sorted(self.heap, key=lambda e: (e[0], e[1]))]
