"""Generate the example event stream for the rule library in `rules/`.

    python examples/generate_events.py                  # writes examples/events.jsonl
    python examples/generate_events.py --seed 7 --out /tmp/events.jsonl

One day (2026-03-02, UTC) of a bank, a card processor, a web shop, its
network and its staff directory: a few thousand events of background noise
that no rule should fire on, plus planted scenarios so that every rule in
`rules/` fires a few times, and planted near misses (a transfer of exactly
10000, an order paid after 29 minutes, a port scan split by a minute
boundary, ...) that must not fire. `examples/EXPECTED.md` lists them.

Output: JSON lines, one event each, with a unique string `id`, a `type` and
`ts` as an ISO-8601 UTC string with milliseconds. The file is in event-time
order with slight disorder, as a real collector delivers it: an event may
come after one that is up to 2 seconds younger. Run the engine with
`--max-delay 5s` so that it reorders them:

    cepengine run rules/ examples/events.jsonl --max-delay 5s

The output depends only on the seed: the same seed gives the same file, byte
for byte (nothing here iterates over a set or reads the clock).
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DEFAULT_SEED = 20260302
DEFAULT_OUT = Path(__file__).resolve().parent / "events.jsonl"

DAY = datetime(2026, 3, 2, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY_MS = (DAY - EPOCH) // timedelta(milliseconds=1)
MAX_DISORDER_MS = 1900  # an event arrives at most this much after a younger one

SECOND = 1000
MINUTE = 60 * SECOND

Event = dict[str, Any]


def at(clock: str) -> int:
    """'09:21:05.250' on the example day -> epoch milliseconds."""
    hours, minutes, seconds = clock.split(":")
    return DAY_MS + round(((int(hours) * 60 + int(minutes)) * 60 + float(seconds)) * 1000)


def iso(ms: int) -> str:
    moment = EPOCH + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


# ---- reference data ------------------------------------------------------------

_FIRST_NAMES_TEXT = """
aaron abby adam adele aiden alba alex alma amir ana andre anika arjun aurora basil bea bruno camila
carl carmen cyrus dana dario diego dina eli elif emil erin ezra farah felix fern finn gabe gemma gus
hana hugo ida ines ivan jade jonas josh kai kara kemal kira lara leo lior luca maya milo nadia nico
nina omar otto pia quinn rafa rhea rosa sami sara theo tomas uma vera wade xena yara yusuf zane zoe
"""
_LAST_NAMES_TEXT = """
abbott adler alvarez baker banerjee becker bianchi brandt castro costa cruz dahl davies dixon duarte
eriksen evans farouk ferrari foster gallo garner hale hansen hayes ibrahim ito jansen jensen kaur
keller kowalski larsen lemaire lopez lund maddox moreau morris nakamura novak olsen ortiz patel
perrin quinlan reyes romano sato schultz silva sousa stone suzuki torres ueda vargas vogel walsh
weber young zhou
"""
_MERCHANTS_TEXT = """
corner-grocer metro-transit bean-there-coffee bookhaven fuel-stop pharma-plus streamflix
urban-outfit home-depot-eu sushi-go city-parking petworld cinema-one
"""
FIRST_NAMES = _FIRST_NAMES_TEXT.split()
LAST_NAMES = _LAST_NAMES_TEXT.split()

# Country -> first octet of the (made-up but plausible) addresses of its ISPs.
# Planted attackers use first octets that are not in this table.
COUNTRY_PREFIX = {
    "US": 73,
    "GB": 81,
    "DE": 91,
    "FR": 90,
    "IT": 93,
    "ES": 88,
    "NL": 84,
    "BR": 177,
    "IN": 49,
    "JP": 126,
}
HOME_COUNTRIES = list(COUNTRY_PREFIX)
HOME_WEIGHTS = [24, 14, 12, 10, 6, 6, 6, 8, 8, 6]

MERCHANTS = _MERCHANTS_TEXT.split()
SHOP_PATHS = ["/", "/c/shoes", "/c/jackets", "/c/bags", "/c/sale", "/search?q=boots", "/help/shipping"]
SENSITIVE_ACTIONS = [
    ("export_customer_db", "crm-prod"),
    ("create_api_key", "payments-api"),
    ("modify_firewall", "edge-fw-01"),
    ("read_payroll", "hr-payroll"),
    ("disable_mfa", "idp"),
    ("delete_audit_log", "siem"),
    ("rotate_secret", "vault"),
]
PUBLIC_HOSTS = {443: "203.0.113.10", 80: "203.0.113.10", 8443: "203.0.113.12", 25: "203.0.113.11", 22: "203.0.113.12"}
SYMBOL_OPEN = {"ACME": 8410, "GLBX": 21255, "NOVA": 1987}  # opening prices in cents

COMMON_PORTS = """
21 22 23 25 53 80 110 111 135 139 143 443 445 993 995 1433 1521 1723 2049 3306 3389 5432 5900 6379
8080 8443 9200 11211 27017
"""


class Stream:
    """Collects events; `finish` orders them, adds a little disorder and ids."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.events: list[tuple[int, Event]] = []
        self.taken: set[str] = set()

    def add(self, ts: int, type_: str, **fields: Any) -> None:
        self.events.append((ts, {"type": type_, **fields}))

    def name(self) -> str:
        """A user name no one else in the stream has."""
        while True:
            candidate = f"{self.rng.choice(FIRST_NAMES)}.{self.rng.choice(LAST_NAMES)}"
            if candidate not in self.taken:
                self.taken.add(candidate)
                return candidate

    def reserve(self, *names: str) -> None:
        self.taken.update(names)

    def ip(self, country: str) -> str:
        r = self.rng
        return f"{COUNTRY_PREFIX[country]}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"

    def finish(self) -> list[Event]:
        rng = self.rng
        keyed = []
        for position, (ts, event) in enumerate(self.events):
            # One event in eight is delivered late, by less than 2 seconds.
            delay = rng.randint(1, MAX_DISORDER_MS) if rng.random() < 0.125 else 0
            keyed.append((ts + delay, ts, position, event))
        keyed.sort(key=lambda item: (item[0], item[1], item[2]))
        out = []
        for number, (_, ts, _, event) in enumerate(keyed, start=1):
            out.append({"id": f"evt-{number:05d}", "type": event["type"], "ts": iso(ts), **_fields(event)})
        return out


