"""Real databases for store tests: a SQLite file per test, and a fresh
PostgreSQL database per test on the server of $CEPENGINE_PG_URL (started by
.ci/postgres.sh; outside CI the fixture tries to start one itself and skips,
saying why, only if that fails)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]


def _server_url() -> str | None:
    url = os.environ.get("CEPENGINE_PG_URL")
    if url:
        return url
    try:
        out = subprocess.run(
            ["bash", str(ROOT / ".ci" / "postgres.sh")], capture_output=True, text=True, timeout=300, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL server: CEPENGINE_PG_URL is unset and .ci/postgres.sh failed ({exc})")
    url = out.strip().split("=", 1)[1]
    os.environ["CEPENGINE_PG_URL"] = url
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def pg_databases() -> Iterator[Callable[[], str]]:
    """A factory of fresh PostgreSQL databases, dropped after the test."""
    server = _server_url()
    assert server is not None
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    created: list[str] = []

    def make() -> str:
        name = f"cep_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(server).set(database=name).render_as_string(hide_password=False)

    try:
        yield make
    finally:
        with admin.connect() as connection:
            for name in created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_url(pg_databases: Callable[[], str]) -> str:
    return pg_databases()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str:
    """Each store test runs on both databases."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))
