"""Crash recovery for real: the CLI as a subprocess over 100,000 events with
duplicates and disorder, SIGKILLed at random points and resumed each time,
must leave exactly the matches of an uninterrupted run in the store, with no
duplicates and a bounded dedup table. On SQLite and on PostgreSQL.

The seed is printed; replay a failure with CEPENGINE_CRASH_SEED=<seed>.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from store_fixtures import pg_databases  # noqa: F401 - fixture
from test_store import RULES, make_stream

from cepengine.store.sql import SqlStore

EVENTS = 100_000
MAX_KILLS = 4


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "cepengine", *args]


def _write_inputs(tmp_path: Path, seed: int) -> tuple[Path, Path]:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "crash.cep").write_text(RULES)
    events = tmp_path / "events.jsonl"
    with events.open("wb") as handle:
        for event in make_stream(seed, EVENTS, disorder=2, duplicates=0.03):
            handle.write(orjson.dumps(event) + b"\n")
    return rules, events


def _store_state(url: str) -> str:
    """'running' (resume it), 'finished', or 'none' (killed before starting)."""
    with SqlStore(url) as store:
        if store.last_interrupted_run() is not None:
            return "running"
        return "finished" if store.counts()["cep_runs"] else "none"


def _crash_and_resume(url: str, rules: Path, events: Path, rng: random.Random) -> int:
    run = _cli("run", str(rules), str(events), "--store", url, "--max-delay", "2s", "--checkpoint-every", "3000")
    command = run
    kills = 0
    while True:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        delay = rng.uniform(0.4, 1.6) if kills < MAX_KILLS else None
        try:
            _, stderr = proc.communicate(timeout=delay)
            assert proc.returncode == 0, stderr.decode()
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            kills += 1
        state = _store_state(url)
        if state == "finished" and proc.returncode == 0:
            return kills
        command = run if state == "none" else _cli("resume", "--store", url)


def _check(url: str, expected: list[str]) -> None:
    with SqlStore(url) as store:
        stored = [m.match_id for m in store.matches()]
        counts = store.counts()
    assert len(stored) == len(set(stored)), "a match was stored twice"
    assert sorted(stored) == expected
    # Retention: lateness + the longest WITHIN / window (40 s) behind the
    # watermark, at 2 events per second of event time, plus duplicates.
    assert counts["cep_event_ids"] <= 150, counts


def _crash_test(tmp_path: Path, make_url: Callable[[], str]) -> None:
    seed = int(os.environ.get("CEPENGINE_CRASH_SEED") or random.randrange(1 << 30))
    print(f"crash test seed: {seed} (replay with CEPENGINE_CRASH_SEED={seed})")
    rng = random.Random(seed)
    rules, events = _write_inputs(tmp_path, seed)

    baseline = make_url()
    started = time.monotonic()
    subprocess.run(
        _cli("run", str(rules), str(events), "--store", baseline, "--max-delay", "2s"),
        stdout=subprocess.DEVNULL,
        check=True,
    )
    print(f"uninterrupted run: {time.monotonic() - started:.1f} s")
    with SqlStore(baseline) as store:
        expected = sorted(m.match_id for m in store.matches())
    assert len(expected) > 1000

    crashed = make_url()
    kills = _crash_and_resume(crashed, rules, events, rng)
    print(f"killed {kills} times")
    assert kills >= 1
    _check(crashed, expected)


@pytest.mark.slow
def test_crash_recovery_sqlite(tmp_path: Path) -> None:
    names = iter(range(100))
    _crash_test(tmp_path, lambda: f"sqlite:///{tmp_path / f'store{next(names)}.db'}")


@pytest.mark.slow
@pytest.mark.postgres
def test_crash_recovery_postgresql(tmp_path: Path, pg_databases: Callable[[], str]) -> None:
    _crash_test(tmp_path, pg_databases)