def _fields(event: Event) -> Event:
    return {k: v for k, v in event.items() if k != "type"}


def spread(rng: random.Random, count: int, start: int, end: int, min_gap: int) -> list[int]:
    """`count` sorted random times in [start, end) at least `min_gap` apart
    (fewer if they do not fit after a few tries)."""
    for _ in range(50):
        times = sorted(rng.randrange(start, end) for _ in range(count))
        if all(b - a >= min_gap for a, b in itertools.pairwise(times)):
            return times
    return spread(rng, count - 1, start, end, min_gap) if count > 1 else [rng.randrange(start, end)]


def money(value: float) -> float:
    return round(value, 2)


# ---- background noise ----------------------------------------------------------


def bank_noise(s: Stream) -> None:
    """Customers log in, move modest sums and log out. A few large transfers,
    always in sessions longer than 5 minutes; a few travellers, abroad hours
    after their last login at home; password resets and email changes from
    the customer's own network; a slow credential-stuffing bot."""
    rng = s.rng
    customers = []
    for _ in range(75):
        country = rng.choices(HOME_COUNTRIES, HOME_WEIGHTS)[0]
        ips = [s.ip(country) for _ in range(rng.choice([1, 1, 2]))]
        customers.append((s.name(), country, ips))

    travellers = customers[:5]
    for user, country, ips in travellers:
        abroad = rng.choice([c for c in HOME_COUNTRIES if c != country])
        bank_session(s, user, country, ips[0], rng.randrange(at("08:05:00"), at("10:00:00")))
        bank_session(s, user, abroad, s.ip(abroad), rng.randrange(at("14:00:00"), at("18:00:00")))

    for user, country, ips in customers[5:]:
        starts = spread(rng, rng.choices([1, 2, 3], [4, 4, 2])[0], at("08:00:00"), at("19:30:00"), 45 * MINUTE)
        for start in starts:
            bank_session(s, user, country, rng.choice(ips), start)

    # Password resets from the customer's own network; some then change their
    # email, from the same address (account_takeover must not fire).
    for index, (user, country, ips) in enumerate(customers[5:15]):
        reset = rng.randrange(at("08:30:00"), at("19:00:00"))
        ip = ips[0]
        s.add(reset, "password_reset", user=user, ip=ip, country=country, channel=rng.choice(["email", "sms"]))
        s.add(reset + rng.randint(60, 180) * SECOND, "login", user=user, ip=ip, country=country, device="web")
        if index % 3 == 0:
            new_email = f"{user.replace('.', '_')}@{rng.choice(['gmail.com', 'outlook.com', 'icloud.com'])}"
            s.add(reset + rng.randint(5, 15) * MINUTE, "email_change", user=user, ip=ip, new_email=new_email)
    # Email changes with no reset anywhere near them.
    for user, _country, ips in customers[15:19]:
        new_email = f"{user.split('.')[0]}.{rng.randint(10, 99)}@fastmail.com"
        s.add(rng.randrange(at("08:30:00"), at("19:00:00")), "email_change", user=user, ip=ips[-1], new_email=new_email)

    # A slow credential-stuffing bot: one failure every 70-150 s, never ten in
    # five minutes.
    names = [c[0] for c in customers] + ["admin", "test", "info", "support", "root"]
    ts = at("10:00:00")
    while ts < at("12:30:00"):
        s.add(ts, "login_failed", user=rng.choice(names), ip="80.82.77.139", reason="unknown_user")
        ts += rng.randint(70, 150) * SECOND


