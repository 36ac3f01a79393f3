"""What the engine needs from a store, independent of SQLAlchemy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

import attrs
import orjson

from cepengine.events import Match

DEFAULT_URL = "sqlite:///cepengine.db"


@attrs.frozen(slots=True)
class RunRecord:
    """One `cepengine run` (or one embedded Engine with a store)."""

    id: int
    status: str
    rules_fingerprint: str
    rules: dict[str, str]  # path -> rule file text, as loaded
    inputs: list[str]
    options: dict[str, Any]
    started_at: float


@attrs.frozen(slots=True)
class Checkpoint:
    """A consistent cut: the engine state after the input up to `position`."""

    run_id: int
    state: dict[str, Any]
    position: dict[str, int]
    watermark: int | None
    format_version: int
    created_at: float = 0.0


class MatchRecord(NamedTuple):
    """A match as the store keeps it, made as soon as the match is found:
    strings and numbers only, so matches waiting for the next commit are not
    objects the garbage collector has to walk."""

    match_id: str
    rule: str
    key_json: str
    start_ms: int
    end_ms: int
    match_json: str


def match_record(match: Match) -> MatchRecord:
    return MatchRecord(
        match.match_id,
        match.rule,
        orjson.dumps(match.key, option=orjson.OPT_SORT_KEYS).decode(),
        match.start_ms,
        match.end_ms,
        orjson.dumps(match.to_dict()).decode(),
    )


@attrs.frozen(slots=True)
class StoredMatch:
    match_id: str
    rule: str
    key: dict[str, Any]
    start_ms: int
    end_ms: int
    match: dict[str, Any]


class Store(Protocol):
    def begin_run(
        self, fingerprint: str, rules: dict[str, str], inputs: list[str], options: dict[str, Any]
    ) -> RunRecord: ...

    def last_interrupted_run(self) -> RunRecord | None: ...

    def finish_run(self, run_id: int) -> None: ...

    def commit(
        self,
        run_id: int,
        matches: Sequence[MatchRecord],
        new_ids: Sequence[tuple[str, int]],
        prune_before: int | None,
        checkpoint: Checkpoint | None,
    ) -> None: ...

    def latest_checkpoint(self, run_id: int) -> Checkpoint | None: ...

    def load_event_ids(self) -> list[tuple[str, int]]: ...

    def existing_match_ids(self, match_ids: Sequence[str]) -> set[str]: ...

    def matches(
        self, rule: str | None = None, key: str | None = None, since_ms: int | None = None
    ) -> list[StoredMatch]: ...

    def counts(self) -> dict[str, int]: ...

    def close(self) -> None: ...
