"""Diagnostics as data and their rendering (pure functions, no CLI)."""

from __future__ import annotations

from cepengine.diagnostics import Diagnostic, error, render, sort_diagnostics, summary_line, warning
from cepengine.source import SourceFile, Span

TEXT = "RULE r\n  PATTERN SEQ(a, b) WITHIN 0s\n\tWHERE\ta.x == 1\n\n"
SOURCES = {"r.cep": SourceFile("r.cep", TEXT)}


def span(line: int, col: int, end_line: int, end_col: int, path: str = "r.cep") -> Span:
    return Span(path, line, col, end_line, end_col)


def test_render_underlines_the_whole_span() -> None:
    diagnostic = error("E014", "WITHIN must be a positive duration, not 0s", span(2, 28, 2, 30))
    assert render(diagnostic, SOURCES) == (
        "r.cep:2:28: error: WITHIN must be a positive duration, not 0s [E014]\n"
        "    2 |   PATTERN SEQ(a, b) WITHIN 0s\n"
        "      |                            ^~"
    )


def test_render_a_one_character_span_is_a_caret() -> None:
    rendered = render(warning("W104", "unused", span(2, 15, 2, 16)), SOURCES)
    assert rendered.splitlines()[-1] == "      |" + " " * 15 + "^"


def test_render_an_empty_span_is_still_a_caret() -> None:
    rendered = render(error("E001", "end", span(2, 31, 2, 31)), SOURCES)
    assert rendered.splitlines()[-1] == "      |" + " " * 31 + "^"


def test_render_a_multi_line_span_underlines_to_the_end_of_its_first_line() -> None:
    rendered = render(error("E021", "twice", span(2, 3, 3, 15)), SOURCES)
    assert rendered.splitlines()[1:] == [
        "    2 |   PATTERN SEQ(a, b) WITHIN 0s",
        "      |   ^~~~~~~~~~~~~~~~~~~~~~~~~~~",
    ]


def test_render_tabs_count_as_one_column_like_the_parser() -> None:
    rendered = render(error("E002", "x", span(3, 8, 3, 11)), SOURCES)
    assert rendered.splitlines()[1:] == ["    3 |  WHERE a.x == 1", "      |        ^~~"]


def test_render_without_source_or_on_a_blank_line_is_the_head_only() -> None:
    assert render(error("E001", "m", span(1, 1, 1, 2, path="other.cep")), SOURCES) == "other.cep:1:1: error: m [E001]"
    assert render(error("E001", "m", span(4, 1, 4, 2)), SOURCES) == "r.cep:4:1: error: m [E001]"
    assert render(error("E001", "m", span(99, 1, 99, 2)), SOURCES) == "r.cep:99:1: error: m [E001]"


def test_render_gutter_fits_large_line_numbers() -> None:
    text = "\n" * 12344 + "RULE far_away\n"
    rendered = render(error("E022", "m", span(12345, 6, 12345, 14)), {"r.cep": SourceFile("r.cep", text)})
    assert rendered.splitlines()[1:] == ["12345 | RULE far_away", "      |      ^~~~~~~~"]


def test_colour_only_when_asked() -> None:
    diagnostic = error("E014", "m", span(2, 28, 2, 30))
    assert "\x1b[" not in render(diagnostic, SOURCES)
    coloured = render(diagnostic, SOURCES, colour=True)
    assert "\x1b[1;31merror:\x1b[0m" in coloured
    assert coloured.endswith("^~\x1b[0m")
    assert "\x1b[1;33mwarning:\x1b[0m" in render(warning("W101", "m", span(2, 3, 2, 5)), SOURCES, colour=True)


def test_sort_by_path_line_column_code_and_drop_exact_repeats() -> None:
    found = [
        warning("W104", "b", span(2, 5, 2, 6)),
        error("E002", "a", span(2, 5, 2, 6)),
        error("E001", "z", span(1, 9, 1, 10, path="b.cep")),
        error("E002", "a", span(2, 5, 2, 6)),
        error("E014", "c", span(1, 20, 1, 22)),
    ]
    ordered = sort_diagnostics(found)
    assert [(d.span.path, d.span.line, d.code) for d in ordered] == [
        ("b.cep", 1, "E001"),
        ("r.cep", 1, "E014"),
        ("r.cep", 2, "E002"),
        ("r.cep", 2, "W104"),
    ]


def test_summary_line_counts_and_plurals() -> None:
    assert summary_line([], 1) == "1 file checked: 0 errors, 0 warnings"
    one_each = [error("E001", "m", span(1, 1, 1, 2)), warning("W101", "m", span(1, 1, 1, 2))]
    assert summary_line(one_each, 2) == "2 files checked: 1 error, 1 warning"
    assert summary_line(one_each * 2, 0) == "0 files checked: 2 errors, 2 warnings"


def test_to_dict_is_the_json_record() -> None:
    assert error("E017", "twice", span(3, 4, 3, 9)).to_dict() == {
        "code": "E017",
        "severity": "error",
        "path": "r.cep",
        "line": 3,
        "col": 4,
        "end_line": 3,
        "end_col": 9,
        "message": "twice",
    }


def test_diagnostics_are_values() -> None:
    assert error("E001", "m", span(1, 1, 1, 2)) == Diagnostic("E001", "error", "m", span(1, 1, 1, 2))
    assert hash(warning("W101", "m", span(1, 1, 1, 2))) == hash(warning("W101", "m", span(1, 1, 1, 2)))


def test_span_merge_and_str() -> None:
    merged = span(2, 10, 2, 12).merge(span(1, 4, 1, 8))
    assert merged == span(1, 4, 2, 12)
    assert str(merged) == "r.cep:1:4"


def test_source_lines_are_split_on_newlines_only() -> None:
    source = SourceFile("x.cep", "first\r\nsec\x0cond\u2028still second\nthird")
    assert [source.line_text(n) for n in (1, 2, 3, 4, 0)] == ["first", "sec\x0cond\u2028still second", "third", "", ""]
