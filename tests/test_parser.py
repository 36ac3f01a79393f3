"""The parser: rule text → AST, and syntax errors as E001 diagnostics."""

from __future__ import annotations

from pathlib import Path

import pytest

from cepengine.syntax import ast
from cepengine.syntax.parser import parse_file, parse_text
from cepengine.syntax.transform import MAX_NESTING, decode_string, duration_ms


def parse_one(text: str) -> ast.Rule:
    parsed = parse_text(text, "t.cep")
    assert parsed.diagnostics == (), [d.message for d in parsed.diagnostics]
    assert len(parsed.rules) == 1
    return parsed.rules[0]


def predicate(expr_text: str) -> ast.Expr:
    """The AST of an element predicate."""
    rule = parse_one(f"RULE r PATTERN SEQ(a[{expr_text}], b) WITHIN 1m")
    assert rule.pattern is not None and isinstance(rule.pattern.pattern, ast.Seq)
    first = rule.pattern.pattern.items[0]
    assert isinstance(first, ast.Element) and first.predicate is not None
    return first.predicate


def left_of(expr_text: str) -> ast.Expr:
    """The left operand of a comparison written as an element predicate."""
    node = predicate(expr_text)
    assert isinstance(node, ast.Compare)
    return node.left


def elements_of(rule: ast.Rule) -> tuple[ast.Element, ...]:
    assert rule.pattern is not None
    return ast.elements(rule.pattern.pattern)


def syntax_errors(text: str) -> list[tuple[int, int, str]]:
    parsed = parse_text(text, "t.cep")
    assert all(d.code == "E001" for d in parsed.diagnostics)
    return [(d.span.line, d.span.col, d.message) for d in parsed.diagnostics]


def path(*parts: str) -> ast.Path:
    return ast.Path(parts)


def const(value: ast.LiteralValue) -> ast.Const:
    return ast.Const(value)


# ---- durations ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("250ms", 250),
        ("30s", 30_000),
        ("5m", 300_000),
        ("2h", 7_200_000),
        ("1d", 86_400_000),
        ("1h30m", 5_400_000),
        ("1d2h3m4s5ms", 93_784_005),
        ("5M", 300_000),
        ("1H30M", 5_400_000),
        ("10MS", 10),
    ],
)
def test_duration_values(text: str, ms: int) -> None:
    assert duration_ms(text) == ms
    rule = parse_one(f"RULE r PATTERN SEQ(a, b) WITHIN {text}")
    assert rule.pattern is not None and rule.pattern.within is not None
    assert rule.pattern.within.ms == ms
    assert rule.pattern.within.text == text


def test_negative_duration_parses_for_a_clear_analysis_error() -> None:
    rule = parse_one("RULE r PATTERN SEQ(a, b) WITHIN 5m ALLOWED LATENESS -1m30s")
    assert rule.allowed_lateness == ast.Duration(-90_000, "-1m30s")


def test_duration_span_covers_the_token() -> None:
    rule = parse_one("RULE r\n  PATTERN SEQ(a, b) WITHIN 1h30m")
    assert rule.pattern is not None and rule.pattern.within is not None
    span = rule.pattern.within.span
    assert (span.line, span.col, span.end_line, span.end_col) == (2, 28, 2, 33)


def test_duration_with_a_space_is_a_syntax_error_with_a_hint() -> None:
    [(line, col, message)] = syntax_errors("RULE r PATTERN SEQ(a, b) WITHIN 5 m")
    assert (line, col) == (1, 33)
    assert "unit right after the number" in message


# ---- keywords, comments, strings -------------------------------------------


def test_keywords_are_case_insensitive() -> None:
    lower = parse_one(
        "rule r pattern seq(a as x, b) within 5m by user where x.v > 1 selection strict "
        "after match skip to next emit user severity HIGH"
    )
    mixed = parse_one(
        "Rule r Pattern Seq(a As x, b) Within 5m By user Where x.v > 1 Selection STRICT "
        "After Match Skip To Next Emit user Severity high"
    )
    assert lower == mixed
    assert lower.selection == "STRICT"
    assert lower.after_match == "SKIP_TO_NEXT"
    assert lower.severity == "high"


