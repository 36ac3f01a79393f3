"""The SQLAlchemy store on real SQLite files and a real PostgreSQL server:
schema, exactly-once commits, checkpoint round trips, and refusals."""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from store_fixtures import pg_databases, pg_url, sqlite_url, store_url  # noqa: F401 - fixtures

from cepengine import Engine, StoreError
from cepengine.runtime.state import FORMAT_VERSION
from cepengine.store.base import match_record
from cepengine.store.sql import SqlStore

RULES = """
RULE fraud
  PATTERN SEQ(login AS l, transfer[amount > 100] AS t, logout) WITHIN 30s
  BY user
  EMIT user, amount = t.amount
RULE unpaid PATTERN SEQ(order, NOT payment) WITHIN 20s BY user
RULE rising PATTERN SEQ(transfer AS base, transfer[amount > prev.amount]{2,} AS up, logout) WITHIN 40s BY user
RULE busy FROM transfer WINDOW SLIDING 20s EVERY 10s BY user HAVING count() >= 2
  EMIT user, n = count(), total = sum(amount)
RULE quiet FROM login WINDOW SESSION GAP 15s BY user EMIT user, n = count_distinct(ip)
"""
TYPES = ["login", "transfer", "logout", "order", "payment"]


def make_stream(seed: int, n: int, disorder: int = 2, duplicates: float = 0.05) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    for i in range(n):
        event = {
            "id": f"e{i}",
            "type": rng.choice(TYPES),
            "ts": 1_000 + i // 2 + rng.randint(-disorder, 0),
            "user": rng.choice(["ann", "bob", "cy"]),
            "amount": rng.choice([5, 50, 150, 300, 900]),
            "ip": rng.choice(["10.0.0.1", "10.0.0.2"]),
        }
        events.append(event)
        if rng.random() < duplicates:
            events.append(dict(event))
    return events


def run_all(events: list[dict[str, Any]], **options: Any) -> list[str]:
    engine = Engine.from_text(RULES, max_delay="2s", **options)
    return [m.match_id for m in engine.process(events)] + [m.match_id for m in engine.close()]


def stored_ids(url: str) -> list[str]:
    with SqlStore(url) as store:
        return sorted(m.match_id for m in store.matches())


def finish_interrupted(url: str) -> None:
    with SqlStore(url) as store:
        run = store.last_interrupted_run()
        if run is not None:
            store.finish_run(run.id)


def test_schema_is_created_and_versioned(store_url: str) -> None:
    with SqlStore(store_url) as store:
        counts = store.counts()
    assert counts == {"cep_runs": 0, "cep_matches": 0, "cep_event_ids": 0, "cep_checkpoints": 0}
    assert _scalar(store_url, "select version_num from alembic_version") == "0001"
    SqlStore(store_url).close()  # opening again is an upgrade to the same head: no error


def _scalar(url: str, query: str) -> Any:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(query)).scalar()
    finally:
        engine.dispose()


def test_engine_with_store_commits_matches_exactly_once(store_url: str) -> None:
    events = make_stream(1, 400)
    expected = run_all(events)
    engine = Engine.from_text(RULES, max_delay="2s", store=store_url, checkpoint_every=50)
    found = [m.match_id for m in engine.process(events)] + [m.match_id for m in engine.close()]
    assert found == expected
    assert stored_ids(store_url) == sorted(set(expected))
    # The same matches committed again (a replay) are not stored twice.
    again = Engine.from_text(RULES, max_delay="2s")
    replayed = list(again.process(events)) + again.close()
    with SqlStore(store_url) as store:
        store.commit(1, [match_record(m) for m in replayed], [], None, None)
    assert stored_ids(store_url) == sorted(set(expected))


@pytest.mark.parametrize("cut", [0, 1, 333, 10**6])
def test_checkpoint_restore_continue_equals_uninterrupted(store_url: str, cut: int) -> None:
    events = make_stream(7, 600)
    _checkpoint_and_resume(store_url, events, min(cut, len(events)), run_all(events))


def _checkpoint_and_resume(url: str, events: list[dict[str, Any]], cut: int, expected: list[str]) -> None:
    first = Engine.from_text(RULES, max_delay="2s", store=url, checkpoint_every=10**9)
    before = [m.match_id for m in first.process(events[:cut])]
    first.checkpoint()
    first.session.store.close()  # "crash": abandoned without close()
    second = Engine.restore(store=url)
    assert second.resume_position == {"events": cut}
    after = [m.match_id for m in second.process(events[cut:])] + [m.match_id for m in second.close()]
    assert before + after == expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), n=st.integers(0, 150), cut_fraction=st.floats(0, 1))
def test_round_trip_property(tmp_path: Path, seed: int, n: int, cut_fraction: float) -> None:
    events = make_stream(seed, n)
    expected = run_all(events)
    cut = int(len(events) * cut_fraction)
    url = f"sqlite:///{tmp_path / uuid.uuid4().hex}.db"  # a fresh store per example
    _checkpoint_and_resume(url, events, cut, expected)


