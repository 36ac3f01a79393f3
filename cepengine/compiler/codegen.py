"""The only module that builds Python source or calls compile().

Every rule expression becomes one small Python function. The source is
generated from AST nodes only: field names are grammar NAMEs (identifiers),
numbers are emitted with repr(), and every string literal is passed in the
function's namespace as a constant, never spliced into the source. Each
function is compiled under a pseudo-filename naming the rule file, line and
column (registered in linecache, so a traceback shows the generated line)
and executed in a fresh namespace.
"""

from __future__ import annotations

import linecache
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from cepengine.compiler import functions as fn
from cepengine.compiler.nfa import Predicate
from cepengine.syntax import ast

Place = Literal["element", "match", "filter", "window"]

# The parameters of the generated function, by where the expression sits:
# d = the candidate event's fields, node = the run's last binding,
# aggs = a window's aggregate values, key = the window's key values.
_PARAMS: dict[Place, str] = {"element": "d, node", "match": "node", "filter": "d", "window": "aggs, key"}
_COMPARE_FN = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
_STRING_TEST_FN = {"matches": "matches", "contains": "contains", "startswith": "startswith"}
_ARITH_FN = {"+": "add", "-": "sub", "*": "mul", "/": "div", "%": "mod"}
_SCALAR_FN = {"abs": "fn_abs", "lower": "fn_lower", "upper": "fn_upper", "len": "fn_len"}
_ORDERING = {"<", "<=", ">", ">="}
_BOOLEAN_NODES = (ast.Compare, ast.InList, ast.IsNull, ast.BoolOp, ast.Not)


@attrs.frozen(slots=True)
class Scope:
    """What names mean where an expression is compiled."""

    place: Place
    aliases: Mapping[str, tuple[int, ...]] = attrs.field(factory=dict)
    quantified: frozenset[str] = frozenset()
    own: str | None = None
    by_fields: tuple[str, ...] = ()
    # Window rules: the aggregate calls, in slot order (filled while compiling).
    aggregates: list[tuple[str, tuple[str, ...]]] = attrs.field(factory=list, eq=False)


