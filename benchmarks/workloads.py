"""Deterministic synthetic event streams and the rules the benchmarks run.

Every stream is generated from a seed with `random.Random(seed)`, so the
same arguments give the same events on every machine. Streams are lists of
event dicts `{"id", "type", "ts", "user", ...}` in *arrival* order:

- event time starts at BASE_TS (November 2023) and advances 0.1–10 ms per
  event (about 200 events per second of event time);
- activity comes in *sessions* (a user's login, transfers, logout, ...): a
  pool of concurrent sessions is kept open and each event is the next step
  of a random one, so one session's events are seconds apart and interleave
  with the others'. Some sessions pause for minutes (so WITHIN matters) or
  never finish;
- delivery is slightly out of order: 10% of events arrive up to 0.9 s late
  (inside the benchmarks' 1 s max_delay), 0.02% arrive 1.2–3 s late (later
  than max_delay: the engine drops them as late, and the baselines must
  too), and 0.1% are delivered twice (same id: deduplicated).

Nothing here imports cepengine: the generators are plain Python.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from typing import Any

BASE_TS = 1_700_000_000.0  # 2023-11-14T22:13:20Z
MAX_DELAY = "1s"
MAX_DELAY_MS = 1000

Step = tuple[str, dict[str, Any]] | float  # an event (type, fields) or a pause in seconds
Session = list[Step]

# -- rules -------------------------------------------------------------------------

FRAUD_RULE = """
RULE potential_fraud
  DESCRIPTION "Login, a large transfer and a logout by one user within 5 minutes"
  SEVERITY high
  TAGS fraud, payments
  PATTERN SEQ(login AS l, transfer[amount > 10000] AS t, logout) WITHIN 5m
  BY user
  EMIT user, amount = t.amount, login_ip = l.ip
"""


def fraud_rule(within: str = "5m", name: str = "potential_fraud") -> str:
    return FRAUD_RULE.replace("WITHIN 5m", f"WITHIN {within}").replace("potential_fraud", name)


QUANTIFIER_RULE = """
RULE rising_run
  DESCRIPTION "a, then b events with strictly rising x, then c, within a minute"
  PATTERN SEQ(a, b[x > prev.x]+, c) WITHIN 1m
  BY user
  EMIT user, start = a.x, steps = count(b), top = last(b).x
"""

SKIP_TILL_ANY_RULE = """
RULE rising_any
  DESCRIPTION "every rising subsequence of b events between an a and a c"
  PATTERN SEQ(a, b[x > prev.x]+, c) WITHIN 30s
  SELECTION SKIP_TILL_ANY
  BY user
  EMIT user, steps = count(b)
"""

TRAILING_NOT_RULE = """
RULE unconfirmed_transfer
  DESCRIPTION "A large transfer that is not confirmed within 30 seconds"
  PATTERN SEQ(transfer[amount > 10000] AS t, NOT confirm) WITHIN 30s
  BY user
  EMIT user, amount = t.amount
"""

SLIDING_RULE = """
RULE brute_force
  DESCRIPTION "Many failed logins from one address, on several accounts"
  FROM login_failed[reason != "mfa"]
  WINDOW SLIDING 5m EVERY 1m
  BY ip
  HAVING count() >= 8 AND count_distinct(user) >= 3
  EMIT ip, failures = count(), users = count_distinct(user)
"""

# The four rules besides the fraud rule that read the hot types (login,
# transfer, logout) in the many-rules workload: selective predicates, as
# real rule sets have.
HOT_RULES = """
RULE large_transfer_pair
  PATTERN SEQ(transfer[amount > 50000] AS t1, transfer[amount > 50000] AS t2) WITHIN 10m
  BY user
  EMIT user, first = t1.amount, second = t2.amount

RULE large_transfer_volume
  FROM transfer[amount > 10000]
  WINDOW TUMBLING 10m
  BY user
  HAVING sum(amount) > 300000
  EMIT user, total = sum(amount)

RULE huge_transfer_then_logout
  PATTERN SEQ(transfer[amount > 100000] AS t, logout) WITHIN 1m
  BY user
  EMIT user, amount = t.amount

RULE huge_transfer_no_logout
  PATTERN SEQ(transfer[amount > 150000] AS t, NOT logout) WITHIN 5m
  BY user
  EMIT user, amount = t.amount