def bank_session(s: Stream, user: str, country: str, ip: str, login: int) -> None:
    rng = s.rng
    device = rng.choice(["ios", "android", "web"])
    if rng.random() < 0.18:
        for back in sorted(rng.sample(range(8, 90), rng.randint(1, 2)), reverse=True):
            reason = rng.choice(["bad_password", "bad_password", "bad_password", "mfa"])
            s.add(login - back * SECOND, "login_failed", user=user, ip=ip, reason=reason)
    s.add(login, "login", user=user, ip=ip, country=country, device=device)
    cur = login
    large = False
    for _ in range(rng.choices([0, 1, 2, 3], [3, 4, 2, 1])[0]):
        cur += rng.randint(20, 240) * SECOND
        if not large and rng.random() < 0.07:
            amount, large = money(rng.uniform(10500, 40000)), True
        else:
            amount = money(min(9500.0, rng.lognormvariate(5.7, 1.0)))
        account = f"ACC{rng.randint(10**7, 10**8 - 1)}"
        s.add(cur, "transfer", user=user, amount=amount, currency="EUR", to_account=account)
    if rng.random() < 0.85:
        logout = cur + rng.randint(30, 300) * SECOND
        if large:  # a large transfer in a session of more than 5 minutes: not potential_fraud
            logout = max(logout, login + rng.randint(8, 20) * MINUTE)
        s.add(logout, "logout", user=user)


def card_noise(s: Stream) -> None:
    """Cards used a few times a day, at least 20 minutes apart: a small
    charge (coffee, a bus ticket) now and then, never three in 30 minutes."""
    rng = s.rng
    for _ in range(110):
        card = f"tok_{rng.getrandbits(40):010x}"
        for ts in spread(rng, rng.randint(1, 6), at("08:00:00"), at("20:00:00"), 20 * MINUTE):
            if rng.random() < 0.15:
                amount = money(rng.uniform(2.5, 9.9))
            else:
                amount = money(max(10.0, rng.lognormvariate(3.7, 0.9)))
            s.add(ts, "charge", card=card, amount=amount, currency="EUR", merchant=rng.choice(MERCHANTS))


def iam_noise(s: Stream, managers: list[str], security: list[str]) -> None:
    """Standing admins at work; admin grants approved by a second person
    before use; non-admin grants used without approval."""
    rng = s.rng
    for _ in range(3):
        admin = s.name()
        for ts in spread(rng, rng.randint(3, 6), at("08:30:00"), at("18:30:00"), 30 * MINUTE):
            action, resource = rng.choice(SENSITIVE_ACTIONS)
            s.add(ts, "sensitive_action", user=admin, action=action, resource=resource)
    for index in range(9):
        user, granter = s.name(), rng.choice(managers)
        grant = rng.randrange(at("08:30:00"), at("18:00:00"))
        s.add(grant, "role_grant", user=user, role=rng.choice(["admin", "owner", "root"]), granted_by=granter)
        approver = rng.choice([p for p in managers + security if p != granter])
        approved = grant + rng.randint(1, 10) * MINUTE
        s.add(approved, "approval", user=user, approver=approver, ticket=f"CHG-{4100 + index}")
        for ts in spread(rng, rng.randint(1, 3), approved + 2 * MINUTE, approved + 45 * MINUTE, 3 * MINUTE):
            action, resource = rng.choice(SENSITIVE_ACTIONS)
            s.add(ts, "sensitive_action", user=user, action=action, resource=resource)
    for _ in range(6):
        user, granter = s.name(), rng.choice(managers)
        grant = rng.randrange(at("08:30:00"), at("18:00:00"))
        s.add(grant, "role_grant", user=user, role=rng.choice(["viewer", "editor", "analyst"]), granted_by=granter)
        for ts in spread(rng, rng.randint(1, 2), grant + 5 * MINUTE, grant + 40 * MINUTE, 3 * MINUTE):
            action, resource = rng.choice(SENSITIVE_ACTIONS[:4])
            s.add(ts, "sensitive_action", user=user, action=action, resource=resource)