class _Source:
    """Accumulates the constants and temporaries of one generated function."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.namespace: dict[str, Any] = {name: getattr(fn, name) for name in _HELPERS}
        self.temps = 0

    def const(self, value: object) -> str:
        if value is None:
            return "None"
        if isinstance(value, bool | int | float):
            return repr(value)
        name = f"_c{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def temp(self) -> str:
        self.temps += 1
        return f"_t{self.temps}"

    def states(self, alias: str) -> str:
        return self.const(frozenset(self.scope.aliases[alias]))


_HELPERS = [
    "MISSING",
    "get_path",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "in_list",
    "not_in_list",
    "matches",
    "contains",
    "startswith",
    "exists",
    "truth",
    "add",
    "sub",
    "mul",
    "div",
    "mod",
    "neg",
    "fn_abs",
    "fn_lower",
    "fn_upper",
    "fn_len",
    "agg_sum",
    "agg_avg",
    "agg_min",
    "agg_max",
    "last_of",
    "all_of",
    "prev_of",
    "NUMBER_TYPES",
]


def compile_expr(expr: ast.Expr, scope: Scope, label: str) -> Predicate:
    """Compile one expression into a Predicate whose `fn` takes the
    parameters of `scope.place`."""
    source = _Source(scope)
    text = f"def _predicate({_PARAMS[scope.place]}):\n    return {_expr(expr, source)}\n"
    function = _compile(text, source.namespace, label)
    return Predicate(expr, text, function)


def compile_condition(expr: ast.Expr, scope: Scope, label: str) -> Predicate:
    """Like compile_expr, but the result is a plain bool (true only when
    the value is exactly true)."""
    if isinstance(expr, _BOOLEAN_NODES) or _is_bool_call(expr):
        return compile_expr(expr, scope, label)
    source = _Source(scope)
    text = f"def _predicate({_PARAMS[scope.place]}):\n    return truth({_expr(expr, source)})\n"
    return Predicate(expr, text, _compile(text, source.namespace, label))


def _compile(text: str, namespace: dict[str, Any], label: str) -> Any:
    filename = f"<cepengine {label}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    code = compile(text, filename, "exec")
    exec(code, namespace)
    return namespace["_predicate"]


def _is_bool_call(expr: ast.Expr) -> bool:
    return isinstance(expr, ast.Call) and expr.name.lower() == "exists"


# ---- expressions ---------------------------------------------------------------


def _expr(node: ast.Expr, src: _Source) -> str:
    match node:
        case ast.Const():
            return src.const(node.value)
        case ast.Path():
            return _path(node, src)
        case ast.Call():
            return _call(node, src)
        case ast.Member():
            return f"get_path({_call(node.target, src)}, {node.parts!r})"
        case ast.Arith():
            return f"{_ARITH_FN[node.op]}({_expr(node.left, src)}, {_expr(node.right, src)})"
        case ast.Negate():
            return f"neg({_expr(node.operand, src)})"
        case ast.Compare():
            return _compare(node, src)
        case ast.InList():
            helper = "not_in_list" if node.negated else "in_list"
            items = ", ".join(_expr(item, src) for item in node.items)
            return f"{helper}({_expr(node.operand, src)}, ({items},))"
        case ast.IsNull():
            test = "exists" if node.negated else "not exists"
            return f"({test}({_expr(node.operand, src)}))"
        case ast.BoolOp():
            return f"({_condition(node.left, src)} {node.op} {_condition(node.right, src)})"
        case ast.Not():
            return f"(not {_condition(node.operand, src)})"


def _condition(node: ast.Expr, src: _Source) -> str:
    code = _expr(node, src)
    return code if isinstance(node, _BOOLEAN_NODES) or _is_bool_call(node) else f"truth({code})"


def _compare(node: ast.Compare, src: _Source) -> str:
    left, right = _expr(node.left, src), _expr(node.right, src)
    if node.op in _STRING_TEST_FN:
        return f"{_STRING_TEST_FN[node.op]}({left}, {right})"
    # Fast path for the common `field OP number`: one type test, no call.
    if node.op in _ORDERING or node.op == "==":
        literal = node.right if isinstance(node.right, ast.Const) else None
        if literal is not None and type(literal.value) in (int, float):
            temp = src.temp()
            op = node.op
            return f"(type({temp} := {left}) in NUMBER_TYPES and {temp} {op} {right})"
    return f"{_COMPARE_FN[node.op]}({left}, {right})"


def _path(node: ast.Path, src: _Source) -> str:
    scope = src.scope
    head, rest = node.parts[0], node.parts[1:]
    if scope.place == "window":
        return f"key[{scope.by_fields.index(node.dotted)}]"
    if scope.place == "filter":
        return _field("d", node.parts)
    if head == "prev" and scope.place == "element":
        return _field("prev_of(node)", rest)
    if scope.place == "element" and head == scope.own:
        return "d" if not rest else _field("d", rest)
    if head in scope.aliases:
        return _field(f"last_of(node, {src.states(head)})", rest)
    if scope.place == "element":
        return _field("d", node.parts)
    # A bare BY field in WHERE / EMIT: every event of the match has it.
    return _field("node.event.data", node.parts)


def _field(base: str, parts: tuple[str, ...]) -> str:
    if not parts:
        return base
    if len(parts) == 1 and base == "d":
        return f"d.get({parts[0]!r}, MISSING)"
    return f"get_path({base}, {parts!r})"


def _call(node: ast.Call, src: _Source) -> str:
    name = node.name.lower()
    if name == "exists":
        return f"exists({_expr(node.args[0], src)})"
    if name in _SCALAR_FN:
        return f"{_SCALAR_FN[name]}({_expr(node.args[0], src)})"
    if src.scope.place == "window":
        field = node.args[0].parts if node.args and isinstance(node.args[0], ast.Path) else ()
        slot = (name, field)
        if slot not in src.scope.aggregates:
            src.scope.aggregates.append(slot)
        return f"aggs[{src.scope.aggregates.index(slot)}]"
    return _pattern_aggregate(name, node, src)


def _pattern_aggregate(name: str, node: ast.Call, src: _Source) -> str:
    arg = node.args[0]
    assert isinstance(arg, ast.Path)
    alias, field = arg.parts[0], arg.parts[1:]
    events = f"all_of(node, {src.states(alias)})"
    if name == "count":
        if not field:
            return f"len({events})"
        return f"sum(1 for _e in {events} if exists(get_path(_e, {field!r})))"
    if name in ("first", "last"):
        index = 0 if name == "first" else -1
        temp = src.temp()
        picked = f"({temp}[{index}] if ({temp} := {events}) else MISSING)"
        return _field(picked, field) if field else picked
    values = f"[get_path(_e, {field!r}) for _e in {events}]"
    return f"agg_{name}({values})"