def test_names_are_case_sensitive() -> None:
    rule = parse_one("RULE MyRule PATTERN SEQ(Login AS L, logout) WITHIN 5m")
    assert rule.name == "MyRule"
    assert elements_of(rule)[0] == ast.Element("Login", None, None, "L")


def test_multi_word_keywords_allow_any_whitespace() -> None:
    rule = parse_one("RULE r PATTERN SEQ(a, b) WITHIN 5m AFTER  MATCH\n  SKIP   PAST\tLAST")
    assert rule.after_match == "SKIP_PAST_LAST"
    assert parse_one("RULE r PATTERN SEQ(a, b) WITHIN 5m AFTER MATCH no skip").after_match == "NO_SKIP"


def test_comments_are_ignored_but_not_inside_strings() -> None:
    text = """\
# a file comment
RULE r   # after the name
  # a whole-line comment inside the rule
  DESCRIPTION "not # a comment"
  PATTERN SEQ(a, b) WITHIN 5m # trailing
# the end
"""
    rule = parse_one(text)
    assert rule.description == "not # a comment"


def test_empty_and_comment_only_files_have_no_rules_and_no_diagnostics() -> None:
    for text in ("", "\n\n", "# only a comment\n   \n# another\n"):
        parsed = parse_text(text)
        assert parsed.rules == () and parsed.diagnostics == ()


@pytest.mark.parametrize(
    ("written", "value"),
    [
        (r'"\d+"', r"\d+"),
        (r'"^a\.b$"', r"^a\.b$"),
        (r'"say \"hi\""', 'say "hi"'),
        (r"'it\'s'", "it's"),
        (r"'double \" inside single'", 'double " inside single'),
        (r'"tab\there"', "tab\there"),
        (r'"new\nline"', "new\nline"),
        (r'"back\\slash"', "back\\slash"),
        (r'"\\d"', "\\d"),
        ('"unicode ✓"', "unicode ✓"),
        ('""', ""),
    ],
)
def test_string_escapes(written: str, value: str) -> None:
    assert decode_string(written) == value
    assert predicate(f"f == {written}") == ast.Compare("==", path("f"), const(value))


def test_regex_keeps_its_backslashes() -> None:
    assert predicate(r'path matches "^/api/v\d+/users/\w+$"') == ast.Compare(
        "matches", path("path"), const(r"^/api/v\d+/users/\w+$")
    )


def test_string_cannot_span_lines() -> None:
    [(line, col, message)] = syntax_errors('RULE r\n  DESCRIPTION "open\n  PATTERN a WITHIN 1m')
    assert (line, col) == (2, 15)
    assert "unterminated string" in message


# ---- expressions -------------------------------------------------------------


def test_or_binds_looser_than_and_looser_than_not() -> None:
    a, b, c = (ast.Compare("==", path(n), const(1)) for n in "abc")
    assert predicate("a == 1 or b == 1 and not c == 1") == ast.BoolOp("or", a, ast.BoolOp("and", b, ast.Not(c)))
    assert predicate("(a == 1 or b == 1) and c == 1") == ast.BoolOp("and", ast.BoolOp("or", a, b), c)
    assert predicate("not a == 1 or b == 1") == ast.BoolOp("or", ast.Not(a), b)


def test_boolean_operators_are_left_associative() -> None:
    a, b, c = (path(n) for n in "abc")
    assert predicate("a and b and c") == ast.BoolOp("and", ast.BoolOp("and", a, b), c)
    assert predicate("a or b or c") == ast.BoolOp("or", ast.BoolOp("or", a, b), c)


def test_arithmetic_precedence_and_associativity() -> None:
    x, y, z = (path(n) for n in "xyz")
    assert left_of("x + y * z > 0") == ast.Arith("+", x, ast.Arith("*", y, z))
    assert left_of("(x + y) * z > 0") == ast.Arith("*", ast.Arith("+", x, y), z)
    assert left_of("x - y - z > 0") == ast.Arith("-", ast.Arith("-", x, y), z)
    assert left_of("x / y % z > 0") == ast.Arith("%", ast.Arith("/", x, y), z)
    assert left_of("-x * y > 0") == ast.Arith("*", ast.Negate(x), y)