def network_noise(s: Stream) -> None:
    """Clients reaching our public hosts on a handful of ports; our hosts
    reaching out on the usual ones."""
    rng = s.rng
    inbound_ports, inbound_weights = [443, 80, 8443, 25, 22], [12, 4, 2, 2, 1]
    for _ in range(90):
        src = s.ip(rng.choice(HOME_COUNTRIES))
        for ts in sorted(rng.randrange(at("08:00:00"), at("20:00:00")) for _ in range(rng.randint(2, 12))):
            port = rng.choices(inbound_ports, inbound_weights)[0]
            action = "blocked" if port == 22 else "allowed"
            s.add(
                ts,
                "conn",
                src_ip=src,
                dst_ip=PUBLIC_HOSTS[port],
                dst_port=port,
                protocol="tcp",
                direction="inbound",
                action=action,
            )
    outbound_ports, outbound_weights = [443, 80, 53, 123, 22, 993], [10, 3, 3, 1, 1, 1]
    for host in range(30):
        src = f"10.0.{host % 4 + 1}.{20 + host}"
        for ts in sorted(rng.randrange(at("08:00:00"), at("20:00:00")) for _ in range(rng.randint(10, 24))):
            port = rng.choices(outbound_ports, outbound_weights)[0]
            s.add(
                ts,
                "conn",
                src_ip=src,
                dst_ip=s.ip(rng.choice(HOME_COUNTRIES)),
                dst_port=port,
                protocol="udp" if port in (53, 123) else "tcp",
                direction="outbound",
                action="allowed",
            )


# A planted tick segment: (seconds after its start, price change in cents).
Segment = list[tuple[int, int]]


def market_ticks(s: Stream, planted: dict[str, list[tuple[int, Segment]]]) -> None:
    """Ticks every 60-150 s from 09:30 to 16:00. The random walk never rises
    three ticks in a row, so price_rising fires only on planted segments (each
    starts with a fall, so the tick before cannot start a run)."""
    rng = s.rng
    for symbol, cents in SYMBOL_OPEN.items():
        segments = sorted(planted.get(symbol, []))
        ups = 0
        ts = at("09:30:00")
        while ts < at("16:00:00"):
            if segments and segments[0][0] <= ts:
                start, steps = segments.pop(0)
                for offset, delta in steps:
                    cents += delta
                    ups = ups + 1 if delta > 0 else 0
                    s.add(start + offset * SECOND, "tick", symbol=symbol, price=cents / 100, volume=_volume(rng))
                ts = start + steps[-1][0] * SECOND + rng.randint(60, 150) * SECOND
                continue
            move = max(1, round(cents * rng.uniform(0.0005, 0.004)))
            # After two rises: fall or stay; otherwise rise, fall or stay.
            choices, weights = ([-1, 0], [3, 1]) if ups >= 2 else ([1, -1, 0], [9, 8, 3])
            direction = rng.choices(choices, weights)[0]
            cents += direction * move
            ups = ups + 1 if direction > 0 else 0
            s.add(ts, "tick", symbol=symbol, price=cents / 100, volume=_volume(rng))
            ts += rng.randint(60, 150) * SECOND


def _volume(rng: random.Random) -> int:
    return rng.randint(1, 50) * 100


def shop_noise(s: Stream, order_ids: Callable[[], str]) -> None:
    """Shoppers browse; those who fill a cart order within the session and
    pay within 10 minutes (sometimes after one failed attempt)."""
    rng = s.rng
    for _ in range(110):
        user = s.name()
        starts = spread(rng, rng.choices([1, 2], [7, 3])[0], at("08:00:00"), at("19:30:00"), 90 * MINUTE)
        for start in starts:
            if rng.random() < 0.55:
                shop_purchase(s, user, start, order_ids())
            else:
                cur = start
                for _ in range(rng.randint(1, 6)):
                    s.add(cur, "page_view", user=user, path=rng.choice(SHOP_PATHS))
                    cur += rng.randint(15, 180) * SECOND


def shop_purchase(s: Stream, user: str, start: int, order_id: str) -> None:
    """A browsing session that ends with an order, paid 20 s - 5 min later
    (one attempt in ten fails first and is retried)."""
    rng = s.rng
    cur = start
    total = 0.0
    for _ in range(rng.randint(1, 3)):
        s.add(cur, "page_view", user=user, path=rng.choice(SHOP_PATHS))
        cur += rng.randint(15, 150) * SECOND
    for _ in range(rng.randint(1, 3)):
        sku = f"SKU-{rng.randint(10000, 99999)}"
        price = money(min(600.0, rng.lognormvariate(3.6, 0.7)))
        s.add(cur, "page_view", user=user, path=f"/p/{sku}")
        cur += rng.randint(15, 150) * SECOND
        s.add(cur, "cart_add", user=user, sku=sku, price=price)
        total += price
        cur += rng.randint(15, 150) * SECOND
    s.add(cur, "page_view", user=user, path="/cart")
    cur += rng.randint(20, 120) * SECOND
    amount = money(total + 4.90)
    ordered = cur
    s.add(ordered, "order", user=user, order_id=order_id, amount=amount, items_total=money(total))
    method = rng.choice(["card", "card", "paypal", "apple_pay"])
    paid = ordered + rng.randint(20, 300) * SECOND
    if rng.random() < 0.1:
        s.add(paid, "payment", user=user, order_id=order_id, amount=amount, status="failed", method=method)
        paid += rng.randint(30, 180) * SECOND
    s.add(paid, "payment", user=user, order_id=order_id, amount=amount, status="succeeded", method=method)
    s.add(ordered + rng.randint(2, 8) * SECOND, "page_view", user=user, path=f"/orders/{order_id}")


