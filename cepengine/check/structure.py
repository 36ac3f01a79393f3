"""Shape of a rule: its kind, clauses, durations, quantifiers and NOTs."""

from __future__ import annotations

from collections.abc import Iterator

from cepengine.check.scope import can_be_empty, first_elements
from cepengine.diagnostics import Diagnostic, error, warning
from cepengine.syntax import ast

PATTERN_ONLY_CLAUSES = ("SELECTION", "AFTER MATCH", "WHERE")


def check_structure(rule: ast.Rule) -> Iterator[Diagnostic]:
    yield from _kind(rule)
    yield from _severity(rule)
    yield from _durations(rule)
    for element in ast.rule_elements(rule):
        yield from _quantifier(element)
    if rule.pattern is not None:
        yield from _nots(rule.pattern.pattern, rule.pattern.within)
        yield from _pattern_warnings(rule, rule.pattern)


def _kind(rule: ast.Rule) -> Iterator[Diagnostic]:
    if rule.pattern is None and rule.source is None:
        yield error("E022", f"rule '{rule.name}' has neither PATTERN nor FROM ... WINDOW", rule.name_span)
        return
    if rule.pattern is not None and rule.source is not None:
        yield error(
            "E022",
            f"rule '{rule.name}' has both PATTERN and FROM ... WINDOW; a rule is one or the other",
            rule.source.span,
        )
        return
    if rule.pattern is not None and rule.having is not None:
        yield error(
            "E012",
            "HAVING belongs to window rules; use WHERE in a pattern rule",
            rule.clause_span("HAVING") or rule.span,
        )
    if rule.source is not None:
        for keyword in PATTERN_ONLY_CLAUSES:
            clause_span = rule.clause_span(keyword)
            if clause_span is not None:
                yield error("E013", f"{keyword} belongs to pattern rules, not to a window rule", clause_span)


def _severity(rule: ast.Rule) -> Iterator[Diagnostic]:
    if rule.severity not in ast.SEVERITIES:
        span = rule.clause_span("SEVERITY") or rule.span
        yield error(
            "E024",
            f"unknown severity '{rule.severity}'; expected one of {', '.join(ast.SEVERITIES)}",
            span,
        )


def _durations(rule: ast.Rule) -> Iterator[Diagnostic]:
    positive: list[tuple[str, ast.Duration]] = []
    if rule.pattern is not None and rule.pattern.within is not None:
        positive.append(("WITHIN", rule.pattern.within))
    if rule.source is not None:
        window = rule.source.window
        positive.append(("GAP" if window.kind == "session" else "window size", window.size))
        if window.slide is not None:
            positive.append(("EVERY", window.slide))
    for what, duration in positive:
        if duration.ms <= 0:
            yield error("E014", f"{what} must be a positive duration, not {duration.text}", duration.span)
    if rule.allowed_lateness is not None and rule.allowed_lateness.ms < 0:
        lateness = rule.allowed_lateness
        yield error("E014", f"ALLOWED LATENESS must not be negative, not {lateness.text}", lateness.span)
    if rule.source is not None:
        window = rule.source.window
        if window.slide is not None and window.slide.ms > window.size.ms > 0:
            yield error(
                "E015",
                f"EVERY {window.slide.text} is longer than the window ({window.size.text}): events would be missed",
                window.slide.span,
            )


def _quantifier(element: ast.Element) -> Iterator[Diagnostic]:
    q = element.quantifier
    if q is None:
        return
    if q.max is not None and q.min > q.max:
        yield error("E016", f"quantifier {q.text}: the minimum is larger than the maximum", q.span)
    elif q.max == 0:
        yield error("E016", f"quantifier {q.text} matches nothing; remove the element", q.span)


def _nots(
    pattern: ast.Pattern, within: ast.Duration | None, first: bool = True, last: bool = True
) -> Iterator[Diagnostic]:
    """NOT only inside SEQ, never first, never around a quantified element;
    a trailing NOT needs WITHIN. `first` / `last`: whether `pattern` starts /
    ends the match, so `SEQ(a, SEQ(NOT b, c))` is fine and
    `SEQ(a, SEQ(b, NOT c)) WITHIN 5m` has its WITHIN."""
    match pattern:
        case ast.NotPattern():
            yield error("E010", "NOT must be inside a SEQ, between or after other elements", pattern.span)
        case ast.Element():
            pass
        case ast.Seq():
            yield from _nots_in_seq(pattern, within, first, last)
        case ast.AndPattern() | ast.OrPattern():
            kind = "AND" if isinstance(pattern, ast.AndPattern) else "OR"
            for item in pattern.items:
                if isinstance(item, ast.NotPattern):
                    yield error("E010", f"NOT cannot stand directly inside {kind}; put it in a SEQ", item.span)
                else:
                    yield from _nots(item, within, first, last)


def _nots_in_seq(seq: ast.Seq, within: ast.Duration | None, first: bool, last: bool) -> Iterator[Diagnostic]:
    end = len(seq.items) - 1
    for index, item in enumerate(seq.items):
        if not isinstance(item, ast.NotPattern):
            yield from _nots(item, within, first and index == 0, last and index == end)
            continue
        if item.element.quantifier is not None:
            yield error("E009", "NOT cannot take a quantifier: absence of one event is absence of all", item.span)
        if first and all(can_be_empty(before) for before in seq.items[:index]):
            yield error("E008", "NOT cannot be first in a SEQ: absence needs an event to start from", item.span)
        elif last and within is None and all(can_be_empty(rest) for rest in seq.items[index + 1 :]):
            yield error(
                "E011",
                "a trailing NOT (nothing required after it) needs WITHIN: without it the absence is never settled",
                item.span,
            )


def _pattern_warnings(rule: ast.Rule, clause: ast.PatternClause) -> Iterator[Diagnostic]:
    pattern = clause.pattern
    has_quantifier = any(e.quantified for e in ast.elements(pattern))
    if clause.within is None:
        yield warning(
            "W101",
            "pattern without WITHIN keeps partial matches forever (unbounded state)",
            clause.span,
        )
        if rule.selection == "SKIP_TILL_ANY" and has_quantifier:
            span = rule.clause_span("SELECTION") or clause.span
            yield warning(
                "W102",
                "SKIP_TILL_ANY with a quantifier and no WITHIN: matches can grow exponentially",
                span,
            )
    trailing = _last_positive(pattern)
    if trailing is not None and trailing.quantifier is not None and trailing.quantifier.max is None:
        yield warning(
            "W105",
            f"trailing {trailing.quantifier.text} completes at its minimum "
            f"({trailing.quantifier.min}); later events are not added",
            trailing.quantifier.span,
        )
    for element in first_elements(pattern):
        if element.quantified and element.predicate is not None and _uses_prev(element.predicate):
            yield warning(
                "W106",
                "prev in the first element is missing on its first iteration (the comparison is false)",
                element.predicate.span,
            )


def _last_positive(pattern: ast.Pattern) -> ast.Element | None:
    """The element a match ends on, when a SEQ's last item is an element
    (a trailing NOT ends by time instead, so it has none)."""
    if isinstance(pattern, ast.Element):
        return pattern
    if isinstance(pattern, ast.Seq) and pattern.items and isinstance(pattern.items[-1], ast.Element | ast.Seq):
        return _last_positive(pattern.items[-1])
    return None


def _uses_prev(expr: ast.Expr) -> bool:
    return any(isinstance(n, ast.Path) and n.parts[0] == "prev" for n in ast.walk_expr(expr))