def test_comparison_binds_looser_than_arithmetic() -> None:
    assert predicate("a + 1 >= b * 2") == ast.Compare(
        ">=", ast.Arith("+", path("a"), const(1)), ast.Arith("*", path("b"), const(2))
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [("42", 42), ("-42", -42), ("3.5", 3.5), ("1e3", 1000.0), ("2.5E-1", 0.25), ("- -7", 7)],
)
def test_number_literals(text: str, value: float) -> None:
    node = predicate(f"f == {text}")
    assert isinstance(node, ast.Compare) and isinstance(node.right, ast.Const)
    assert node.right.value == value and type(node.right.value) is type(value)


def test_literals_true_false_null_are_case_insensitive() -> None:
    assert predicate("a == TRUE and b == false or c == Null") == ast.BoolOp(
        "or",
        ast.BoolOp("and", ast.Compare("==", path("a"), const(True)), ast.Compare("==", path("b"), const(False))),
        ast.Compare("==", path("c"), const(None)),
    )


def test_membership_null_tests_and_string_tests() -> None:
    assert predicate('country in ("DE", "FR")') == ast.InList(path("country"), (const("DE"), const("FR")), False)
    assert predicate("code NOT IN (1, 2, 3)") == ast.InList(path("code"), (const(1), const(2), const(3)), True)
    assert predicate("a.b is null") == ast.IsNull(path("a", "b"), False)
    assert predicate("a is not null") == ast.IsNull(path("a"), True)
    assert predicate('ua contains "bot"') == ast.Compare("contains", path("ua"), const("bot"))
    assert predicate('path startswith "/admin"') == ast.Compare("startswith", path("path"), const("/admin"))


def test_calls_paths_and_members() -> None:
    assert left_of("abs(x - 1) < 2") == ast.Call("abs", (ast.Arith("-", path("x"), const(1)),))
    assert left_of("count() > 1") == ast.Call("count", ())
    assert left_of("payload.card.country == 1") == path("payload", "card", "country")
    assert left_of("first(xs).geo.lat > 1") == ast.Member(ast.Call("first", (path("xs"),)), ("geo", "lat"))


def test_comparisons_do_not_chain() -> None:
    [(_, _, message)] = syntax_errors("RULE r PATTERN SEQ(a[1 < x < 3], b) WITHIN 1m")
    assert message.startswith("syntax error: unexpected '<'")


def test_single_equals_gets_a_hint() -> None:
    [(line, col, message)] = syntax_errors("RULE r\n  PATTERN SEQ(a, b) WITHIN 1m\n  WHERE a.x = 1")
    assert (line, col) == (3, 13)
    assert message == "syntax error: '=' is not a comparison; write '=='"


# ---- patterns ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "low", "high"),
    [("+", 1, None), ("*", 0, None), ("?", 0, 1), ("{3}", 3, 3), ("{2,}", 2, None), ("{2,5}", 2, 5), ("{0,1}", 0, 1)],
)
def test_quantifiers(written: str, low: int, high: int | None) -> None:
    rule = parse_one(f"RULE r PATTERN SEQ(a, b[x > 1]{written} AS bs, c) WITHIN 1m")
    element = elements_of(rule)[1]
    assert element.quantifier == ast.Quantifier(low, high, written)
    assert element.alias == "bs"
    assert element.quantified == (high != 1)
    assert element.optional == (low == 0)


def test_quantifier_comes_after_the_predicate() -> None:
    [(_, col, message)] = syntax_errors("RULE r PATTERN SEQ(a+[x > 1], b) WITHIN 1m")
    assert col == 22 and "unexpected '['" in message


def test_nested_patterns_and_default_aliases() -> None:
    rule = parse_one("RULE r PATTERN SEQ(a, AND(b, OR(c AS x, ANY[k == 1] AS y)), NOT d, e) WITHIN 1m")
    assert rule.pattern is not None
    pattern = rule.pattern.pattern
    assert isinstance(pattern, ast.Seq)
    assert [type(item).__name__ for item in pattern.items] == ["Element", "AndPattern", "NotPattern", "Element"]
    elements = ast.elements(pattern)
    assert [e.alias for e in elements] == ["a", "b", "x", "y", "d", "e"]
    assert elements[3].type_name is None  # ANY