# ---- planted scenarios (see examples/EXPECTED.md) -------------------------------


def plant_potential_fraud(s: Stream) -> None:
    def session(user: str, ip: str, country: str, login: str, transfers: list[tuple[str, float]], logout: str) -> None:
        s.add(at(login), "login", user=user, ip=ip, country=country, device="web")
        for clock, amount in transfers:
            s.add(at(clock), "transfer", user=user, amount=amount, currency="EUR", to_account="ACC48213377")
        s.add(at(logout), "logout", user=user)

    # Fires: an ordinary morning, then a large transfer in a 3-minute session.
    session("dmitri.volkov", "81.2.69.160", "GB", "08:42:10.000", [("08:44:02.120", 120.0)], "08:51:40.000")
    session("dmitri.volkov", "81.2.69.160", "GB", "10:12:03.250", [("10:13:41.800", 24500.0)], "10:15:09.100")
    # Fires: the first transfer is not large and is skipped; the second is.
    session(
        "grace.okafor",
        "73.41.200.18",
        "US",
        "13:40:00.500",
        [("13:41:12.000", 9800.0), ("13:42:30.000", 15000.0)],
        "13:44:31.000",
    )
    # Fires: logout exactly 5 minutes after login (WITHIN is inclusive).
    session("hiro.tanaka", "126.77.3.201", "JP", "16:05:00.000", [("16:07:30.000", 12000.01)], "16:10:00.000")
    # Near misses: exactly 10000 is not > 10000; logout 5 min + 1 ms after
    # login; large transfer and quick logout, but the login was 12 min before.
    session("marta.nowak", "91.12.9.77", "DE", "11:20:00.000", [("11:21:05.000", 10000.0)], "11:22:40.000")
    session("paul.meyer", "91.30.144.2", "DE", "11:00:00.000", [("11:01:00.000", 30000.0)], "11:05:00.001")
    session("lena.fischer", "91.8.61.140", "DE", "17:20:00.000", [("17:31:00.000", 18000.0)], "17:32:00.000")


def plant_impossible_travel(s: Stream) -> None:
    def login(user: str, clock: str, ip: str, country: str) -> None:
        s.add(at(clock), "login", user=user, ip=ip, country=country, device="ios")

    # Fires: Italy, then Brazil 42 minutes later.
    login("sofia.rossi", "09:05:12.000", "93.40.11.9", "IT")
    login("sofia.rossi", "09:47:40.000", "177.54.150.3", "BR")
    # Fires once (from the first US login): the second US login's partial
    # match is discarded by SKIP PAST LAST when the first match is emitted.
    login("liam.chen", "15:00:05.000", "73.12.88.140", "US")
    login("liam.chen", "15:20:40.000", "73.99.1.17", "US")
    login("liam.chen", "15:50:02.000", "113.87.44.90", "CN")
    # Fires: exactly one hour apart (WITHIN is inclusive).
    login("noah.schmidt", "12:00:00.000", "91.64.100.5", "DE")
    login("noah.schmidt", "13:00:00.000", "95.165.30.12", "RU")
    # Near misses: one hour and 1 ms apart; two addresses in one country.
    login("emma.dubois", "10:00:00.000", "90.12.4.33", "FR")
    login("emma.dubois", "11:00:00.001", "126.201.9.80", "JP")
    login("lucas.martin", "14:10:00.000", "90.45.3.210", "FR")
    login("lucas.martin", "14:15:30.000", "90.101.77.4", "FR")


def plant_brute_force(s: Stream) -> None:
    victims = ["admin", "j.smith", "ops", "finance", "m.jones", "backup"]
    # Fires in 5 sliding windows: 14 failures, 6 users, all in 09:21.
    ts = at("09:21:05.000")
    for index in range(14):
        reason = "unknown_user" if victims[index % 6] in ("ops", "backup") else "bad_password"
        s.add(ts, "login_failed", user=victims[index % 6], ip="45.155.205.99", reason=reason)
        ts += 3 * SECOND + 400
    # Fires in 2 windows (13:59-14:04 and 14:00-14:05): 12 failures, 20 s apart.
    for index in range(12):
        s.add(
            at("14:00:10.000") + index * 20 * SECOND,
            "login_failed",
            user=victims[index % 4],
            ip="185.220.101.47",
            reason="bad_password",
        )
    # Near misses: 9 failures; 20 failures on only 2 users; 12 failures on 4
    # users of which 3 are failed MFA (not counted), leaving 9.
    for index in range(9):
        s.add(
            at("10:40:00.000") + index * 5 * SECOND,
            "login_failed",
            user=victims[index % 4],
            ip="5.188.10.76",
            reason="bad_password",
        )
    for index in range(20):
        s.add(
            at("16:30:00.000") + index * 6 * SECOND,
            "login_failed",
            user=["ceo", "cfo"][index % 2],
            ip="193.56.29.112",
            reason="bad_password",
        )
    for index in range(12):
        reason = "mfa" if index % 4 == 3 else "bad_password"
        s.add(
            at("12:15:00.000") + index * 4 * SECOND,
            "login_failed",
            user=victims[index % 4],
            ip="92.118.39.61",
            reason=reason,
        )


