"""Property tests: whatever text `check` is given, it returns diagnostics and
never raises. Random bytes, random token soups built from the language's own
vocabulary, and valid rules with tokens dropped, repeated or swapped."""

from __future__ import annotations

import os
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cepengine.check import CheckResult, check_text
from cepengine.diagnostics import render

# CEPENGINE_FUZZ_EXAMPLES=20000 for a long run; the default keeps each test
# to a couple of seconds.
FUZZ = settings(
    max_examples=int(os.environ.get("CEPENGINE_FUZZ_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

KEYWORDS = [
    "RULE",
    "PATTERN",
    "SEQ",
    "AND",
    "OR",
    "NOT",
    "ANY",
    "AS",
    "WITHIN",
    "FROM",
    "WINDOW",
    "TUMBLING",
    "SLIDING",
    "SESSION",
    "GAP",
    "EVERY",
    "BY",
    "WHERE",
    "HAVING",
    "EMIT",
    "SELECTION",
    "STRICT",
    "SKIP_TILL_NEXT",
    "SKIP_TILL_ANY",
    "AFTER",
    "MATCH",
    "SKIP",
    "PAST",
    "LAST",
    "TO",
    "NEXT",
    "NO",
    "DESCRIPTION",
    "SEVERITY",
    "TAGS",
    "ALLOWED",
    "LATENESS",
    "in",
    "is",
    "null",
    "true",
    "false",
    "matches",
    "contains",
    "startswith",
    "not",
    "and",
    "or",
]
NAMES = [
    "a",
    "b",
    "l",
    "t",
    "x",
    "ts",
    "user",
    "amount",
    "ip",
    "country",
    "window",
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "first",
    "last",
    "prev",
    "abs",
    "lower",
    "len",
    "exists",
]
PUNCTUATION = [
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ".",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "?",
    "(",
    ")",
    ",",
    ",",
]
NUMBERS = ["0", "1", "2", "42", "3.5", "1e3", "-1", "99999999999", "1" * 30]
STRINGS = ['"x"', '"\\d+"', '"("', "'a'", '"a{99999999999}"', '"unterminated', '""', '"\\"q\\""']
DURATIONS = ["0s", "5m", "1h30m", "250ms", "-5m", "1d", "10s"]
OTHER = ["\n", "\n", "# comment\n", "\t", "\r\n", "@", ";", "\x00", "é", "≥"]

token = st.sampled_from(KEYWORDS + NAMES + PUNCTUATION + NUMBERS + STRINGS + DURATIONS + OTHER)

VALID_RULES = [
    """RULE potential_fraud
  DESCRIPTION "Login, a large transfer and a logout"
  SEVERITY high
  TAGS fraud, payments
  PATTERN SEQ(login AS l, transfer[amount > 10000 and country != l.country] AS t, NOT refund, logout) WITHIN 5m
  BY user
  WHERE t.amount * 2 > 30000 or l.ip matches "^10\\."
  SELECTION SKIP_TILL_ANY
  AFTER MATCH SKIP TO NEXT
  EMIT user, amount = t.amount, login_ip = l.ip
  ALLOWED LATENESS 30s
""",
    """RULE rising
  PATTERN SEQ(trade[price > prev.price]{3,5} AS up, AND(alert AS a, OR(halt AS h, ANY[k == 1] AS k)), f*) WITHIN 1m
  BY symbol
  WHERE count(up) >= 3 and last(up).price - first(up).price > abs(a.delta) and sum(up.qty) > 0
  EMIT symbol, n = count(up), top = max(up.price), start = first(up).ts
""",
    """RULE brute_force
  FROM login_failed[reason != "mfa" and lower(user) startswith "adm"]
  WINDOW SLIDING 5m EVERY 1m
  BY ip
  HAVING count() >= 10 AND count_distinct(user) >= 3 and avg(latency) < 1.5
  EMIT ip, failures = count(), users = count_distinct(user), first_seen = first(ts)
""",
]

SCHEMA = {
    "login": {"user": "string", "ip": "string", "country": "string"},
    "transfer": {"user": "string", "amount": "number", "country": "string"},
    "trade": {"symbol": "string", "price": "number", "qty": "number"},
    "login_failed": {"ip": "string", "user": "string", "reason": "string", "latency": "number"},
}

_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[A-Za-z_][A-Za-z0-9_]*|[0-9][0-9a-z.]*|==|!=|<=|>=|\S|\n')


def assert_well_formed(text: str, result: CheckResult) -> None:
    """Diagnostics that `check` can print: known codes, positions inside the
    text, every one renderable; and a problem reported unless rules parsed."""
    lines = text.split("\n")
    for diagnostic in result.diagnostics:
        assert re.fullmatch(r"[EW][0-9]{3}", diagnostic.code)
        assert diagnostic.severity == ("error" if diagnostic.code[0] == "E" else "warning")
        assert diagnostic.message
        span = diagnostic.span
        assert 1 <= span.line <= len(lines) and span.col >= 1
        assert (span.end_line, span.end_col) >= (span.line, span.col)
        render(diagnostic, result.sources)
        render(diagnostic, result.sources, colour=True)
    blank = re.fullmatch(r"(\s|#[^\n]*)*", text) is not None
    assert result.rules or result.diagnostics or blank


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_never_raise(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    assert_well_formed(text, check_text(text, "fuzz.cep"))


@FUZZ
@given(st.booleans(), st.lists(token, max_size=60))
def test_token_soup_never_raises(start_with_rule: bool, tokens: list[str]) -> None:
    text = ("RULE fuzzed " if start_with_rule else "") + " ".join(tokens)
    result = check_text(text, "soup.cep")
    assert_well_formed(text, result)
    if start_with_rule and not result.rules:
        assert any(d.code == "E001" for d in result.diagnostics)


@FUZZ
@given(
    st.sampled_from(VALID_RULES),
    st.lists(
        st.tuples(st.sampled_from(["drop", "repeat", "swap", "insert"]), st.integers(0, 10_000), token), max_size=4
    ),
)
def test_mutated_valid_rules_never_raise(rule: str, edits: list[tuple[str, int, str]]) -> None:
    tokens = _TOKEN.findall(rule)
    for kind, where, extra in edits:
        i = where % len(tokens)
        if kind == "drop":
            del tokens[i]
        elif kind == "repeat":
            tokens.insert(i, tokens[i])
        elif kind == "swap" and i + 1 < len(tokens):
            tokens[i], tokens[i + 1] = tokens[i + 1], tokens[i]
        else:
            tokens.insert(i, extra)
    text = " ".join(tokens)
    assert_well_formed(text, check_text(text, "mutated.cep", schema=SCHEMA))


def test_the_rules_being_mutated_are_valid() -> None:
    for rule in VALID_RULES:
        result = check_text(rule, schema=SCHEMA)
        assert not result.errors, [d.message for d in result.errors]
        assert len(result.rules) == 1