def test_a_single_element_is_a_pattern() -> None:
    rule = parse_one("RULE r PATTERN heartbeat[late == true] WITHIN 1m")
    assert rule.pattern is not None and isinstance(rule.pattern.pattern, ast.Element)


def test_empty_seq_is_a_syntax_error() -> None:
    [(_, col, message)] = syntax_errors("RULE r PATTERN SEQ() WITHIN 1m")
    assert col == 20
    assert message == "syntax error: unexpected ')'; expected AND, ANY, NOT, OR, SEQ or a name"


# ---- clauses -----------------------------------------------------------------

EVERY_PATTERN_CLAUSE = """\
RULE potential_fraud
  DESCRIPTION "Login, a large transfer and a logout"
  SEVERITY critical
  TAGS fraud, "payments team"
  PATTERN SEQ(login AS l, transfer[amount > 10000] AS t, logout) WITHIN 5m
  BY user, account.id
  WHERE t.amount > 2 * 5000
  SELECTION SKIP_TILL_ANY
  AFTER MATCH NO SKIP
  EMIT user, amount = t.amount, l.ip
  ALLOWED LATENESS 30s
"""


def test_every_pattern_rule_clause() -> None:
    rule = parse_one(EVERY_PATTERN_CLAUSE)
    assert rule.name == "potential_fraud"
    assert rule.description == "Login, a large transfer and a logout"
    assert rule.severity == "critical"
    assert rule.tags == ("fraud", "payments team")
    assert rule.pattern is not None and rule.pattern.within == ast.Duration(300_000, "5m")
    assert rule.source is None
    assert rule.by == (path("user"), path("account", "id"))
    assert rule.where == ast.Compare(">", path("t", "amount"), ast.Arith("*", const(2), const(5000)))
    assert rule.selection == "SKIP_TILL_ANY"
    assert rule.after_match == "NO_SKIP"
    assert rule.emit == (
        ast.EmitItem("user", path("user"), False),
        ast.EmitItem("amount", path("t", "amount"), True),
        ast.EmitItem("ip", path("l", "ip"), False),  # a bare path is named by its last segment
    )
    assert rule.allowed_lateness == ast.Duration(30_000, "30s")
    assert [c.keyword for c in rule.clauses] == [
        "DESCRIPTION", "SEVERITY", "TAGS", "PATTERN", "BY", "WHERE", "SELECTION", "AFTER MATCH", "EMIT",
        "ALLOWED LATENESS",
    ]  # fmt: skip


def test_clauses_come_in_any_order() -> None:
    lines = EVERY_PATTERN_CLAUSE.splitlines()
    shuffled = "\n".join([lines[0], *reversed(lines[1:])])
    assert parse_one(shuffled) == parse_one(EVERY_PATTERN_CLAUSE)


def test_defaults_of_optional_clauses() -> None:
    rule = parse_one("RULE r PATTERN SEQ(a, b) WITHIN 1m")
    assert (rule.selection, rule.after_match, rule.severity, rule.tags) == (
        "SKIP_TILL_NEXT",
        "SKIP_PAST_LAST",
        "medium",
        (),
    )
    assert rule.by == () and rule.emit == () and rule.where is None and rule.allowed_lateness is None


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ("TUMBLING 1m", ast.Window("tumbling", ast.Duration(60_000, "1m"))),
        ("SLIDING 5m EVERY 1m", ast.Window("sliding", ast.Duration(300_000, "5m"), ast.Duration(60_000, "1m"))),
        ("SESSION GAP 30s", ast.Window("session", ast.Duration(30_000, "30s"))),
    ],
)
def test_window_rule_clauses(window: str, expected: ast.Window) -> None:
    rule = parse_one(
        f'RULE brute_force FROM login_failed[reason != "mfa"] WINDOW {window} BY ip '
        "HAVING count() >= 10 AND count_distinct(user) >= 3 EMIT ip, failures = count()"
    )
    assert rule.source is not None and rule.pattern is None
    assert rule.source.window == expected
    assert rule.source.element.type_name == "login_failed"
    assert rule.having == ast.BoolOp(
        "and",
        ast.Compare(">=", ast.Call("count", ()), const(10)),
        ast.Compare(">=", ast.Call("count_distinct", (path("user"),)), const(3)),
    )


