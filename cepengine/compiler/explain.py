"""A compiled rule, readable by a person: text, or Graphviz DOT."""

from __future__ import annotations

from cepengine.compiler.build import CompiledRule
from cepengine.compiler.nfa import END, UNBOUNDED, Automaton, Entry, Predicate, State, WindowPlan
from cepengine.syntax import ast

_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "compare": 4, "+": 5, "-": 5, "*": 6, "/": 6, "%": 6, "neg": 7}


def unparse(expr: ast.Expr) -> str:
    """Rule-language text for an expression (minimal parentheses)."""
    return _unparse(expr, 0)


def _unparse(expr: ast.Expr, outer: int) -> str:
    match expr:
        case ast.Const(value=value):
            return _literal(value)
        case ast.Path(parts=parts):
            return ".".join(parts)
        case ast.Call(name=name, args=args):
            return f"{name}({', '.join(_unparse(a, 0) for a in args)})"
        case ast.Member(target=target, parts=parts):
            return _unparse(target, 0) + "." + ".".join(parts)
        case ast.Arith(op=op, left=left, right=right):
            mine = _PRECEDENCE[op]
            return _wrap(f"{_unparse(left, mine)} {op} {_unparse(right, mine + 1)}", mine, outer)
        case ast.Negate(operand=operand):
            return _wrap(f"-{_unparse(operand, 7)}", 7, outer)
        case ast.Compare(op=op, left=left, right=right):
            return _wrap(f"{_unparse(left, 5)} {op} {_unparse(right, 5)}", 4, outer)
        case ast.InList(operand=operand, items=items, negated=negated):
            keyword = "not in" if negated else "in"
            text = f"{_unparse(operand, 5)} {keyword} ({', '.join(_unparse(i, 0) for i in items)})"
            return _wrap(text, 4, outer)
        case ast.IsNull(operand=operand, negated=negated):
            return _wrap(f"{_unparse(operand, 5)} is {'not ' if negated else ''}null", 4, outer)
        case ast.BoolOp(op=op, left=left, right=right):
            mine = _PRECEDENCE[op]
            return _wrap(f"{_unparse(left, mine)} {op} {_unparse(right, mine + 1)}", mine, outer)
        case ast.Not(operand=operand):
            return _wrap(f"not {_unparse(operand, 3)}", 3, outer)


def _wrap(text: str, mine: int, outer: int) -> str:
    return f"({text})" if mine < outer else text


def _literal(value: ast.LiteralValue) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


# ---- text ----------------------------------------------------------------------------


def explain_text(rule: CompiledRule) -> str:
    if isinstance(rule, WindowPlan):
        return _window_text(rule)
    return _automaton_text(rule)


def _most(state: State) -> str:
    return "∞" if state.max >= UNBOUNDED else str(state.max)


def _quantity(state: State) -> str:
    return "" if (state.min, state.max) == (1, 1) else f" {{{state.min},{_most(state)}}}"


def _emit_text(emit: tuple[tuple[str, Predicate], ...]) -> str:
    return "emit: " + ", ".join(f"{name} = {unparse(p.expr)}" for name, p in emit)


def _element(state_type: str | None, predicate: Predicate | None) -> str:
    text = state_type or "ANY"
    return f"{text}[{unparse(predicate.expr)}]" if predicate is not None else text


def _entry_text(automaton: Automaton, entry: Entry) -> str:
    target = "MATCH" if entry.target == END else f"S{entry.target}"
    notes = []
    guards = [g for g in automaton.guards if entry.guards & (1 << g.index)]
    if guards:
        notes.append("unless " + ", ".join(_element(g.type_name, g.predicate) for g in guards) + " came between")
    if entry.choices:
        notes.append("OR branch " + ", ".join(f"#{o}.{b + 1}" for o, b in entry.choices))
    return target + (f"  ({'; '.join(notes)})" if notes else "")


