"""The bundled rules over the bundled events give the planted matches
(examples/EXPECTED.md explains each; expected_matches.jsonl lists them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cepengine import Engine

ROOT = Path(__file__).resolve().parents[1]


def _expected() -> list[dict[str, object]]:
    lines = (ROOT / "examples" / "expected_matches.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def _run(**options: object) -> list[dict[str, object]]:
    engine = Engine.from_path(ROOT / "rules", max_delay="5s", **options)
    with (ROOT / "examples" / "events.jsonl").open() as handle:
        events = [json.loads(line) for line in handle]
    matches = list(engine.process(events)) + engine.close()
    assert engine.metrics()["rejected"] == 0
    return [{"rule": m.rule, "key": m.key, "start": m.start, "end": m.end} for m in matches]


def test_every_rule_fires_on_the_example_events() -> None:
    found = _run()
    assert found == _expected()
    rules = {rule.info.name for rule in Engine.from_path(ROOT / "rules").rules}
    assert {m["rule"] for m in found} == rules


@pytest.mark.parametrize("rule", ["potential_fraud", "order_without_payment", "brute_force_login"])
def test_expected_md_mentions_each_key(rule: str) -> None:
    text = (ROOT / "examples" / "EXPECTED.md").read_text()
    for match in _expected():
        if match["rule"] == rule:
            key = match["key"]
            assert isinstance(key, dict)
            assert all(str(value) in text for value in key.values())