def test_a_clause_written_twice_is_e021_and_the_first_one_counts() -> None:
    parsed = parse_text("RULE r PATTERN SEQ(a, b) WITHIN 1m SEVERITY low\n  SEVERITY high")
    [diagnostic] = parsed.diagnostics
    assert diagnostic.code == "E021" and (diagnostic.span.line, diagnostic.span.col) == (2, 3)
    assert parsed.rules[0].severity == "low"


# ---- keywords as names (the contextual lexer) -------------------------------


def test_clause_keywords_are_field_names_inside_expressions() -> None:
    fields = ["window", "count", "type", "within", "every", "rule", "from", "by", "emit", "pattern", "having", "seq"]
    node = predicate(" and ".join(f"{name} == 1" for name in fields))
    found = [n.dotted for n in ast.walk_expr(node) if isinstance(n, ast.Path)]
    assert found == fields


def test_keywords_as_path_segments_rule_names_types_aliases_and_emit_names() -> None:
    rule = parse_one(
        "RULE window\n"
        "  PATTERN SEQ(window AS rule, session[x.window.count > rule.every]) WITHIN 1m\n"
        "  BY from, count\n"
        "  EMIT from, count, within = rule.tumbling, type = session.type"
    )
    assert rule.name == "window"
    assert [e.type_name for e in elements_of(rule)] == ["window", "session"]
    assert rule.by == (path("from"), path("count"))
    assert [item.name for item in rule.emit] == ["from", "count", "within", "type"]


def test_expression_keywords_are_names_where_no_operator_can_follow() -> None:
    # `in`, `is`, `matches` are operators after an operand, names before one
    node = predicate("in == 1 and is == 2 and matches == 3")
    assert [n.dotted for n in ast.walk_expr(node) if isinstance(n, ast.Path)] == ["in", "is", "matches"]


def test_names_that_start_with_a_keyword_are_names() -> None:
    rule = parse_one("RULE r PATTERN SEQ(ordered AS andy, notice[nullable == 1 or order == 2] AS anyway) WITHIN 1m")
    assert [e.alias for e in elements_of(rule)] == ["andy", "anyway"]


def test_operator_keywords_are_names_where_an_operand_goes() -> None:
    node = predicate("and == 1 or or == 2 and in > 3")
    assert [n.dotted for n in ast.walk_expr(node) if isinstance(n, ast.Path)] == ["and", "or", "in"]


@pytest.mark.parametrize(("word", "value"), [("true", True), ("FALSE", False), ("null", None)])
def test_literal_keywords_are_literals_not_fields(word: str, value: bool | None) -> None:
    assert predicate(f"{word} == x") == ast.Compare("==", const(value), path("x"))


def test_not_is_reserved_where_an_operand_goes() -> None:
    [(_, col, message)] = syntax_errors("RULE r PATTERN SEQ(a[not == 1], b) WITHIN 1m")
    assert col == 26
    assert message.startswith("syntax error: unexpected '=")


@pytest.mark.parametrize("word", ["seq", "AND", "or", "Not"])
def test_pattern_keywords_are_not_event_types(word: str) -> None:
    assert syntax_errors(f"RULE r PATTERN SEQ(a, {word}) WITHIN 1m")


def test_any_is_the_any_type_element() -> None:
    rule = parse_one("RULE r PATTERN SEQ(a, any AS other) WITHIN 1m")
    assert elements_of(rule)[1] == ast.Element(None, None, None, "other")


def test_a_field_called_rule_at_the_start_of_a_line_does_not_start_a_rule() -> None:
    rule = parse_one("RULE r\n  PATTERN SEQ(a, b) WITHIN 1m\n  WHERE a.x == 1 and\n  rule == 2\n")
    assert isinstance(rule.where, ast.BoolOp)


