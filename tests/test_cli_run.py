"""`cepengine run` as real subprocesses (SPEC sections 7 and 9).

Every run passes --no-store: these tests are about input, output and exit
status, and a shared default store would (rightly) print nothing new on
the second run over the same input.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
B = 1_700_000_400  # 2023-11-14T22:20:00Z

RULES = """
RULE pair
  SEVERITY high
  TAGS payments
  PATTERN SEQ(login AS l, mfa? AS m, transfer[amount > 100] AS t) WITHIN 1m
  BY user
  EMIT user, amount = t.amount

RULE either
  PATTERN SEQ(start AS s, OR(ok AS good, fail AS bad)) WITHIN 1m
  BY user
  EMIT user

RULE per_user
  FROM transfer
  WINDOW TUMBLING 1m
  BY user
  EMIT user, n = count(), total = sum(amount)
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("NO_COLOR", None)
    return env


def _argv(args: tuple[str, ...]) -> list[str]:
    argv = [sys.executable, "-m", "cepengine", *args]
    if args and args[0] == "run":
        argv.append("--no-store")
    return argv


class Batch:
    """Runs many `cepengine` subprocesses at once (they are independent and
    each spends most of its time importing), then hands out the results."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.wanted: dict[str, tuple[tuple[str, ...], bytes | None]] = {}
        self.results: dict[str, subprocess.CompletedProcess[bytes]] = {}

    def add(self, name: str, *args: str, stdin: bytes | None = None) -> None:
        self.wanted[name] = (args, stdin)

    def run_all(self) -> None:
        env = _env()
        pending = list(self.wanted.items())
        running: list[tuple[str, tuple[str, ...], subprocess.Popen[bytes], Any]] = []
        limit = max(2, (os.cpu_count() or 2) * 2)
        while pending or running:
            while pending and len(running) < limit:
                name, (args, stdin) = pending.pop(0)
                proc = subprocess.Popen(
                    _argv(args),
                    cwd=self.cwd,
                    env=env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
                running.append((name, args, proc, stdin))
            name, args, proc, stdin = running.pop(0)
            out, err = proc.communicate(stdin, timeout=120)
            self.results[name] = subprocess.CompletedProcess(_argv(args), proc.returncode, out, err)

    def __getitem__(self, name: str) -> subprocess.CompletedProcess[bytes]:
        return self.results[name]


def write_events(path: Path, events: list[Any]) -> Path:
    lines = [e if isinstance(e, str) else json.dumps(e) for e in events]
    path.write_text("\n".join(lines) + "\n")
    return path


def match_lines(stdout: bytes) -> list[dict[str, Any]]:
    """Every stdout line must be one JSON object with `rule` first."""
    out = []
    for line in stdout.decode().splitlines():
        assert line.startswith('{"rule":'), line
        data = json.loads(line)
        assert isinstance(data, dict)
        out.append(data)
    return out


def summary_count(stderr: bytes, what: str) -> int:
    found = re.search(rf"([\d,]+) {what}", stderr.decode())
    assert found, stderr.decode()
    return int(found.group(1).replace(",", ""))


STREAM = [
    {"type": "login", "ts": B + 1, "user": "u1", "ip": "1.1.1.1"},
    {"type": "transfer", "ts": B + 2, "user": "u1", "amount": 500},  # pair: l, t (no mfa)
    {"type": "start", "ts": "2023-11-14T22:20:03Z", "user": "u2"},
    {"type": "fail", "ts": B + 4, "user": "u2"},  # either: s, bad (good not taken)
    {"type": "login", "ts": B + 10, "user": "u1"},
    {"type": "mfa", "ts": B + 11, "user": "u1"},
    {"type": "transfer", "ts": B + 12, "user": "u1", "amount": 50},  # fails amount > 100: skipped
    {"type": "transfer", "ts": B + 13, "user": "u1", "amount": 1000},  # pair: l, m, t
]

BAD_LINES: list[Any] = [
    {"type": "login", "ts": B + 1, "user": "u1"},  # 1
    "not json",  # 2
    "[1, 2]",  # 3: not an object
    {"type": "transfer", "user": "u1", "amount": 500},  # 4: no time
    {"type": "transfer", "ts": "not a time", "user": "u1", "amount": 500},  # 5
    "",  # 6: blank, skipped
    {"type": "transfer", "ts": True, "user": "u1", "amount": 500},  # 7: bool time
    '{"type": "transfer", "ts": ',  # 8: truncated JSON
    {"type": "transfer", "ts": B + 2, "user": "u1", "amount": 500},  # 9
]

OUT_OF_ORDER = [
    {"type": "transfer", "ts": B + 6, "user": "u1", "amount": 500},
    {"type": "login", "ts": B + 5, "user": "u1"},  # 1 s older than the transfer
    {"type": "transfer", "ts": B + 30, "user": "u9", "amount": 1},
]

IN_MS = [
    {"type": "login", "ts": (B + 1) * 1000 + 250, "user": "u1"},
    {"type": "transfer", "ts": (B + 2) * 1000 + 5, "user": "u1", "amount": 500},
]

CUSTOM_FIELDS = [
    {"kind": "login", "at": "2023-11-14T22:20:01Z", "user": "u1", "eid": "e1"},
    {"kind": "login", "at": "2023-11-14T22:20:01Z", "user": "u1", "eid": "e1", "x": 1},  # duplicate eid
    {"kind": "transfer", "at": B + 2, "user": "u1", "amount": 500, "eid": "e2"},
]

BAD_OPTIONS = {
    "late_choice": ["--late", "bogus"],
    "max_delay": ["--max-delay", "soon"],
    "late_output_alone": ["--late-output", "late-alone.jsonl"],  # needs --late output
}


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    cwd = tmp_path_factory.mktemp("cli_run")
    (cwd / "rules.cep").write_text(RULES)
    (cwd / "bad.cep").write_text("RULE broken\n  PATTERN SEQ(a, b WITHIN 5m\n")
    events = write_events(cwd / "events.jsonl", STREAM)
    write_events(cwd / "one.jsonl", STREAM[:4])
    write_events(cwd / "two.jsonl", STREAM[4:])
    write_events(cwd / "bad_lines.jsonl", BAD_LINES)
    write_events(cwd / "out_of_order.jsonl", OUT_OF_ORDER)
    write_events(cwd / "ms.jsonl", IN_MS)
    write_events(cwd / "fields.jsonl", CUSTOM_FIELDS)

    runs = Batch(cwd)
    runs.add("file", "run", "rules.cep", "events.jsonl")
    runs.add("dash", "run", "rules.cep", "-", stdin=events.read_bytes())
    runs.add("split", "run", "rules.cep", "one.jsonl", "two.jsonl")
    runs.add("dead", "run", "rules.cep", "bad_lines.jsonl", "--dead-letter", "dead.jsonl")
    runs.add("late_drop", "run", "rules.cep", "out_of_order.jsonl")
    runs.add("late_out", "run", "rules.cep", "out_of_order.jsonl", "--late", "output", "--late-output", "late.jsonl")
    runs.add("delay_2s", "run", "rules.cep", "out_of_order.jsonl", "--max-delay", "2s")
    runs.add("ms", "run", "rules.cep", "ms.jsonl", "--time-unit", "ms")
    runs.add(
        "fields",
        "run",
        "rules.cep",
        "fields.jsonl",
        *("--type-field", "kind", "--time-field", "at", "--id-field", "eid"),
    )
    # The events file does not exist: if it were opened, the exit would be 3.
    runs.add("rule_error", "run", "bad.cep", "missing.jsonl")
    runs.add("missing_events", "run", "rules.cep", "missing.jsonl")
    runs.add("missing_rules", "run", "nope.cep", "events.jsonl")
    for name, args in BAD_OPTIONS.items():
        runs.add(f"option_{name}", "run", "rules.cep", "events.jsonl", *args)
    runs.run_all()
    return runs


def test_run_prints_only_match_lines(batch: Batch) -> None:
    proc = batch["file"]
    assert proc.returncode == 0, proc.stderr
    out = match_lines(proc.stdout)
    # Line 2 completes pair (login@1, transfer@2), line 4 completes either,
    # line 8 completes pair (login@10, mfa@11, transfer@13); at the end of
    # input the window [22:20, 22:21) of u1 closes: transfers 500, 50, 1000.
    assert [m["rule"] for m in out] == ["pair", "either", "pair", "per_user"]
    first, either, second, window = out
    assert first["key"] == {"user": "u1"}
    assert first["start"] == "2023-11-14T22:20:01.000Z"
    assert first["end"] == "2023-11-14T22:20:02.000Z"
    assert first["severity"] == "high" and first["tags"] == ["payments"]
    assert first["emit"] == {"user": "u1", "amount": 500}
    # The optional mfa was not taken: `m` is omitted (not null).
    assert set(first["events"]) == {"l", "t"}
    assert first["events"]["l"] == STREAM[0]
    # The OR branch not taken (`good`) is omitted.
    assert set(either["events"]) == {"s", "bad"}
    assert either["start"] == "2023-11-14T22:20:03.000Z"
    assert set(second["events"]) == {"l", "m", "t"}
    assert second["emit"]["amount"] == 1000
    assert window["key"] == {"user": "u1"}
    assert window["emit"] == {"user": "u1", "n": 3, "total": 1550}
    assert (window["start"], window["end"]) == ("2023-11-14T22:20:00.000Z", "2023-11-14T22:21:00.000Z")
    for m in out:
        assert isinstance(m["key"], dict)
        assert ISO_MS.match(m["start"]) and ISO_MS.match(m["end"])
        assert isinstance(m["match_id"], str) and m["match_id"]
    # The summary goes to stderr.
    assert summary_count(proc.stderr, "events") == 8
    assert summary_count(proc.stderr, "matches") == 4


def test_stdin_gives_the_same_stdout_as_the_file(batch: Batch) -> None:
    from_file, from_dash = batch["file"], batch["dash"]
    assert from_file.returncode == from_dash.returncode == 0
    assert from_file.stdout
    assert from_dash.stdout == from_file.stdout


def test_several_event_files_are_one_stream(batch: Batch) -> None:
    assert batch["split"].returncode == 0
    assert batch["split"].stdout == batch["file"].stdout


def test_bad_lines_are_dead_lettered_and_the_run_goes_on(batch: Batch) -> None:
    proc = batch["dead"]
    assert proc.returncode == 0, proc.stderr
    assert [m["rule"] for m in match_lines(proc.stdout)] == ["pair", "per_user"]
    assert summary_count(proc.stderr, "rejected") == 6
    dead = [json.loads(line) for line in (batch.cwd / "dead.jsonl").read_text().splitlines()]
    assert [d["line"] for d in dead] == [2, 3, 4, 5, 7, 8]
    for d in dead:
        assert isinstance(d["reason"], str) and d["reason"]
        assert d["source"].endswith("bad_lines.jsonl")
    assert "json" in dead[0]["reason"].lower()
    assert "not json" in json.dumps(dead[0])  # the line itself is kept
    assert "object" in dead[1]["reason"]
    assert "time" in dead[2]["reason"] and "time" in dead[3]["reason"] and "time" in dead[4]["reason"]
    assert "not a time" in json.dumps(dead[3])


def test_late_events_are_counted_and_dropped(batch: Batch) -> None:
    proc = batch["late_drop"]
    assert proc.returncode == 0
    # login@5 arrives after the watermark reached 6: late, so no pair.
    assert [m["rule"] for m in match_lines(proc.stdout)] == ["per_user", "per_user"]
    assert summary_count(proc.stderr, "late") == 1


def test_late_output_file(batch: Batch) -> None:
    proc = batch["late_out"]
    assert proc.returncode == 0, proc.stderr
    late = [json.loads(line) for line in (batch.cwd / "late.jsonl").read_text().splitlines()]
    assert len(late) == 1
    assert late[0]["event"] == OUT_OF_ORDER[1]
    assert isinstance(late[0]["reason"], str) and late[0]["reason"]
    assert summary_count(proc.stderr, "late") == 1
    assert proc.stdout == batch["late_drop"].stdout


def test_max_delay_reorders(batch: Batch) -> None:
    proc = batch["delay_2s"]
    assert proc.returncode == 0
    out = match_lines(proc.stdout)
    # Watermark after the transfer: 6 - 2 = 4, so login@5 is on time and
    # sorted before it: login@5, transfer@6 is a pair.
    pairs = [m for m in out if m["rule"] == "pair"]
    assert [(p["start"], p["end"]) for p in pairs] == [("2023-11-14T22:20:05.000Z", "2023-11-14T22:20:06.000Z")]
    assert summary_count(proc.stderr, "late") == 0


def test_time_unit_ms(batch: Batch) -> None:
    proc = batch["ms"]
    assert proc.returncode == 0, proc.stderr
    pair = match_lines(proc.stdout)[0]
    assert (pair["start"], pair["end"]) == ("2023-11-14T22:20:01.250Z", "2023-11-14T22:20:02.005Z")


def test_custom_fields(batch: Batch) -> None:
    proc = batch["fields"]
    assert proc.returncode == 0, proc.stderr
    out = match_lines(proc.stdout)
    assert [m["rule"] for m in out] == ["pair", "per_user"]
    assert out[0]["start"] == "2023-11-14T22:20:01.000Z"
    assert summary_count(proc.stderr, "duplicates") == 1
    assert summary_count(proc.stderr, "rejected") == 0


def test_rule_errors_exit_1_before_reading_events(batch: Batch) -> None:
    proc = batch["rule_error"]
    assert proc.returncode == 1
    assert proc.stdout == b""
    err = proc.stderr.decode()
    assert re.search(r"bad\.cep:2:\d+: error: ", err), err
    assert "PATTERN SEQ(a, b WITHIN 5m" in err  # the source line
    assert "^" in err  # and a caret under it
    assert "missing.jsonl" not in err


def test_unreadable_events_file_exits_3(batch: Batch) -> None:
    proc = batch["missing_events"]
    assert proc.returncode == 3
    assert "missing.jsonl" in proc.stderr.decode()


@pytest.mark.parametrize("name", sorted(BAD_OPTIONS))
def test_bad_options_exit_2(batch: Batch, name: str) -> None:
    proc = batch[f"option_{name}"]
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == b""
    assert proc.stderr


def test_missing_rules_path_exits_2(batch: Batch) -> None:
    assert batch["missing_rules"].returncode == 2
