"""A run with a store: commits matches, processed ids, engine state and
input position together, every N events or T seconds (exactly-once into the
store), and resumes from the last checkpoint."""

from __future__ import annotations

import gc
import time
from typing import TYPE_CHECKING, Any

from cepengine.runtime.state import FORMAT_VERSION, restore, snapshot
from cepengine.store.base import Checkpoint, MatchRecord, RunRecord, Store, match_record

if TYPE_CHECKING:
    from cepengine.runtime.engine import Engine

# A checkpoint snapshots every live key's state, so its cost follows the state
# size, not the interval: at these defaults it stays a small share of the run,
# and a crash replays at most this much input.
DEFAULT_CHECKPOINT_EVENTS = 500_000
DEFAULT_CHECKPOINT_SECONDS = 60.0


class DurableRun:
    """Drives checkpoints for one engine bound to one store run."""

    def __init__(
        self,
        engine: Engine,
        store: Store,
        run: RunRecord,
        every_events: int = DEFAULT_CHECKPOINT_EVENTS,
        every_seconds: float = DEFAULT_CHECKPOINT_SECONDS,
    ) -> None:
        if every_events <= 0 or every_seconds <= 0:
            raise ValueError("checkpoint intervals must be positive")
        self.engine = engine
        self.store = store
        self.run = run
        self.every_events = every_events
        self.every_seconds = every_seconds
        self.pending: list[MatchRecord] = []
        self.position: dict[str, Any] = {}
        self._since = 0
        self._last = time.monotonic()
        self.commits = 0
        engine.take_new_ids()  # what the engine already did is not this run's to store
        engine.on_match(None, lambda match: self.pending.append(match_record(match)))

    def load_dedup(self) -> None:
        """Processed ids the store already holds (this or earlier runs)."""
        for event_id, ts in self.store.load_event_ids():
            self.engine.remember_id(event_id, ts)
        self.engine.take_new_ids()

    def resume(self, force: bool = False) -> list[str]:
        """Restore the run's last checkpoint into the engine (which must be
        fresh). Returns rules whose state was dropped (force only)."""
        checkpoint = self.store.latest_checkpoint(self.run.id)
        skipped: list[str] = []
        if checkpoint is not None:
            skipped = restore(self.engine, checkpoint.state, force=force)
            self.position = dict(checkpoint.position)
        self.load_dedup()
        return skipped

    def due(self) -> bool:
        """Call after each input record: is a checkpoint due now? (The clock
        is read every 256 records only.)"""
        self._since += 1
        if self._since >= self.every_events:
            return True
        return not self._since & 255 and time.monotonic() - self._last >= self.every_seconds

    def after(self, position: dict[str, Any]) -> None:
        """Checkpoint at `position` if one is due."""
        if self.due():
            self.checkpoint(position)

    def checkpoint(self, position: dict[str, Any]) -> None:
        """One transaction: pending matches, new ids, pruning, state.

        The snapshot and the rows are many small acyclic containers, freed by
        reference counting; with the cyclic collector paused while they are
        built, they do not trigger full collections over the whole engine."""
        paused = gc.isenabled()
        gc.disable()
        try:
            self._checkpoint(position)
        finally:
            if paused:
                gc.enable()

    def _checkpoint(self, position: dict[str, Any]) -> None:
        engine = self.engine
        self.position = dict(position)
        state = snapshot(engine, include_dedup=False)
        checkpoint = Checkpoint(self.run.id, state, self.position, _clamp(engine.watermark), FORMAT_VERSION)
        horizon = engine.dedup_horizon
        known = horizon > -(1 << 61)
        # Ids already past the pruning horizon would be deleted in the same
        # transaction: they are not written at all.
        new_ids = [(i, ts) for i, ts in engine.take_new_ids() if ts >= horizon] if known else engine.take_new_ids()
        self.store.commit(self.run.id, self.pending, new_ids, horizon if known else None, checkpoint)
        self.pending.clear()
        self._since = 0
        self._last = time.monotonic()
        self.commits += 1

    def finish(self, position: dict[str, Any]) -> None:
        self.checkpoint(position)
        self.store.finish_run(self.run.id)


def _clamp(watermark: int) -> int | None:
    """Database BIGINT range: the +/- infinity markers become None."""
    if abs(watermark) >= (1 << 61):
        return None
    return watermark

