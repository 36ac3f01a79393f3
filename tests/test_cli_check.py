"""`cepengine check` as users run it: the installed console script in a
subprocess (falling back to `python -m cepengine` when it is not on PATH)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

CLEAN = """\
RULE potential_fraud
  SEVERITY high
  PATTERN SEQ(login AS l, transfer[amount > 10000] AS t, logout) WITHIN 5m
  BY user
  EMIT user, amount = t.amount, login_ip = l.ip
"""

WARNS = """\
RULE no_window
  PATTERN SEQ(login AS l, logout[ip == l.ip])
  BY user
  EMIT user
"""

BROKEN = """\
RULE bad
  SEVERITY urgent
  PATTERN SEQ(login AS l, logout) WITHIN 5m
  HAVING count() > 1
  EMIT ip = l.ip
"""

SCHEMA = {"login": {"user": "string", "ip": "string"}, "logout": {"user": "string", "ip": "string"}}

SCHEMA_RULE = """\
RULE typed
  PATTERN SEQ(login[ip == 10] AS l, logout[adress == l.ip]) WITHIN 5m
  BY user
  EMIT user
"""

Write = Callable[[str, str], Path]


def cepengine() -> list[str]:
    script = shutil.which("cepengine")
    return [script] if script else [sys.executable, "-m", "cepengine"]


def run(
    *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cepengine(), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env,
        check=False,
    )


def test_clean_file_exits_0(write_rules: Write) -> None:
    done = run("check", write_rules("clean.cep", CLEAN))
    assert (done.returncode, done.stdout, done.stderr) == (0, "1 file checked: 0 errors, 0 warnings\n", "")


def test_warnings_alone_exit_0_and_strict_makes_them_fail(write_rules: Write) -> None:
    path = write_rules("warns.cep", WARNS)
    relaxed = run("check", path)
    assert relaxed.returncode == 0
    assert "warning: pattern without WITHIN" in relaxed.stdout
    assert relaxed.stdout.endswith("1 file checked: 0 errors, 1 warning\n")
    strict = run("check", "--strict", path)
    assert strict.returncode == 1
    assert strict.stdout == relaxed.stdout


def test_broken_file_exits_1_with_compiler_style_output(tmp_path: Path, write_rules: Write) -> None:
    write_rules("broken.cep", BROKEN)
    done = run("check", "broken.cep", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr == ""
    assert done.stdout == (
        "broken.cep:2:3: error: unknown severity 'urgent'; expected one of low, medium, high, critical [E024]\n"
        "    2 |   SEVERITY urgent\n"
        "      |   ^~~~~~~~~~~~~~~\n"
        "broken.cep:4:3: error: HAVING belongs to window rules; use WHERE in a pattern rule [E012]\n"
        "    4 |   HAVING count() > 1\n"
        "      |   ^~~~~~~~~~~~~~~~~~\n"
        "1 file checked: 2 errors, 0 warnings\n"
    )


def test_missing_path_exits_2(write_rules: Write, tmp_path: Path) -> None:
    done = run("check", write_rules("clean.cep", CLEAN), tmp_path / "nope.cep")
    assert done.returncode == 2
    assert "no such file or directory" in done.stderr
    assert "nope.cep" in done.stderr
    assert done.stdout == ""


def test_unreadable_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "latin1.cep"
    path.write_bytes(b'RULE r DESCRIPTION "caf\xe9" PATTERN a WITHIN 1m\n')
    done = run("check", path)
    assert done.returncode == 2
    assert "cannot read" in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("check",),
        ("check", "--format", "xml", "x.cep"),
        ("check", "--no-such-option", "x.cep"),
        ("no-such-command",),
        (),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...], tmp_path: Path) -> None:
    done = run(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr


def test_json_output(write_rules: Write) -> None:
    path = write_rules("broken.cep", BROKEN)
    done = run("check", "--format", "json", path)
    assert done.returncode == 1
    records = json.loads(done.stdout)
    assert records == [
        {
            "code": "E024",
            "severity": "error",
            "path": str(path),
            "line": 2,
            "col": 3,
            "end_line": 2,
            "end_col": 18,
            "message": "unknown severity 'urgent'; expected one of low, medium, high, critical",
        },
        {
            "code": "E012",
            "severity": "error",
            "path": str(path),
            "line": 4,
            "col": 3,
            "end_line": 4,
            "end_col": 21,
            "message": "HAVING belongs to window rules; use WHERE in a pattern rule",
        },
    ]


def test_json_output_of_a_clean_file_is_an_empty_list(write_rules: Write) -> None:
    done = run("check", "--format", "json", write_rules("clean.cep", CLEAN))
    assert done.returncode == 0
    assert json.loads(done.stdout) == []


def test_json_strict(write_rules: Write) -> None:
    done = run("check", "--format", "json", "--strict", write_rules("warns.cep", WARNS))
    assert done.returncode == 1
    assert [r["code"] for r in json.loads(done.stdout)] == ["W101"]


def test_schema_gives_w107_and_w108(write_rules: Write) -> None:
    rules = write_rules("typed.cep", SCHEMA_RULE)
    schema = write_rules("schema.json", json.dumps(SCHEMA))
    without = run("check", "--format", "json", rules)
    assert json.loads(without.stdout) == []
    done = run("check", "--format", "json", "--schema", schema, rules)
    assert done.returncode == 0  # warnings only
    found = [(r["code"], r["line"], r["col"]) for r in json.loads(done.stdout)]
    assert found == [("W108", 2, 21), ("W107", 2, 44)]
    assert run("check", "--strict", "--schema", schema, rules).returncode == 1


@pytest.mark.parametrize("schema_text", ["{not json", '["a list"]', '{"login": 3}'])
def test_bad_schema_exits_2(schema_text: str, write_rules: Write) -> None:
    done = run("check", "--schema", write_rules("schema.json", schema_text), write_rules("clean.cep", CLEAN))
    assert done.returncode == 2
    assert "schema" in done.stderr


def test_missing_schema_exits_2(write_rules: Write, tmp_path: Path) -> None:
    done = run("check", "--schema", tmp_path / "none.json", write_rules("clean.cep", CLEAN))
    assert done.returncode == 2


def test_folder_argument_recurses_for_cep_files(tmp_path: Path, write_rules: Write) -> None:
    write_rules("rules/clean.cep", CLEAN)
    write_rules("rules/deeper/still/broken.cep", BROKEN)
    write_rules("rules/deeper/notes.txt", "RULE not_a_rule_file")
    write_rules("rules/deeper/README.md", "# RULE x")
    done = run("check", "--format", "json", "rules", cwd=tmp_path)
    assert done.returncode == 1
    paths = {Path(r["path"]).as_posix() for r in json.loads(done.stdout)}
    assert paths == {"rules/deeper/still/broken.cep"}
    text = run("check", "rules", cwd=tmp_path)
    assert text.stdout.endswith("2 files checked: 2 errors, 0 warnings\n")


def test_several_paths_and_duplicate_rule_names_across_them(write_rules: Write) -> None:
    first = write_rules("a.cep", CLEAN)
    second = write_rules("b/b.cep", CLEAN)
    done = run("check", "--format", "json", first, second.parent)
    assert [(r["code"], r["path"]) for r in json.loads(done.stdout)] == [("E005", str(second))]


def test_python_dash_m_works_too(write_rules: Write) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cepengine", "check", str(write_rules("broken.cep", BROKEN))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "[E024]" in done.stdout


def test_no_colour_when_not_a_terminal(write_rules: Write) -> None:
    done = run("check", write_rules("broken.cep", BROKEN))
    assert "\x1b[" not in done.stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs a pseudo-terminal")
def test_colour_on_a_terminal_unless_no_color(write_rules: Write) -> None:
    import pty

    path = write_rules("broken.cep", BROKEN)

    def on_tty(extra_env: dict[str, str]) -> str:
        leader, follower = pty.openpty()
        env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | extra_env
        with subprocess.Popen(
            [*cepengine(), "check", str(path)], stdout=follower, stderr=subprocess.PIPE, env=env
        ) as p:
            os.close(follower)
            chunks = []
            while True:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # EIO once the child closed the terminal
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            assert p.wait(timeout=60) == 1
        os.close(leader)
        return b"".join(chunks).decode()

    coloured = on_tty({})
    assert "\x1b[1;31merror:\x1b[0m" in coloured
    assert "\x1b[" not in on_tty({"NO_COLOR": "1"})