def _automaton_text(automaton: Automaton) -> str:
    info = automaton.info
    lines = [
        f"rule {info.name}: pattern automaton, {len(automaton.states)} states",
        f"  selection {automaton.selection}, after match {automaton.after_match.replace('_', ' ')}",
        f"  within {_ms(automaton.within_ms)}" if automaton.within_ms is not None else "  within: unbounded",
        f"  by {', '.join(info.by_names) or '(no partition)'}",
        f"  reads types: {', '.join(sorted(info.types)) if info.types is not None else 'any'}",
        "start:",
    ]
    lines += [f"  take into {_entry_text(automaton, e)}" for e in automaton.start]
    for state in automaton.states:
        lines.append(f"S{state.index} {state.alias}: {_element(state.type_name, state.predicate)}{_quantity(state)}")
        if state.max > 1:
            lines.append(f"  take: again into S{state.index} (while count < {_most(state)})")
        for entry in state.follow:
            lines.append(f"  proceed, take into {_entry_text(automaton, entry)}")
        if state.end is not None:
            done = "complete" if not state.end.guards else "wait for the watermark"
            lines.append(f"  at count >= {state.min}: {done} -> {_entry_text(automaton, state.end)}")
        lines.append(f"  ignore: {_ignore(automaton.selection)}")
    if automaton.where is not None:
        lines.append(f"where: {unparse(automaton.where.expr)}")
    if automaton.emit:
        lines.append(_emit_text(automaton.emit))
    return "\n".join(lines) + "\n"


def _ignore(selection: str) -> str:
    return {
        "STRICT": "never (the next event must fit, or the run dies)",
        "SKIP_TILL_NEXT": "events that fit no edge",
        "SKIP_TILL_ANY": "any event (the run also branches on every fitting event)",
    }[selection]


def _window_text(plan: WindowPlan) -> str:
    info = plan.info
    if plan.kind == "sliding":
        window = f"sliding {_ms(plan.size_ms)} every {_ms(plan.slide_ms)}"
    elif plan.kind == "session":
        window = f"session, gap {_ms(plan.size_ms)}"
    else:
        window = f"tumbling {_ms(plan.size_ms)}"
    lines = [
        f"rule {info.name}: window aggregate, {window}",
        f"  by {', '.join(info.by_names) or '(no partition)'}",
        f"  events: {(info.types and ', '.join(sorted(info.types))) or 'any'}"
        + (f" where {unparse(plan.filter.expr)}" if plan.filter else ""),
        "  aggregates (incremental): " + ", ".join(f"{n}({'.'.join(f)})" for n, f in plan.aggregates),
    ]
    if plan.having is not None:
        lines.append(f"  having: {unparse(plan.having.expr)}")
    if plan.emit:
        lines.append("  " + _emit_text(plan.emit))
    return "\n".join(lines) + "\n"


def _ms(ms: int) -> str:
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


# ---- DOT -----------------------------------------------------------------------------


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def explain_dot(rule: CompiledRule) -> str:
    """Graphviz DOT: states as nodes; take edges solid, proceed edges
    labelled with the element they take, NOT guards in red."""
    name = rule.info.name
    if isinstance(rule, WindowPlan):
        label = _window_text(rule)
        return f"digraph {_dot_string(name)} {{\n  node [shape=box];\n  window [label={_dot_string(label)}];\n}}\n"
    lines = [
        f"digraph {_dot_string(name)} {{",
        "  rankdir=LR;",
        '  node [shape=circle, fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
        "  start [shape=point];",
        "  match [shape=doublecircle, label=MATCH];",
    ]
    for state in rule.states:
        label = f"S{state.index}\\n{state.alias}{_quantity(state)}"
        lines.append(f'  S{state.index} [label="{label}"];')
    for entry in rule.start:
        lines.append(_dot_edge(rule, "start", entry))
    for state in rule.states:
        if state.max > 1:
            text = _element(state.type_name, state.predicate)
            lines.append(f"  S{state.index} -> S{state.index} [label={_dot_string('take ' + text)}];")
        for entry in state.follow:
            lines.append(_dot_edge(rule, f"S{state.index}", entry))
        if state.end is not None:
            lines.append(_dot_edge(rule, f"S{state.index}", state.end))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_edge(automaton: Automaton, source: str, entry: Entry) -> str:
    if entry.target == END:
        target, text = "match", "complete"
    else:
        state = automaton.states[entry.target]
        target, text = f"S{entry.target}", "take " + _element(state.type_name, state.predicate)
    guards = [g for g in automaton.guards if entry.guards & (1 << g.index)]
    if guards:
        text += "\nunless " + ", ".join(_element(g.type_name, g.predicate) for g in guards)
    colour = ', color="red"' if guards else ""
    return f"  {source} -> {target} [label={_dot_string(text)}{colour}];"