def plant_account_takeover(s: Stream) -> None:
    def reset(user: str, clock: str, ip: str, country: str) -> None:
        s.add(at(clock), "password_reset", user=user, ip=ip, country=country, channel="email")

    def change(user: str, clock: str, ip: str, new_email: str) -> None:
        s.add(at(clock), "email_change", user=user, ip=ip, new_email=new_email)

    # Fires: reset at home, email changed from Nigeria 7 minutes later.
    reset("ben.carter", "19:02:11.000", "81.99.14.62", "GB")
    change("ben.carter", "19:09:45.000", "105.112.33.8", "ben.carter.secure@protonmail.com")
    # Fires: the email change from the home address is skipped, the one from
    # another network 25 minutes after the reset fits.
    reset("chloe.wright", "10:40:20.000", "73.160.2.91", "US")
    change("chloe.wright", "10:44:00.000", "73.160.2.91", "chloe.w@gmail.com")
    change("chloe.wright", "11:05:30.000", "185.107.56.20", "c.wright.acct@mail.ru")
    # Near misses: same address for both; another address 30 min + 1 ms later.
    reset("daniel.kim", "15:30:00.000", "73.18.140.6", "US")
    change("daniel.kim", "15:37:10.000", "73.18.140.6", "daniel.kim@icloud.com")
    reset("ella.johnson", "14:10:00.000", "81.140.2.9", "GB")
    change("ella.johnson", "14:40:00.001", "88.7.201.30", "ella.j@outlook.com")


def plant_card_testing(s: Stream) -> None:
    def charge(card: str, clock: str, amount: float, merchant: str) -> None:
        s.add(at(clock), "charge", card=card, amount=amount, currency="EUR", merchant=merchant)

    # Fires: an ordinary day, then 4 probes (4.49 in all) and a 1249.00 charge.
    card = "tok_5a1c7e0f21"
    charge(card, "08:55:20.000", 42.8, "corner-grocer")
    charge(card, "12:31:02.000", 18.2, "sushi-go")
    for clock, amount in [("15:02:10.000", 1.0), ("15:03:02.000", 0.5), ("15:04:47.000", 1.99), ("15:05:31.000", 1.0)]:
        charge(card, clock, amount, "give-help.org")
    charge(card, "15:16:40.000", 1249.0, "electro-world")
    # Fires once with all 6 probes: a 45.00 dinner in between is skipped.
    card = "tok_e07b99d3a4"
    probes = [
        ("18:20:00.000", 0.99),
        ("18:21:30.000", 1.49),
        ("18:23:05.000", 2.0),
        ("18:24:10.000", 0.99),
        ("18:26:40.000", 1.0),
        ("18:29:15.000", 3.0),
    ]
    for clock, amount in probes[:4]:
        charge(card, clock, amount, "app-credits.io")
    charge(card, "18:25:00.000", 45.0, "sushi-go")
    for clock, amount in probes[4:]:
        charge(card, clock, amount, "app-credits.io")
    charge(card, "18:41:00.000", 780.0, "luxe-watches")
    # Near misses: only 2 probes; 3 probes of 9.00 (20 x 27 = 540 > 500);
    # 3 probes and a cash-out 30 min + 1 ms after the first probe.
    card = "tok_31f0c6b8e2"
    charge(card, "09:10:00.000", 1.0, "give-help.org")
    charge(card, "09:11:00.000", 1.0, "give-help.org")
    charge(card, "09:20:00.000", 650.0, "electro-world")
    card = "tok_8d24aa1705"
    for clock in ["13:00:00.000", "13:02:00.000", "13:04:00.000"]:
        charge(card, clock, 9.0, "metro-transit")
    charge(card, "13:10:00.000", 500.0, "home-depot-eu")
    card = "tok_c4e9f10b77"
    for clock in ["11:00:00.000", "11:01:00.000", "11:02:00.000"]:
        charge(card, clock, 1.0, "give-help.org")
    charge(card, "11:30:00.001", 900.0, "electro-world")


def plant_orders(s: Stream, order_ids: Callable[[], str]) -> list[str]:
    """Returns the planted order ids, in the order of EXPECTED.md."""
    ids = [order_ids() for _ in range(5)]
    # Fires: never paid; paid 31 min later; two failed attempts only.
    _order_at(s, "hannah.lee", at("10:30:15.000"), ids[0], [])
    _order_at(s, "isaac.newman", at("12:10:00.000"), ids[1], [(31 * MINUTE + 10 * SECOND, "succeeded")])
    _order_at(s, "amelia.clarke", at("16:45:30.000"), ids[2], [(92 * SECOND, "failed"), (250 * SECOND, "failed")])
    # Near misses: paid after 29 minutes; paid exactly 30 minutes later (the
    # absence interval is closed).
    _order_at(s, "jack.turner", at("13:00:00.000"), ids[3], [(29 * MINUTE, "succeeded")])
    _order_at(s, "mia.walker", at("17:20:00.000"), ids[4], [(30 * MINUTE, "succeeded")])
    return ids


