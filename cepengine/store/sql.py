"""The SQLAlchemy store: the only module that talks to a database.

Default: a SQLite file (`sqlite:///cepengine.db`, WAL mode); any SQLAlchemy
URL works, PostgreSQL (psycopg 3) is tested. The schema is created or
upgraded by the Alembic scripts in `migrations/` on first use.

Everything a checkpoint needs is committed in one transaction: the matches
found since the last one (insert-or-ignore on the unique match_id, so a
replay never stores a match twice), the newly processed event ids, the
pruning of ids too old to matter, and the checkpoint row (engine state,
input position, watermark, format version, checksum).
"""

from __future__ import annotations

import hashlib
import logging
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine as SqlEngine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError, SQLAlchemyError

from cepengine.errors import StoreError, UsageError
from cepengine.store.base import DEFAULT_URL, Checkpoint, MatchRecord, RunRecord, StoredMatch

log = logging.getLogger(__name__)

KEEP_CHECKPOINTS = 2
T = TypeVar("T")

metadata = MetaData()

runs = Table(
    "cep_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("status", String(16), nullable=False),
    Column("rules_fingerprint", String(64), nullable=False),
    Column("rules_json", Text, nullable=False),
    Column("inputs_json", Text, nullable=False),
    Column("options_json", Text, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float),
)

