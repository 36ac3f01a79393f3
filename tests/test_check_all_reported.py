"""`check` reports every problem in one run: one broken rule never hides
another, a syntax error never hides an analysis error, across files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cepengine.check import check_paths, check_text

FIVE_MISTAKES = """\
# One file, five different mistakes.
RULE fraud_chain
  SEVERITY hgh
  PATTERN SEQ(login AS l, transfer[amount > 10000 and country == l.country] AS t, logout) WITHIN 0s
  BY user
  EMIT user, amount = t.amount, ip = lgn.ip

RULE brute_force
  FROM login_failed
  WINDOW SLIDING 1m EVERY 5m
  BY ip
  HAVING count() >= 10
  EMIT ip, failures = count(), failures = count_distinct(user)
"""

FIVE_EXPECTED = [
    # code, line, col, end_col: the span underlines exactly the mistake
    ("E024", 3, 3, 15),  # SEVERITY hgh: the whole clause
    ("E014", 4, 98, 100),  # WITHIN 0s: the duration
    ("E002", 6, 38, 44),  # lgn.ip: the path
    ("E015", 10, 27, 29),  # EVERY 5m on a 1m window: the slide
    ("E017", 13, 32, 63),  # the second `failures = ...`
]


def test_five_mistakes_give_five_diagnostics(write_rules: Callable[[str, str], Path]) -> None:
    result = check_paths([write_rules("five.cep", FIVE_MISTAKES)])
    found = [(d.code, d.span.line, d.span.col, d.span.end_col) for d in result.diagnostics]
    assert found == FIVE_EXPECTED
    assert all(d.severity == "error" for d in result.diagnostics)


def test_five_mistakes_exit_1_with_positions(
    write_rules: Callable[[str, str], Path], run_cli: Callable[..., Any]
) -> None:
    path = write_rules("five.cep", FIVE_MISTAKES)
    text = run_cli("check", str(path))
    assert text.code == 1
    heads = [line for line in text.out.splitlines() if line.startswith(str(path))]
    assert [h.split(": ")[0] for h in heads] == [f"{path}:{line}:{col}" for _, line, col, _ in FIVE_EXPECTED]
    assert text.out.splitlines()[-1] == "1 file checked: 5 errors, 0 warnings"

    as_json = run_cli("check", "--format", "json", str(path))
    assert as_json.code == 1
    records = json.loads(as_json.out)
    assert [(r["code"], r["line"], r["col"], r["end_col"]) for r in records] == FIVE_EXPECTED


FIRST_FILE = """\
RULE ok_rule
  PATTERN SEQ(login AS l, logout[ip == l.ip]) WITHIN 5m
  BY user
  EMIT user, ip = l.ip

RULE syntax_one
  PATTERN SEQ(login AS l logout) WITHIN 5m

RULE analysis_one
  PATTERN SEQ(NOT heartbeat, login AS l) WITHIN 5m
  BY user
  EMIT user, ip = l.ip

RULE syntax_two
  PATTERN SEQ(login AS l, logout) WITHIN 5m
  WHERE l.ip = "10.0.0.1"

RULE shared_name
  PATTERN SEQ(login AS l, logout) WITHIN 5m
  BY user
  EMIT user, ip = l.ip
"""

SECOND_FILE = """\
RULE shared_name
  FROM login_failed
  WINDOW TUMBLING 1m
  BY ip
  HAVING count() > 3
  EMIT ip, n = count()

RULE syntax_three
  FROM login_failed[reason == "locked"
  WINDOW TUMBLING 1m

RULE analysis_two
  PATTERN SEQ(login AS l, transfer AS t)
  BY user
  HAVING count() > 1
  EMIT user, ip = l.ip, amount = t.amount
"""


def test_several_broken_rules_across_two_files(write_rules: Callable[[str, str], Path]) -> None:
    first = write_rules("rules/a_first.cep", FIRST_FILE)
    second = write_rules("rules/nested/b_second.cep", SECOND_FILE)
    result = check_paths([first.parent])  # a folder: both files, sorted
    found = [(Path(d.span.path).name, d.span.line, d.code) for d in result.diagnostics]
    assert found == [
        ("a_first.cep", 7, "E001"),  # missing comma
        ("a_first.cep", 10, "E008"),  # NOT first
        ("a_first.cep", 16, "E001"),  # = instead of ==
        ("b_second.cep", 1, "E005"),  # shared_name, first defined in a_first.cep
        ("b_second.cep", 10, "E001"),  # missing ]
        ("b_second.cep", 13, "W101"),  # no WITHIN
        ("b_second.cep", 15, "E012"),  # HAVING in a pattern rule
    ]
    assert {r.name for r in result.rules} == {"ok_rule", "analysis_one", "shared_name", "analysis_two"}
    assert result.files == 2
    e005 = next(d for d in result.diagnostics if d.code == "E005")
    assert e005.message == f"rule 'shared_name' is already defined at {first}:18:6"
    assert Path(e005.span.path) == second


def test_an_error_in_one_rule_leaves_the_next_rule_checked() -> None:
    text = "RULE a PATTERN SEQ(x,\nRULE b PATTERN SEQ(x AS p, y) WITHIN 0s\nRULE c SEVERITY huge\n"
    codes = [(d.span.line, d.code) for d in check_text(text).diagnostics]
    assert codes == [(1, "E001"), (2, "W104"), (2, "E014"), (3, "E022"), (3, "E024")]


def test_diagnostics_are_sorted_by_file_and_position(write_rules: Callable[[str, str], Path]) -> None:
    write_rules("z.cep", "RULE z SEVERITY bad\n")
    write_rules("a.cep", "RULE a SEVERITY bad\nRULE b PATTERN x WITHIN 0s\n")
    result = check_paths([write_rules("m.cep", "").parent])
    keys = [d.sort_key for d in result.diagnostics]
    assert keys == sorted(keys)
    assert Path(result.diagnostics[0].span.path).name == "a.cep"