# ---- positions, files, robustness -------------------------------------------


def test_positions_are_file_positions_in_later_rules() -> None:
    text = "RULE a PATTERN SEQ(x, y) WITHIN 1m\n\n# gap\n\nRULE b\n  PATTERN SEQ(x, y[v > 1]) WITHIN 1m\n"
    parsed = parse_text(text, "f.cep")
    second = parsed.rules[1]
    assert (second.name_span.line, second.name_span.col) == (5, 6)
    element = elements_of(second)[1]
    assert (element.span.line, element.span.col, element.span.end_col) == (6, 18, 26)
    assert element.span.path == "f.cep"


def test_syntax_error_positions_in_later_rules() -> None:
    text = "RULE a PATTERN SEQ(x, y) WITHIN 1m\n\nRULE b\n  PATTERN SEQ(x y) WITHIN 1m\n"
    assert syntax_errors(text) == [
        (4, 17, "syntax error: unexpected 'y'; expected ')', '*', '+', ',', '?', '[', '{' or AS")
    ]


def test_end_of_rule_error_points_after_the_last_token() -> None:
    text = "RULE a\n  PATTERN SEQ(x, y) WITHIN\n  # a comment\n\nRULE b PATTERN x WITHIN 1m"
    [(line, col, message)] = syntax_errors(text)
    assert (line, col) == (2, 27)
    assert message == "syntax error: unexpected end of rule; expected '-' or a duration such as 5m"


def test_same_rule_at_different_positions_compares_equal() -> None:
    one = parse_text("RULE r PATTERN SEQ(a, b) WITHIN 1m").rules[0]
    two = parse_text("\n\n  # moved\nRULE   r\n PATTERN   SEQ( a ,b )  WITHIN  1m", "other.cep").rules[0]
    assert one == two
    assert one.span != two.span


def test_crlf_line_endings() -> None:
    parsed = parse_text("RULE a\r\n  PATTERN SEQ(x, y) WITHIN 1m\r\nRULE b\r\n  PATTERN SEQ(x y) WITHIN 1m\r\n")
    assert [r.name for r in parsed.rules] == ["a"]
    assert [(d.span.line, d.span.col) for d in parsed.diagnostics] == [(4, 17)]


def test_text_before_the_first_rule_is_reported() -> None:
    assert syntax_errors("# header\nnot a rule\nRULE r PATTERN a WITHIN 1m") == [
        (2, 1, "syntax error: unexpected 'not'; expected RULE")
    ]


def test_absurd_nesting_is_a_diagnostic_not_a_crash() -> None:
    deep = "RULE r PATTERN " + "SEQ(" * (MAX_NESTING + 5) + "a" + ")" * (MAX_NESTING + 5) + " WITHIN 1m"
    [(_, _, message)] = syntax_errors(deep)
    assert f"deeper than {MAX_NESTING} levels" in message
    chain = " and ".join(f"v{i} > 1" for i in range(5_000))
    assert "deeper than" in syntax_errors(f"RULE r PATTERN SEQ(a[{chain}], b) WITHIN 1m")[0][2]


def test_nesting_just_below_the_limit_is_fine() -> None:
    depth = MAX_NESTING // 2
    rule = parse_one("RULE r PATTERN SEQ(a[" + "not " * depth + "x], b) WITHIN 1m")
    assert rule.name == "r"


def test_a_number_of_thousands_of_digits_is_a_diagnostic() -> None:
    [(line, col, message)] = syntax_errors("RULE r PATTERN SEQ(a{" + "9" * 5000 + "}, b) WITHIN 1m")
    assert (line, col) == (1, 22)
    assert message == "syntax error: a number of 5000 digits is too long"


def test_parse_file_reads_utf8(tmp_path: Path) -> None:
    file = tmp_path / "r.cep"
    file.write_text('RULE r DESCRIPTION "Größe ✓" PATTERN a WITHIN 1m\n', encoding="utf-8")
    parsed = parse_file(file)
    assert parsed.rules[0].description == "Größe ✓"
    assert parsed.source.path == str(file)