matches = Table(
    "cep_matches",
    metadata,
    Column("match_id", String(64), primary_key=True),
    Column("run_id", Integer, nullable=False),
    Column("rule", String(255), nullable=False),
    Column("key_json", Text, nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("end_ms", BigInteger, nullable=False),
    Column("match_json", Text, nullable=False),
    Column("stored_at", Float, nullable=False),
    Index("ix_cep_matches_rule_start", "rule", "start_ms"),
)

event_ids = Table(
    "cep_event_ids",
    metadata,
    Column("event_id", String(255), primary_key=True),
    Column("ts_ms", BigInteger, nullable=False, index=True),
)

checkpoints = Table(
    "cep_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, nullable=False, index=True),
    Column("created_at", Float, nullable=False),
    Column("format_version", Integer, nullable=False),
    Column("watermark", BigInteger),
    Column("position_json", Text, nullable=False),
    Column("state", LargeBinary, nullable=False),
    Column("checksum", String(64), nullable=False),
)


# Alembic's bookkeeping table, read to skip migrations when already at head.
alembic_version = Table("alembic_version", MetaData(), Column("version_num", String(32), primary_key=True))
SCHEMA_HEAD = "0001"  # the newest revision in migrations/versions


def _on_sqlite_connect(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable against a process crash
    cursor.execute("PRAGMA busy_timeout=2000")
    cursor.close()


def _transient(exc: BaseException) -> bool:
    """Worth retrying: the database is unreachable, restarting or locked."""
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class SqlStore:
    """A Store on SQLAlchemy 2.x Core."""

    def __init__(self, url: str = DEFAULT_URL, retries: int = 5, backoff_s: float = 0.2) -> None:
        self.url = url
        self.retries = retries
        self.backoff_s = backoff_s
        try:
            parsed = make_url(url)
            self.dialect = parsed.get_backend_name()
            kwargs: dict[str, Any] = {"future": True}
            if self.dialect != "sqlite":
                kwargs["pool_pre_ping"] = True
            self.engine: SqlEngine = create_engine(url, **kwargs)
        except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as exc:
            raise UsageError(f"bad store URL {url!r}: {exc}") from exc
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _on_sqlite_connect)
        self._retry(self._migrate, "create or upgrade the schema")

    # -- plumbing ------------------------------------------------------------------

    def _retry(self, action: Callable[[], T], what: str) -> T:
        delay = self.backoff_s
        for attempt in range(1, self.retries + 1):
            try:
                return action()
            except SQLAlchemyError as exc:
                if not _transient(exc) or attempt == self.retries:
                    raise StoreError(f"store {self._safe_url()}: could not {what}: {_reason(exc)}") from exc
                log.warning("store %s: %s failed (attempt %d): %s", self._safe_url(), what, attempt, _reason(exc))
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def _safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            yield connection

    def _migrate(self) -> None:
        if self._schema_is_current():
            return  # the usual case: skip importing Alembic at all
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        with self._tx() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def _schema_is_current(self) -> bool:
        try:
            with self._tx() as connection:
                version = connection.execute(select(alembic_version.c.version_num)).scalar()
        except (OperationalError, DBAPIError) as exc:
            if _transient(exc) and "alembic_version" not in str(exc):
                raise
            return False  # no such table yet
        return version == SCHEMA_HEAD

    def _insert_ignore(self, table: Table) -> Any:
        if self.dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(table).on_conflict_do_nothing()
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table).on_conflict_do_nothing()
        return None

    def _insert_ids(self, connection: Connection, rows: Sequence[tuple[str, int]]) -> None:
        """Processed ids, many per commit: straight to the driver's
        executemany (SQLAlchemy's per-row parameter handling would dominate)."""
        if not rows:
            return
        if self.dialect == "sqlite":
            connection.exec_driver_sql("INSERT OR IGNORE INTO cep_event_ids (event_id, ts_ms) VALUES (?, ?)", rows)
        elif self.dialect == "postgresql":
            connection.exec_driver_sql(
                "INSERT INTO cep_event_ids (event_id, ts_ms) VALUES (%s, %s) ON CONFLICT DO NOTHING", list(rows)
            )
        else:
            self._insert_rows(connection, event_ids, [{"event_id": i, "ts_ms": t} for i, t in rows], "event_id")

    def _insert_matches(self, connection: Connection, rows: list[dict[str, Any]]) -> None:
        if not rows or self.dialect not in ("sqlite", "postgresql"):
            self._insert_rows(connection, matches, rows, "match_id")
            return
        names = list(rows[0])
        if self.dialect == "sqlite":
            marks = ", ".join("?" for _ in names)
            sql = f"INSERT OR IGNORE INTO cep_matches ({', '.join(names)}) VALUES ({marks})"
        else:
            marks = ", ".join("%s" for _ in names)
            sql = f"INSERT INTO cep_matches ({', '.join(names)}) VALUES ({marks}) ON CONFLICT DO NOTHING"
        connection.exec_driver_sql(sql, [tuple(row[name] for name in names) for row in rows])

    def _insert_rows(self, connection: Connection, table: Table, rows: list[dict[str, Any]], key: str) -> None:
        if not rows:
            return
        statement = self._insert_ignore(table)
        if statement is not None:
            connection.execute(statement, rows)
            return
        # Other databases: skip the rows already there, then insert the rest.
        column = table.c[key]
        present = set(connection.scalars(select(column).where(column.in_([r[key] for r in rows]))))
        fresh = [r for r in rows if r[key] not in present]
        if fresh:
            connection.execute(insert(table), fresh)

    # -- runs ------------------------------------------------------------------------

    def begin_run(
        self, fingerprint: str, rules: dict[str, str], inputs: list[str], options: dict[str, Any]
    ) -> RunRecord:
        started = time.time()
        row = {
            "status": "running",
            "rules_fingerprint": fingerprint,
            "rules_json": orjson.dumps(rules).decode(),
            "inputs_json": orjson.dumps(inputs).decode(),
            "options_json": orjson.dumps(options).decode(),
            "started_at": started,
        }

        def action() -> int:
            with self._tx() as connection:
                key = connection.execute(insert(runs).values(**row)).inserted_primary_key
                assert key is not None
                return int(key[0])

        run_id = self._retry(action, "start a run")
        return RunRecord(run_id, "running", fingerprint, rules, inputs, options, started)

    def last_interrupted_run(self) -> RunRecord | None:
        def action() -> Any:
            with self._tx() as connection:
                query = select(runs).where(runs.c.status == "running").order_by(runs.c.id.desc()).limit(1)
                return connection.execute(query).first()

        row = self._retry(action, "find the last run")
        if row is None:
            return None
        return RunRecord(
            id=row.id,
            status=row.status,
            rules_fingerprint=row.rules_fingerprint,
            rules=orjson.loads(row.rules_json),
            inputs=orjson.loads(row.inputs_json),
            options=orjson.loads(row.options_json),
            started_at=row.started_at,
        )

    def finish_run(self, run_id: int) -> None:
        def action() -> None:
            with self._tx() as connection:
                connection.execute(
                    update(runs).where(runs.c.id == run_id).values(status="finished", finished_at=time.time())
                )

        self._retry(action, "finish the run")

    # -- commits ---------------------------------------------------------------------

    def commit(
        self,
        run_id: int,
        found: Sequence[MatchRecord],
        new_ids: Sequence[tuple[str, int]],
        prune_before: int | None,
        checkpoint: Checkpoint | None,
    ) -> None:
        now = time.time()
        match_rows = [{**record._asdict(), "run_id": run_id, "stored_at": now} for record in found]
        checkpoint_row = _checkpoint_row(checkpoint, now) if checkpoint is not None else None

        def action() -> None:
            with self._tx() as connection:
                self._insert_matches(connection, match_rows)
                self._insert_ids(connection, new_ids)
                if prune_before is not None:
                    connection.execute(delete(event_ids).where(event_ids.c.ts_ms < prune_before))
                if checkpoint_row is not None:
                    connection.execute(insert(checkpoints).values(**checkpoint_row))
                    keep = (
                        select(checkpoints.c.id)
                        .where(checkpoints.c.run_id == run_id)
                        .order_by(checkpoints.c.id.desc())
                        .limit(KEEP_CHECKPOINTS)
                    )
                    connection.execute(
                        delete(checkpoints).where(
                            checkpoints.c.run_id == run_id, checkpoints.c.id.not_in(keep.scalar_subquery())
                        )
                    )

        self._retry(action, "commit")

    def latest_checkpoint(self, run_id: int) -> Checkpoint | None:
        def action() -> Any:
            with self._tx() as connection:
                query = (
                    select(checkpoints).where(checkpoints.c.run_id == run_id).order_by(checkpoints.c.id.desc()).limit(1)
                )
                return connection.execute(query).first()

        row = self._retry(action, "read the checkpoint")
        if row is None:
            return None
        state_bytes = bytes(row.state)
        if hashlib.blake2b(state_bytes, digest_size=32).hexdigest() != row.checksum:
            raise StoreError(
                f"checkpoint {row.id} of run {run_id} is corrupt (checksum mismatch); refusing to resume from it"
            )
        try:
            state = orjson.loads(zlib.decompress(state_bytes))
            position = orjson.loads(row.position_json)
        except (zlib.error, orjson.JSONDecodeError) as exc:
            raise StoreError(f"checkpoint {row.id} of run {run_id} cannot be decoded: {exc}") from exc
        return Checkpoint(run_id, state, position, row.watermark, row.format_version, row.created_at)

    # -- reads -----------------------------------------------------------------------

    def load_event_ids(self) -> list[tuple[str, int]]:
        def action() -> list[tuple[str, int]]:
            with self._tx() as connection:
                rows = connection.execute(select(event_ids.c.event_id, event_ids.c.ts_ms).order_by(event_ids.c.ts_ms))
                return [(r.event_id, r.ts_ms) for r in rows]

        return self._retry(action, "load processed event ids")

    def existing_match_ids(self, match_ids: Sequence[str]) -> set[str]:
        if not match_ids:
            return set()

        def action() -> set[str]:
            with self._tx() as connection:
                query = select(matches.c.match_id).where(matches.c.match_id.in_(list(match_ids)))
                return set(connection.scalars(query))

        return self._retry(action, "look up matches")

    def matches(
        self, rule: str | None = None, key: str | None = None, since_ms: int | None = None
    ) -> list[StoredMatch]:
        query = select(matches).order_by(matches.c.start_ms, matches.c.rule, matches.c.match_id)
        if rule is not None:
            query = query.where(matches.c.rule == rule)
        if since_ms is not None:
            query = query.where(matches.c.start_ms >= since_ms)

        def action() -> list[Any]:
            with self._tx() as connection:
                return list(connection.execute(query))

        found = []
        for row in self._retry(action, "list matches"):
            key_values = orjson.loads(row.key_json)
            if key is not None and key not in {str(v) for v in key_values.values()}:
                continue
            found.append(
                StoredMatch(row.match_id, row.rule, key_values, row.start_ms, row.end_ms, orjson.loads(row.match_json))
            )
        return found

    def counts(self) -> dict[str, int]:
        def action() -> dict[str, int]:
            with self._tx() as connection:
                return {
                    table.name: int(connection.scalar(select(func.count()).select_from(table)) or 0)
                    for table in (runs, matches, event_ids, checkpoints)
                }

        return self._retry(action, "count rows")

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _checkpoint_row(checkpoint: Checkpoint, now: float) -> dict[str, Any]:
    state_bytes = zlib.compress(orjson.dumps(checkpoint.state), 1)
    return {
        "run_id": checkpoint.run_id,
        "created_at": now,
        "format_version": checkpoint.format_version,
        "watermark": checkpoint.watermark,
        "position_json": orjson.dumps(checkpoint.position).decode(),
        "state": state_bytes,
        "checksum": hashlib.blake2b(state_bytes, digest_size=32).hexdigest(),
    }


def _reason(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None)
    return str(original or exc).strip().splitlines()[0]
