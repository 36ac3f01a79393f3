"""Compact streams for pattern tests.

`stream("c1 d1 a1 a2{x=3} b1@10")`: each token is an event whose type is the
token's leading letters and whose id is the token; `{k=v,...}` adds integer
(or quoted string) fields; `@t` sets the time in seconds (default: the
previous time + 1, starting at 0).
"""

from __future__ import annotations

import re
from typing import Any

from cepengine import Engine

_TOKEN = re.compile(r"(?P<id>[A-Za-z_]+\d*)(?:\{(?P<fields>[^}]*)\})?(?:@(?P<ts>\d+))?$")


def stream(spec: str) -> list[dict[str, Any]]:
    events = []
    ts = -1
    for token in spec.split():
        m = _TOKEN.match(token)
        assert m, token
        ts = int(m["ts"]) if m["ts"] is not None else ts + 1
        event: dict[str, Any] = {"id": m["id"], "type": re.match(r"[A-Za-z_]+?(?=\d|$)", m["id"])[0], "ts": ts}
        for pair in filter(None, (m["fields"] or "").split(",")):
            name, value = pair.split("=")
            event[name] = value.strip("'\"") if value[0] in "'\"" else int(value)
        events.append(event)
    return events


def ids(value: Any) -> Any:
    if isinstance(value, list):
        return [e["id"] for e in value]
    return value["id"]


def run(rule_text: str, events: list[dict[str, Any]], **options: Any) -> list[dict[str, Any]]:
    """Every match as {alias: id or [ids]}, in output order (input closed)."""
    engine = Engine.from_text(rule_text, **options)
    found = list(engine.process(events)) + engine.close()
    return [{alias: ids(v) for alias, v in m.events.items()} for m in found]


def run_spec(rule_text: str, spec: str, **options: Any) -> list[dict[str, Any]]:
    return run(rule_text, stream(spec), **options)
