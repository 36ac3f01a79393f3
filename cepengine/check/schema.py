"""Field checks against an event schema (`check --schema FILE`).

A schema is JSON: event type → field → type name (number, string, boolean,
object, array, any). Fields of an `object` are not checked further.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from cepengine.check.predicates import literal_kind
from cepengine.check.scope import PREV, element_scopes, paths_in
from cepengine.diagnostics import Diagnostic, warning
from cepengine.syntax import ast

Schema = Mapping[str, Mapping[str, str]]


def check_schema(rule: ast.Rule, schema: Schema) -> Iterator[Diagnostic]:
    if rule.pattern is not None:
        scopes = element_scopes(rule.pattern.pattern)
        types = {s.element.alias: s.element.type_name for s in scopes}
        for scope in scopes:
            yield from _element(scope.element, types, schema)
        for expr in [rule.where, *(i.expr for i in rule.emit)]:
            if expr is not None:
                yield from _alias_paths(expr, types, None, schema)
        positive = [s.element for s in scopes if not s.negated]
    elif rule.source is not None:
        element = rule.source.element
        yield from _element(element, {}, schema)
        for expr in [rule.having, *(i.expr for i in rule.emit)]:
            if expr is not None:
                yield from _aggregate_fields(expr, element.type_name, schema)
        positive = [element]
    else:
        return
    for field in rule.by:
        for element in positive:
            fields = schema.get(element.type_name or "")
            if fields is not None and not _has_field(fields, field.parts):
                yield warning(
                    "W107",
                    f"events of type '{element.type_name}' have no field '{field.dotted}': "
                    "they would not be routed to this rule",
                    field.span,
                )


def _element(element: ast.Element, types: Mapping[str, str | None], schema: Schema) -> Iterator[Diagnostic]:
    if element.type_name is not None and element.type_name not in schema:
        yield warning("W107", f"unknown event type '{element.type_name}'", element.span)
        return
    if element.predicate is not None:
        yield from _alias_paths(element.predicate, types, element, schema)


def _alias_paths(
    expr: ast.Expr, types: Mapping[str, str | None], own: ast.Element | None, schema: Schema
) -> Iterator[Diagnostic]:
    for path in paths_in(expr):
        head = path.parts[0]
        if own is not None and head in (PREV, own.alias):
            type_name, parts = own.type_name, path.parts[1:]
        elif head in types:
            type_name, parts = types[head], path.parts[1:]
        elif own is not None:
            type_name, parts = own.type_name, path.parts
        else:
            continue
        yield from _field(type_name, parts, path, schema)
    yield from _literal_mismatch(expr, own, schema)


def _aggregate_fields(expr: ast.Expr, type_name: str | None, schema: Schema) -> Iterator[Diagnostic]:
    for node in ast.walk_expr(expr):
        if isinstance(node, ast.Call):
            for arg in node.args:
                if isinstance(arg, ast.Path):
                    yield from _field(type_name, arg.parts, arg, schema)


def _field(type_name: str | None, parts: tuple[str, ...], path: ast.Path, schema: Schema) -> Iterator[Diagnostic]:
    if not parts or type_name is None or type_name not in schema:
        return
    if not _has_field(schema[type_name], parts):
        yield warning("W107", f"events of type '{type_name}' have no field '{'.'.join(parts)}'", path.span)


def _has_field(fields: Mapping[str, str], parts: tuple[str, ...]) -> bool:
    return parts[0] in fields


def _literal_mismatch(expr: ast.Expr, own: ast.Element | None, schema: Schema) -> Iterator[Diagnostic]:
    """`amount == "x"` where the schema says amount is a number."""
    if own is None or own.type_name is None or own.type_name not in schema:
        return
    fields = schema[own.type_name]
    for node in ast.walk_expr(expr):
        if not isinstance(node, ast.Compare) or node.op in ("matches", "contains", "startswith"):
            continue
        for field, literal in ((node.left, node.right), (node.right, node.left)):
            if isinstance(field, ast.Path) and isinstance(literal, ast.Const) and len(field.parts) == 1:
                declared = fields.get(field.parts[0])
                found = literal_kind(literal.value)
                if declared in ("number", "string", "boolean") and found not in (declared, "null"):
                    yield warning(
                        "W108",
                        f"'{field.dotted}' is a {declared} in the schema; comparing it with {found} "
                        f"{literal.value!r} is always false",
                        node.span,
                    )