"""


def cold_rule(k: int) -> str:
    """A rule on types the hot stream rarely or never carries (`svc<k>_*`)."""
    if k % 2 == 0:
        return (
            f"RULE cold_{k}\n  PATTERN SEQ(svc{k}_start AS s, svc{k}_stop AS e) WITHIN 5m\n"
            f"  BY user\n  EMIT user\n"
        )
    return (
        f"RULE cold_{k}\n  FROM svc{k}_start\n  WINDOW TUMBLING 10m\n  BY user\n"
        f"  HAVING count() >= 3\n  EMIT user, n = count()\n"
    )


def many_rules(total: int, hot: int = 5) -> str:
    """`hot` rules on the hot types (the fraud rule first), the rest cold."""
    hot_texts = [FRAUD_RULE, *HOT_RULES.split("\n\n")]
    assert 1 <= hot <= len(hot_texts)
    rules = hot_texts[:hot] + [cold_rule(k) for k in range(total - hot)]
    return "\n\n".join(r.strip("\n") for r in rules) + "\n"


# -- streams -----------------------------------------------------------------------


def user_names(keys: int) -> list[str]:
    return [f"u{i}" for i in range(keys)]


def _interleave(
    n: int, rng: random.Random, new_session: Callable[[], Session], concurrency: int
) -> list[dict[str, Any]]:
    """n events in event-time order from `concurrency` interleaved sessions.
    Ids are `e<position in time order>`."""
    active: list[list[Any]] = [[new_session(), 0] for _ in range(concurrency)]
    parked: list[tuple[int, int, list[Any]]] = []
    parked_count = 0
    out: list[dict[str, Any]] = []
    clock_us = int(BASE_TS * 1_000_000)
    randint, randrange = rng.randint, rng.randrange
    while len(out) < n:
        clock_us += randint(100, 10_000)
        while parked and parked[0][0] <= clock_us:
            active.append(heapq.heappop(parked)[2])
        index = randrange(len(active))
        session = active[index]
        steps, position = session
        event_type, fields = steps[position]
        out.append({"id": f"e{len(out)}", "type": event_type, "ts": clock_us / 1_000_000, **fields})
        position += 1
        # Pauses after this event park the session for that long.
        pause = 0.0
        while position < len(steps) and not isinstance(steps[position], tuple):
            pause += steps[position]
            position += 1
        session[1] = position
        if position == len(steps) or pause:
            if position < len(steps):
                parked_count += 1
                heapq.heappush(parked, (clock_us + int(pause * 1_000_000), parked_count, session))
            if len(active) > concurrency:
                active[index] = active[-1]
                active.pop()
            else:
                active[index] = [new_session(), 0]
    return out


def _deliver(
    events: list[dict[str, Any]],
    rng: random.Random,
    jitter_p: float = 0.10,
    late_p: float = 0.0002,
    duplicate_p: float = 0.001,
) -> list[dict[str, Any]]:
    """Arrival order: most events on time, some up to 0.9 s behind, a few
    later than the 1 s max_delay, a few delivered twice."""
    keyed: list[tuple[int, int, dict[str, Any]]] = []
    random_ = rng.random
    for index, event in enumerate(events):
        arrival = round(event["ts"] * 1_000_000)
        draw = random_()
        if draw < late_p:
            arrival += rng.randint(1_200_000, 3_000_000)
        elif draw < late_p + jitter_p:
            arrival += rng.randint(0, 900_000)
        keyed.append((arrival, 2 * index, event))
        if random_() < duplicate_p:
            keyed.append((arrival + rng.randint(0, 2_000_000), 2 * index + 1, dict(event)))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [event for _, _, event in keyed]


def _ip(rng: random.Random) -> str:
    return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def fraud_stream(
    n: int,
    seed: int = 1,
    keys: int = 10_000,
    concurrency: int = 300,
    large_p: float = 0.12,
    cold_types: int = 0,
    cold_p: float = 0.0,
) -> list[dict[str, Any]]:
    """Banking sessions: login, 0–4 transfers (`large_p` of them over 10,000;
    a few exactly 10,000), some page views, logout. 8% of sessions pause 2–10
    minutes before logging out, 5% never log out. With `cold_types`, a
    `cold_p` share of sessions are `svc<k>_start`/`svc<k>_stop` pairs."""
    rng = random.Random(seed)
    users = user_names(keys)
    paths = ("/home", "/accounts", "/transfer", "/settings", "/help")

    def session() -> Session:
        user = users[rng.randrange(keys)]
        if cold_types and rng.random() < cold_p:
            k = rng.randrange(cold_types)
            return [(f"svc{k}_start", {"user": user}), (f"svc{k}_stop", {"user": user})]
        steps: Session = [("login", {"user": user, "ip": _ip(rng)})]
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 4))):
            if rng.random() < 0.3:
                steps.append(("page_view", {"user": user, "path": rng.choice(paths)}))
            draw = rng.random()
            if draw < large_p:
                amount: float = rng.randint(10_001, 200_000)
            elif draw < large_p + 0.01:
                amount = 10_000
            else:
                amount = round(rng.uniform(1, 9_000), 2)
            steps.append(("transfer", {"user": user, "amount": amount}))
        draw = rng.random()
        if draw < 0.08:
            steps.append(rng.uniform(120, 600))
        if draw < 0.95:
            steps.append(("logout", {"user": user}))
        return steps

    return _deliver(_interleave(n, rng, session, concurrency), rng)


def quantifier_stream(n: int, seed: int = 1, keys: int = 10_000, concurrency: int = 300) -> list[dict[str, Any]]:
    """Sessions `a`, 1–6 `b` (x a random walk with an upward drift), `c`;
    some `b` fall back; 10% pause 40–120 s before `c`, 8% have no `c`."""
    rng = random.Random(seed)
    users = user_names(keys)

    def session() -> Session:
        user = users[rng.randrange(keys)]
        x = rng.randint(0, 100)
        steps: Session = [("a", {"user": user, "x": x})]
        for _ in range(rng.randint(1, 6)):
            x += rng.randint(-15, 30)
            steps.append(("b", {"user": user, "x": x}))
        draw = rng.random()
        if draw < 0.10:
            steps.append(rng.uniform(40, 120))
        if draw < 0.92:
            steps.append(("c", {"user": user, "x": x}))
        return steps

    return _deliver(_interleave(n, rng, session, concurrency), rng)


def trailing_not_stream(n: int, seed: int = 1, keys: int = 10_000, concurrency: int = 300) -> list[dict[str, Any]]:
    """Transfers, each large one (20%) usually followed by a `confirm`: 80%
    within seconds, 8% after a pause of 20–60 s (some inside the 30 s,
    some not), 12% never."""
    rng = random.Random(seed)
    users = user_names(keys)

    def session() -> Session:
        user = users[rng.randrange(keys)]
        steps: Session = []
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.2:
                steps.append(("transfer", {"user": user, "amount": rng.randint(10_001, 200_000)}))
                draw = rng.random()
                if draw < 0.08:
                    steps.append(rng.uniform(20, 60))
                if draw < 0.88:
                    steps.append(("confirm", {"user": user}))
            else:
                steps.append(("transfer", {"user": user, "amount": round(rng.uniform(1, 10_000), 2)}))
        return steps

    return _deliver(_interleave(n, rng, session, concurrency), rng)


def brute_force_stream(n: int, seed: int = 1, keys: int = 10_000, concurrency: int = 300) -> list[dict[str, Any]]:
    """Failed logins per ip (`keys` addresses): mostly the address's own
    one or two users mistyping; 4% of sessions are attacks, 10–40 tries on
    random users from one address. Reasons: bad_password, mfa, locked."""
    rng = random.Random(seed)
    users = user_names(keys)
    ips = [_ip(rng) for _ in range(keys)]
    reasons = ("bad_password",) * 7 + ("mfa",) * 2 + ("locked",)

    def session() -> Session:
        home = rng.randrange(keys)
        ip = ips[home]
        if rng.random() < 0.04:
            return [
                ("login_failed", {"user": users[rng.randrange(keys)], "ip": ip, "reason": rng.choice(reasons)})
                for _ in range(rng.randint(10, 40))
            ]
        owners = (users[home], users[(home * 7 + 1) % keys])
        steps: Session = []
        for _ in range(rng.randint(1, 3)):
            user = owners[0] if rng.random() < 0.8 else rng.choice((*owners, users[rng.randrange(keys)]))
            steps.append(("login_failed", {"user": user, "ip": ip, "reason": rng.choice(reasons)}))
        return steps

    return _deliver(_interleave(n, rng, session, concurrency), rng)


def many_rules_stream(n: int, seed: int = 1, keys: int = 10_000) -> list[dict[str, Any]]:
    """The fraud stream with 4% of sessions on 95 cold types."""
    return fraud_stream(n, seed, keys=keys, cold_types=95, cold_p=0.04)