def _order_at(s: Stream, user: str, ordered: int, order_id: str, payments: list[tuple[int, str]]) -> None:
    """A short shopping session ending with an order at exactly `ordered`."""
    s.add(ordered - 6 * MINUTE, "page_view", user=user, path="/c/jackets")
    s.add(ordered - 4 * MINUTE, "page_view", user=user, path="/p/SKU-40417")
    s.add(ordered - 3 * MINUTE, "cart_add", user=user, sku="SKU-40417", price=129.0)
    s.add(ordered - 1 * MINUTE, "page_view", user=user, path="/cart")
    s.add(ordered, "order", user=user, order_id=order_id, amount=133.9, items_total=129.0)
    for after, status in payments:
        s.add(ordered + after, "payment", user=user, order_id=order_id, amount=133.9, status=status, method="card")


def plant_abandoned_carts(s: Stream, order_ids: Callable[[], str]) -> None:
    def view(user: str, clock: str, path: str) -> None:
        s.add(at(clock), "page_view", user=user, path=path)

    def cart(user: str, clock: str, sku: str, price: float) -> None:
        s.add(at(clock), "cart_add", user=user, sku=sku, price=price)

    # Fires: two items in the cart, then nothing for the rest of the day.
    view("olivia.brown", "11:00:05.000", "/c/bags")
    view("olivia.brown", "11:02:30.000", "/p/SKU-55120")
    cart("olivia.brown", "11:04:10.000", "SKU-55120", 89.9)
    view("olivia.brown", "11:06:00.000", "/p/SKU-55301")
    cart("olivia.brown", "11:08:45.000", "SKU-55301", 24.5)
    view("olivia.brown", "11:10:20.000", "/cart")
    # Fires for the first session: 25 minutes of silence, then back to order.
    view("mateo.garcia", "14:00:00.000", "/p/SKU-61002")
    cart("mateo.garcia", "14:03:00.000", "SKU-61002", 149.0)
    shop_purchase(s, "mateo.garcia", at("14:28:00.000"), order_ids())
    # Near miss: exactly 20 minutes of silence merges the sessions, and the
    # merged session has an order.
    view("yuki.tanaka", "16:00:00.000", "/p/SKU-70733")
    cart("yuki.tanaka", "16:01:30.000", "SKU-70733", 59.0)
    view("yuki.tanaka", "16:21:30.000", "/cart")
    order_id = order_ids()
    s.add(at("16:23:00.000"), "order", user="yuki.tanaka", order_id=order_id, amount=63.9, items_total=59.0)
    s.add(
        at("16:24:10.000"),
        "payment",
        user="yuki.tanaka",
        order_id=order_id,
        amount=63.9,
        status="succeeded",
        method="paypal",
    )


def plant_port_scans(s: Stream) -> None:
    rng = s.rng
    common = [int(port) for port in COMMON_PORTS.split()]

    def probe(ts: int, src: str, port: int, dst: str = "203.0.113.10", direction: str = "inbound") -> None:
        s.add(
            ts,
            "conn",
            src_ip=src,
            dst_ip=dst,
            dst_port=port,
            protocol="tcp",
            direction=direction,
            action="allowed" if port in (80, 443) else "blocked",
        )

    # Fires in window 09:44: 40 distinct ports in 35 seconds.
    ports = common + sorted(rng.sample(range(1024, 10000), 11))
    for index, port in enumerate(ports):
        probe(at("09:44:05.000") + index * 875, "198.51.100.23", port)
    # Fires in windows 15:30, 15:31 and 15:32: one new port every 2 seconds.
    for index in range(90):
        probe(at("15:30:00.500") + index * 2 * SECOND, "192.0.2.77", 1 + index, dst=f"203.0.113.{10 + index % 3}")
    # Near misses: 38 ports split 19 / 19 by the 13:00 boundary (the probe at
    # exactly 13:00:00.000 belongs to the later window); our own scanner
    # sweeping outbound; a flood of one port.
    for index in range(38):
        probe(at("12:59:41.000") + index * SECOND, "198.51.100.77", 2000 + index)
    for index in range(120):
        probe(at("10:05:00.000") + index * 400, "10.0.9.15", 1 + index, dst="10.0.2.40", direction="outbound")
    for index in range(100):
        probe(at("16:20:00.000") + index * 500, "198.51.100.99", 443)


