"""`cepengine explain` (SPEC section 7): the compiled automaton as text or
Graphviz DOT. DOT output is rendered with `dot -Tsvg` when Graphviz is
installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cepengine.cli import main

RULES = r"""
RULE nots
  PATTERN SEQ(login[ip matches "^10\\.\\d+" and user != "x\"y"] AS l,
              NOT logout[user == l.user],
              transfer[amount > 100]{2,4} AS t,
              OR(approve AS ok, reject[reason startswith "fraud"] AS ko),
              NOT alarm) WITHIN 5m
  BY user
  WHERE sum(t.amount) > 1000
  EMIT user, n = count(t), total = sum(t.amount)

RULE win
  FROM login_failed[reason != "mfa"]
  WINDOW SLIDING 5m EVERY 1m
  BY ip
  HAVING count() >= 10 AND count_distinct(user) >= 3
  EMIT ip, failures = count(), users = count_distinct(user)

RULE sess
  FROM click
  WINDOW SESSION GAP 30s
  BY user
  EMIT user, clicks = count()

RULE tum
  FROM conn
  WINDOW TUMBLING 1m
  EMIT n = count()
"""


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.cep"
    path.write_text(RULES)
    return path


def explain(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["explain", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_rules_check_clean(capsys: pytest.CaptureFixture[str], rules: Path) -> None:
    capsys.readouterr()
    assert main(["check", str(rules)]) == 0


def test_text_names_every_state_and_predicate(capsys: pytest.CaptureFixture[str], rules: Path) -> None:
    code, out, err = explain(capsys, str(rules), "--rule", "nots")
    assert code == 0, err
    assert out.startswith("rule nots")
    # Four positive elements -> four states, each with its alias and type.
    for index, alias, type_name in [(0, "l", "login"), (1, "t", "transfer"), (2, "ok", "approve"), (3, "ko", "reject")]:
        assert re.search(rf"^S{index} {alias}: {type_name}\b", out, re.MULTILINE), (index, out)
    # Every predicate, NOT elements' included.
    for predicate in [
        'ip matches "^10\\\\.\\\\d+"',
        'user != "x\\"y"',
        "user == l.user",
        "amount > 100",
        'reason startswith "fraud"',
    ]:
        assert predicate in out, (predicate, out)
    assert "logout" in out and "alarm" in out  # the NOT guards
    assert "{2,4}" in out  # the quantifier
    assert "5m" in out  # WITHIN
    assert "user" in out  # BY
    assert "sum(t.amount) > 1000" in out  # WHERE
    assert "MATCH" in out


def test_text_loop_bound_is_the_maximum(capsys: pytest.CaptureFixture[str], rules: Path) -> None:
    _, out, _ = explain(capsys, str(rules), "--rule", "nots")
    # transfer{2,4}: the run may take another transfer while it has fewer than 4.
    assert "while count < 4" in out


def test_text_for_windows(capsys: pytest.CaptureFixture[str], rules: Path) -> None:
    code, out, _ = explain(capsys, str(rules), "--rule", "win")
    assert code == 0
    assert "sliding 5m every 1m" in out.lower()
    assert 'reason != "mfa"' in out
    assert "count()" in out and "count_distinct(user)" in out
    assert "count() >= 10" in out
    assert "ip" in out
    code, out, _ = explain(capsys, str(rules), "--rule", "sess")
    assert code == 0 and "session" in out.lower() and "30s" in out
    code, out, _ = explain(capsys, str(rules), "--rule", "tum")
    assert code == 0 and "tumbling 1m" in out.lower()


def _dot(capsys: pytest.CaptureFixture[str], rules: Path, name: str) -> str:
    code, out, err = explain(capsys, str(rules), "--rule", name, "--format", "dot")
    assert code == 0, err
    return out


@pytest.mark.parametrize("name", ["nots", "win", "sess", "tum"])
def test_dot_is_well_formed(capsys: pytest.CaptureFixture[str], rules: Path, name: str) -> None:
    out = _dot(capsys, rules, name)
    assert out.lstrip().startswith("digraph")
    assert out.count("{") >= 1 and out.rstrip().endswith("}")


def test_dot_names_states_and_predicates(capsys: pytest.CaptureFixture[str], rules: Path) -> None:
    out = _dot(capsys, rules, "nots")
    for node in ("S0", "S1", "S2", "S3", "match"):
        assert re.search(rf"^\s*{node} \[", out, re.MULTILINE), (node, out)
    for fragment in ("amount > 100", "user == l.user", "logout", "alarm", "startswith"):
        assert fragment in out, fragment


DOT = shutil.which("dot")


@pytest.mark.skipif(DOT is None, reason="Graphviz `dot` is not installed")
@pytest.mark.parametrize("name", ["nots", "win", "sess", "tum"])
def test_dot_renders_with_graphviz(capsys: pytest.CaptureFixture[str], rules: Path, name: str) -> None:
    out = _dot(capsys, rules, name)
    assert DOT is not None
    proc = subprocess.run([DOT, "-Tsvg"], input=out.encode(), capture_output=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"<svg" in proc.stdout
    assert not proc.stderr.strip(), proc.stderr.decode()  # no syntax warnings either


def test_unknown_rule_is_a_usage_error(capsys: pytest.CaptureFixture[str], rules: Path) -> None:
    code, out, err = explain(capsys, str(rules), "--rule", "nope")
    assert code == 2
    assert out == ""
    assert "nope" in err


def test_rule_errors_exit_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.cep"
    bad.write_text("RULE broken\n  PATTERN SEQ(a, b WITHIN 5m\n")
    code, out, err = explain(capsys, str(bad), "--rule", "broken")
    assert code == 1
    assert out == ""
    assert "bad.cep:2:" in err and "error" in err
