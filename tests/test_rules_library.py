"""The bundled rule library (`rules/`) and example events (`examples/`).

- the library checks clean: no errors and no warnings;
- every rule parses to the AST written out here by hand (spans are not part
  of AST equality, so they are left out);
- `examples/events.jsonl` is well formed and is exactly what
  `examples/generate_events.py` writes for its default seed.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest

from cepengine.check import CheckResult, check_paths
from cepengine.syntax.ast import (
    Arith,
    BoolOp,
    Call,
    Compare,
    Const,
    Duration,
    Element,
    EmitItem,
    Expr,
    FromClause,
    InList,
    Member,
    NotPattern,
    PatternClause,
    Quantifier,
    Rule,
    Seq,
    Window,
)
from cepengine.syntax.ast import (
    Path as FieldPath,
)

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
EXAMPLES = ROOT / "examples"
EVENTS = EXAMPLES / "events.jsonl"
GENERATOR = EXAMPLES / "generate_events.py"


@pytest.fixture(scope="module")
def library() -> CheckResult:
    return check_paths([RULES])


@pytest.fixture(scope="module")
def rules(library: CheckResult) -> dict[str, Rule]:
    return {rule.name: rule for rule in library.rules}


# ---- (a) the library checks clean ----------------------------------------------


def test_library_has_no_diagnostics(library: CheckResult) -> None:
    assert [f"{d.span}: {d.severity} {d.code}: {d.message}" for d in library.diagnostics] == []


def test_library_holds_the_expected_rules(library: CheckResult) -> None:
    assert sorted(rule.name for rule in library.rules) == sorted(EXPECTED)
    assert len(library.rules) == len(EXPECTED)  # no name twice


def test_every_rule_is_documented_and_emits(library: CheckResult) -> None:
    for rule in library.rules:
        assert rule.description, rule.name
        assert rule.clause_span("SEVERITY") is not None, rule.name
        assert rule.tags, rule.name
        assert rule.emit, rule.name
        if rule.pattern is not None:
            assert rule.pattern.within is not None, rule.name


# ---- (b) each rule parses to the AST written out by hand -------------------------


def p(dotted: str) -> FieldPath:
    return FieldPath(tuple(dotted.split(".")))


def c(value: int | float | str | bool | None) -> Const:
    return Const(value)


def call(name: str, *args: Expr) -> Call:
    return Call(name, args)


def el(
    type_name: str | None, predicate: Expr | None = None, quantifier: Quantifier | None = None, alias: str | None = None
) -> Element:
    return Element(type_name, predicate, quantifier, alias)


def bare(dotted: str) -> EmitItem:
    return EmitItem(dotted.split(".")[-1], p(dotted), False)


def named(name: str, expr: Expr) -> EmitItem:
    return EmitItem(name, expr, True)


def minutes(n: int, text: str | None = None) -> Duration:
    return Duration(n * 60_000, text or f"{n}m")


EXPECTED: dict[str, Rule] = {
    "potential_fraud": Rule(
        name="potential_fraud",
        description="Login, a large transfer and a logout by one user within 5 minutes",
        severity="high",
        tags=("fraud", "payments"),
        pattern=PatternClause(
            Seq(
                (
                    el("login", alias="l"),
                    el("transfer", Compare(">", p("amount"), c(10000)), alias="t"),
                    el("logout"),
                )
            ),
            minutes(5),
        ),
        by=(p("user"),),
        emit=(bare("user"), named("amount", p("t.amount")), named("login_ip", p("l.ip"))),
    ),
    "card_testing": Rule(
        name="card_testing",
        description=(
            "Three or more charges under 10 on one card, then a charge of 300 or more "
            "worth over 20 times all of them, within 30 minutes"
        ),
        severity="critical",
        tags=("fraud", "cards"),
        pattern=PatternClause(
            Seq(
                (
                    el("charge", Compare("<", p("amount"), c(10)), Quantifier(3, None, "{3,}"), "probes"),
                    el("charge", Compare(">=", p("amount"), c(300)), alias="cashout"),
                )
            ),
            minutes(30),
        ),
        by=(p("card"),),
        where=Compare(">", p("cashout.amount"), Arith("*", c(20), call("sum", p("probes.amount")))),
        emit=(
            bare("card"),
            named("probes", call("count", p("probes"))),
            named("probe_total", call("sum", p("probes.amount"))),
            named("probe_merchant", Member(call("first", p("probes")), ("merchant",))),
            named("cashout_amount", p("cashout.amount")),
            named("cashout_merchant", p("cashout.merchant")),
        ),
    ),
    "account_takeover": Rule(
        name="account_takeover",
        description="Password reset, then an email change from a different IP within 30 minutes",
        severity="critical",
        tags=("fraud", "account_takeover", "identity"),
        pattern=PatternClause(
            Seq(
                (
                    el("password_reset", alias="reset"),
                    el("email_change", Compare("!=", p("ip"), p("reset.ip")), alias="change"),
                )
            ),
            minutes(30),
        ),
        by=(p("user"),),
        emit=(
            bare("user"),
            named("reset_ip", p("reset.ip")),
            named("reset_country", p("reset.country")),
            named("change_ip", p("change.ip")),
            named("new_email", p("change.new_email")),
        ),
    ),
    "brute_force_login": Rule(
        name="brute_force_login",
        description="Ten or more failed logins against three or more accounts from one IP within 5 minutes",
        severity="high",
        tags=("security", "authentication", "brute_force"),
        source=FromClause(
            el("login_failed", Compare("!=", p("reason"), c("mfa"))),
            Window("sliding", minutes(5), minutes(1)),
        ),
        by=(p("ip"),),
        having=BoolOp(
            "and",
            Compare(">=", call("count"), c(10)),
            Compare(">=", call("count_distinct", p("user")), c(3)),
        ),
        emit=(
            bare("ip"),
            named("failures", call("count")),
            named("users", call("count_distinct", p("user"))),
            named("first_attempt", call("first", p("ts"))),
            named("last_attempt", call("last", p("ts"))),
        ),
    ),
    "impossible_travel": Rule(
        name="impossible_travel",
        description="Two logins by one user from different countries within an hour",
        severity="high",
        tags=("security", "account_takeover", "geo"),
        pattern=PatternClause(
            Seq(
                (
                    el("login", alias="first_login"),
                    el("login", Compare("!=", p("country"), p("first_login.country")), alias="second_login"),
                )
            ),
            Duration(3_600_000, "1h"),
        ),
        by=(p("user"),),
        emit=(
            bare("user"),
            named("from_country", p("first_login.country")),
            named("from_ip", p("first_login.ip")),
            named("to_country", p("second_login.country")),
            named("to_ip", p("second_login.ip")),
        ),
    ),
    "port_scan": Rule(
        name="port_scan",
        description="One source probing 20 or more distinct ports of our hosts within a minute",
        severity="medium",
        tags=("security", "network", "reconnaissance"),
        source=FromClause(
            el("conn", Compare("==", p("direction"), c("inbound"))),
            Window("tumbling", minutes(1)),
        ),
        by=(p("src_ip"),),
        having=Compare(">=", call("count_distinct", p("dst_port")), c(20)),
        emit=(
            bare("src_ip"),
            named("ports", call("count_distinct", p("dst_port"))),
            named("attempts", call("count")),
            named("targets", call("count_distinct", p("dst_ip"))),
            named("lowest_port", call("min", p("dst_port"))),
            named("highest_port", call("max", p("dst_port"))),
        ),
    ),
    "privilege_escalation": Rule(
        name="privilege_escalation",
        description=(
            "An admin-level role granted and used within an hour with no approval by a second person in between"
        ),
        severity="critical",
        tags=("security", "iam", "privilege_escalation"),
        pattern=PatternClause(
            Seq(
                (
                    el("role_grant", InList(p("role"), (c("admin"), c("owner"), c("root")), False), alias="grant"),
                    NotPattern(el("approval", Compare("!=", p("approver"), p("grant.granted_by")))),
                    el("sensitive_action", alias="use"),
                )
            ),
            Duration(3_600_000, "1h"),
        ),
        by=(p("user"),),
        emit=(
            bare("user"),
            named("role", p("grant.role")),
            named("granted_by", p("grant.granted_by")),
            named("action", p("use.action")),
            named("resource", p("use.resource")),
        ),
    ),
    "order_without_payment": Rule(
        name="order_without_payment",
        description="An order with no successful payment within 30 minutes",
        severity="medium",
        tags=("commerce", "payments"),
        pattern=PatternClause(
            Seq(
                (
                    el("order", alias="placed"),
                    NotPattern(el("payment", Compare("==", p("status"), c("succeeded")))),
                )
            ),
            minutes(30),
        ),
        by=(p("order_id"),),
        emit=(
            bare("order_id"),
            named("customer", p("placed.user")),
            named("total", p("placed.amount")),
            named("placed_at", p("placed.ts")),
        ),
    ),
    "session_gone_quiet": Rule(
        name="session_gone_quiet",
        description="A shopper put items in the cart, then went quiet for 20 minutes without ordering",
        severity="low",
        tags=("commerce", "cart_abandonment"),
        source=FromClause(
            el(None, InList(p("type"), (c("page_view"), c("cart_add"), c("order")), False)),
            Window("session", minutes(20)),
        ),
        by=(p("user"),),
        having=BoolOp(
            "and",
            Compare(">=", call("count", p("sku")), c(1)),
            Compare("==", call("count", p("order_id")), c(0)),
        ),
        emit=(
            bare("user"),
            named("events", call("count")),
            named("cart_items", call("count", p("sku"))),
            named("cart_value", call("sum", p("price"))),
            named("started", call("first", p("ts"))),
            named("last_seen", call("last", p("ts"))),
        ),
    ),
    "price_rising": Rule(
        name="price_rising",
        description="A price that rose on three consecutive ticks within 10 minutes",
        severity="low",
        tags=("markets", "momentum"),
        pattern=PatternClause(
            Seq(
                (
                    el("tick", alias="base"),
                    el("tick", Compare(">", p("price"), p("prev.price")), Quantifier(3, 3, "{3}"), "rises"),
                )
            ),
            minutes(10),
        ),
        by=(p("symbol"),),
        selection="STRICT",
        emit=(
            bare("symbol"),
            named("from_price", p("base.price")),
            named("to_price", Member(call("last", p("rises")), ("price",))),
            named("rise_count", call("count", p("rises"))),
            named("volume", call("sum", p("rises.volume"))),
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_rule_parses_to_the_expected_ast(rules: dict[str, Rule], name: str) -> None:
    assert rules[name] == EXPECTED[name]


# Key facts, stated a second way: (kind, window or None, WITHIN ms or None,
# BY paths, EMIT names).
KEY_FIELDS = {
    "potential_fraud": ("pattern", None, 300_000, ("user",), ("user", "amount", "login_ip")),
    "card_testing": (
        "pattern",
        None,
        1_800_000,
        ("card",),
        ("card", "probes", "probe_total", "probe_merchant", "cashout_amount", "cashout_merchant"),
    ),
    "account_takeover": (
        "pattern",
        None,
        1_800_000,
        ("user",),
        ("user", "reset_ip", "reset_country", "change_ip", "new_email"),
    ),
    "brute_force_login": (
        "window",
        ("sliding", 300_000, 60_000),
        None,
        ("ip",),
        ("ip", "failures", "users", "first_attempt", "last_attempt"),
    ),
    "impossible_travel": (
        "pattern",
        None,
        3_600_000,
        ("user",),
        ("user", "from_country", "from_ip", "to_country", "to_ip"),
    ),
    "port_scan": (
        "window",
        ("tumbling", 60_000, None),
        None,
        ("src_ip",),
        ("src_ip", "ports", "attempts", "targets", "lowest_port", "highest_port"),
    ),
    "privilege_escalation": (
        "pattern",
        None,
        3_600_000,
        ("user",),
        ("user", "role", "granted_by", "action", "resource"),
    ),
    "order_without_payment": (
        "pattern",
        None,
        1_800_000,
        ("order_id",),
        ("order_id", "customer", "total", "placed_at"),
    ),
    "session_gone_quiet": (
        "window",
        ("session", 1_200_000, None),
        None,
        ("user",),
        ("user", "events", "cart_items", "cart_value", "started", "last_seen"),
    ),
    "price_rising": (
        "pattern",
        None,
        600_000,
        ("symbol",),
        ("symbol", "from_price", "to_price", "rise_count", "volume"),
    ),
}


@pytest.mark.parametrize("name", sorted(KEY_FIELDS))
def test_rule_key_fields(rules: dict[str, Rule], name: str) -> None:
    rule = rules[name]
    kind = "pattern" if rule.pattern is not None else "window"
    window = None
    if rule.source is not None:
        w = rule.source.window
        window = (w.kind, w.size.ms, w.slide.ms if w.slide is not None else None)
    within = rule.pattern.within.ms if rule.pattern is not None and rule.pattern.within is not None else None
    by = tuple(path.dotted for path in rule.by)
    emits = tuple(item.name for item in rule.emit)
    assert (kind, window, within, by, emits) == KEY_FIELDS[name]


# ---- (c) the example events ----------------------------------------------------


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_events", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def events() -> list[dict[str, object]]:
    with EVENTS.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def _ms(ts: object) -> int:
    assert isinstance(ts, str)
    assert ts.endswith("Z") and len(ts) == len("2026-03-02T09:15:04.250Z"), ts
    return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)


def test_events_are_well_formed(events: list[dict[str, object]]) -> None:
    assert 3000 <= len(events) <= 6000
    for event in events:
        assert isinstance(event, dict)
        assert isinstance(event.get("id"), str) and event["id"], event
        assert isinstance(event.get("type"), str) and event["type"], event
        _ms(event.get("ts"))
    ids = [event["id"] for event in events]
    assert len(set(ids)) == len(ids)


def test_events_are_in_time_order_within_two_seconds(events: list[dict[str, object]]) -> None:
    latest = 0
    worst = 0
    for event in events:
        ts = _ms(event["ts"])
        latest = max(latest, ts)
        worst = max(worst, latest - ts)
    assert 0 < worst < 2000  # some disorder, never more than 2 s


def test_events_carry_the_fields_the_rules_read(events: list[dict[str, object]]) -> None:
    needed = {
        "login": {"user", "ip", "country"},
        "logout": {"user"},
        "transfer": {"user", "amount"},
        "charge": {"card", "amount", "merchant"},
        "password_reset": {"user", "ip", "country"},
        "email_change": {"user", "ip", "new_email"},
        "login_failed": {"user", "ip", "reason"},
        "conn": {"src_ip", "dst_ip", "dst_port", "direction"},
        "role_grant": {"user", "role", "granted_by"},
        "approval": {"user", "approver"},
        "sensitive_action": {"user", "action", "resource"},
        "page_view": {"user"},
        "cart_add": {"user", "sku", "price"},
        "order": {"user", "order_id", "amount"},
        "payment": {"order_id", "status"},
        "tick": {"symbol", "price", "volume"},
    }
    seen = set()
    for event in events:
        fields = needed.get(str(event["type"]))
        assert fields is not None, f"unexpected event type {event['type']}"
        assert fields <= event.keys(), event
        seen.add(event["type"])
    assert seen == set(needed)


def test_generator_reproduces_the_committed_file(tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    done = subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(out)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert len(done.stdout.splitlines()) <= 1
    assert out.read_bytes() == EVENTS.read_bytes()


def test_generate_depends_only_on_the_seed() -> None:
    module = load_generator()
    assert module.generate(7) == module.generate(7)
    assert module.generate(7) != module.generate(8)