def plant_privilege_escalation(s: Stream) -> None:
    def grant(user: str, clock: str, role: str, by: str) -> None:
        s.add(at(clock), "role_grant", user=user, role=role, granted_by=by)

    def approve(user: str, clock: str, approver: str, ticket: str) -> None:
        s.add(at(clock), "approval", user=user, approver=approver, ticket=ticket)

    def use(user: str, clock: str, action: str, resource: str) -> None:
        s.add(at(clock), "sensitive_action", user=user, action=action, resource=resource)

    # Fires: admin granted and used 7 minutes later, no approval.
    grant("kevin.walsh", "13:15:20.000", "admin", "sam.rivera")
    use("kevin.walsh", "13:22:05.000", "export_customer_db", "crm-prod")
    # Fires: "approved" by the person who granted it, which does not count.
    grant("priya.nair", "17:01:00.000", "owner", "tom.baker")
    approve("priya.nair", "17:03:30.000", "tom.baker", "CHG-5001")
    use("priya.nair", "17:10:12.000", "disable_mfa", "idp")
    # Near misses: approved by a second person; used 1 h + 1 ms after the
    # grant; a non-admin role.
    grant("omar.haddad", "10:10:00.000", "root", "sam.rivera")
    approve("omar.haddad", "10:14:00.000", "alice.ng", "CHG-5002")
    use("omar.haddad", "10:20:00.000", "modify_firewall", "edge-fw-01")
    grant("julia.berg", "11:30:00.000", "admin", "tom.baker")
    use("julia.berg", "12:30:00.001", "rotate_secret", "vault")
    grant("victor.lopez", "09:40:00.000", "viewer", "sam.rivera")
    use("victor.lopez", "09:52:00.000", "read_payroll", "hr-payroll")


def plant_price_runs() -> dict[str, list[tuple[int, Segment]]]:
    """Each segment opens with a fall (its base) so no earlier tick can start
    a run through it."""
    return {
        "ACME": [
            (at("10:14:00.000"), [(0, -12), (40, 9), (85, 15), (130, 22), (200, -8)]),  # fires
            (at("11:40:00.000"), [(0, -10), (210, 5), (420, 6), (630, 7), (700, -5)]),  # 10 min 30 s: no
        ],
        "GLBX": [
            (at("13:05:00.000"), [(0, -30), (200, 12), (400, 18), (600, 9), (680, -20)]),  # exactly 10 min: fires
            (at("10:30:00.000"), [(0, -25), (45, 10), (90, 14), (130, -6), (170, 20), (215, -15)]),  # dip: no
        ],
        "NOVA": [
            (at("15:20:00.000"), [(0, -4), (30, 2), (70, 3), (110, 5), (150, -3)]),  # fires
            (at("12:10:00.000"), [(0, -5), (50, 3), (95, 4), (140, 0), (185, 6), (230, -4)]),  # flat: no
        ],
    }


# ---- assembly ------------------------------------------------------------------

_PLANTED_USERS_TEXT = """
dmitri.volkov grace.okafor hiro.tanaka marta.nowak paul.meyer lena.fischer sofia.rossi liam.chen
noah.schmidt emma.dubois lucas.martin ben.carter chloe.wright daniel.kim ella.johnson hannah.lee
isaac.newman amelia.clarke jack.turner mia.walker olivia.brown mateo.garcia yuki.tanaka kevin.walsh
priya.nair omar.haddad julia.berg victor.lopez sam.rivera tom.baker alice.ng
"""
PLANTED_USERS = tuple(_PLANTED_USERS_TEXT.split())


def generate(seed: int = DEFAULT_SEED) -> list[Event]:
    """The example stream for `seed`: a list of events in delivery order."""
    rng = random.Random(seed)
    s = Stream(rng)
    s.reserve(*PLANTED_USERS)
    numbers = iter(rng.sample(range(100000, 1000000), 400))

    def order_ids() -> str:
        return f"ORD-{next(numbers)}"

    managers = ["sam.rivera", "tom.baker", s.name()]
    security = ["alice.ng", s.name()]

    bank_noise(s)
    card_noise(s)
    iam_noise(s, managers, security)
    network_noise(s)
    market_ticks(s, plant_price_runs())
    shop_noise(s, order_ids)

    plant_potential_fraud(s)
    plant_impossible_travel(s)
    plant_brute_force(s)
    plant_account_takeover(s)
    plant_card_testing(s)
    plant_orders(s, order_ids)
    plant_abandoned_carts(s, order_ids)
    plant_port_scans(s)
    plant_privilege_escalation(s)
    return s.finish()


def write_jsonl(events: Sequence[Event], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for event in events:
            out.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output file (default examples/events.jsonl)")
    args = parser.parse_args(argv)
    events = generate(args.seed)
    write_jsonl(events, args.out)
    first, last = events[0]["ts"], events[-1]["ts"]
    print(f"wrote {len(events)} events ({first} .. {last}) to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