def test_dedup_table_is_pruned_by_event_time(store_url: str) -> None:
    events = make_stream(3, 3000, duplicates=0.0)
    engine = Engine.from_text(RULES, max_delay="2s", store=store_url, checkpoint_every=100)
    list(engine.process(events))
    engine.checkpoint()
    engine.session.store.close()
    with SqlStore(store_url) as store:
        kept = store.counts()["cep_event_ids"]
    # Retention is lateness + the longest WITHIN/window (40 s) behind the
    # watermark: about 2 events per second of event time here.
    assert 0 < kept <= 2 * (40 + 2 + 1) + 10
    assert kept < len(events) / 10


def test_new_run_on_the_same_store_deduplicates(store_url: str) -> None:
    events = make_stream(5, 200, duplicates=0.0)
    first = Engine.from_text(RULES, max_delay="2s", store=store_url)
    list(first.process(events))
    first.close()
    second = Engine.from_text(RULES, max_delay="2s", store=store_url)
    tail = events[-20:]
    assert list(second.process(tail)) == []
    assert second.metrics()["deduped"] == len(tail)
    second.close()


def _interrupted_with_checkpoint(url: str) -> None:
    engine = Engine.from_text(RULES, max_delay="2s", store=url, checkpoint_every=10**9)
    list(engine.process(make_stream(2, 100)))
    engine.checkpoint()
    engine.session.store.close()


def _execute(url: str, query: str, **params: Any) -> Any:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(query), params)
            return result.first() if result.returns_rows else None
    finally:
        engine.dispose()


def test_corrupt_checkpoint_is_refused(store_url: str) -> None:
    _interrupted_with_checkpoint(store_url)
    row = _execute(store_url, "select id, state from cep_checkpoints order by id desc")
    damaged = bytes(row.state[:-8]) + b"\x00" * 8
    _execute(store_url, "update cep_checkpoints set state = :s where id = :i", s=damaged, i=row.id)
    with pytest.raises(StoreError, match="corrupt"):
        Engine.restore(store=store_url)


def test_truncated_checkpoint_is_refused(store_url: str) -> None:
    _interrupted_with_checkpoint(store_url)
    row = _execute(store_url, "select id, state from cep_checkpoints order by id desc")
    _execute(store_url, "update cep_checkpoints set state = :s where id = :i", s=bytes(row.state[:20]), i=row.id)
    with pytest.raises(StoreError, match="corrupt"):
        Engine.restore(store=store_url)


def test_checkpoint_of_another_format_version_is_refused(sqlite_url: str) -> None:
    import hashlib
    import zlib

    _interrupted_with_checkpoint(sqlite_url)
    state = orjson.dumps({"format": FORMAT_VERSION + 1})
    blob = zlib.compress(state)
    checksum = hashlib.blake2b(blob, digest_size=32).hexdigest()
    _execute(sqlite_url, "update cep_checkpoints set state = :s, checksum = :c", s=blob, c=checksum)
    with pytest.raises(StoreError, match=f"format {FORMAT_VERSION + 1} is not supported"):
        Engine.restore(store=sqlite_url)


def test_restore_with_other_rules_is_refused_unless_forced(sqlite_url: str) -> None:
    from cepengine.runtime.state import restore, snapshot

    engine = Engine.from_text(RULES, max_delay="2s")
    list(engine.process(make_stream(4, 100)))
    data = snapshot(engine)
    changed = Engine.from_text(RULES.replace("amount > 100", "amount > 101"), max_delay="2s")
    with pytest.raises(StoreError, match="different rules"):
        restore(changed, data)
    assert restore(changed, data, force=True) == ["fraud"]


def test_unreachable_database_fails_with_a_clear_error() -> None:
    with pytest.raises(StoreError, match=r"could not create or upgrade the schema"):
        SqlStore("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1", retries=2, backoff_s=0.01)


def test_locked_sqlite_is_retried(sqlite_url: str) -> None:
    import threading
    import time

    store = SqlStore(sqlite_url, retries=6, backoff_s=0.2)
    run = store.begin_run("fp", {}, [], {})
    store.engine.dispose()
    blocker = create_engine(sqlite_url, connect_args={"timeout": 0})
    connection = blocker.raw_connection()
    cursor = connection.cursor()
    cursor.execute("BEGIN EXCLUSIVE")

    def release() -> None:
        time.sleep(2.5)
        connection.rollback()
        connection.close()

    thread = threading.Thread(target=release)
    thread.start()
    store.commit(run.id, [], [("x", 1)], None, None)  # waits out the lock, then commits
    thread.join()
    assert store.counts()["cep_event_ids"] == 1
    store.close()
    blocker.dispose()


def test_schema_head_constant_names_the_newest_migration() -> None:
    import re

    from cepengine.store import sql

    versions = Path(sql.__file__).parent / "migrations" / "versions"
    revisions = {}
    for script in versions.glob("*.py"):
        found = re.search(r'^revision = "(\w+)"', script.read_text(), re.M)
        down = re.search(r"^down_revision = (.+)$", script.read_text(), re.M)
        if found and down:
            revisions[found.group(1)] = down.group(1).strip().strip("\"'")
    heads = set(revisions) - set(revisions.values())
    assert heads == {sql.SCHEMA_HEAD}
