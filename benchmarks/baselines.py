"""Hand-written baselines: what a Python programmer would write by hand for
one rule, with the engine's exact semantics (SPEC sections 3–5,
docs/semantics.md), so the benchmark can check that both find the same
matches and compare their speed.

Written to be fast the ordinary way — dicts, lists, a heap, local names,
no classes on the hot path — and not specialised to the generated data.

Every baseline shares the engine's input handling (`released`):
- dedup by event id (checked first; ids are kept while they could matter);
- an event older than the watermark (max event time seen − max_delay) is
  late and dropped;
- events of the rule's types wait in a heap and are released in (time,
  arrival) order once the watermark reaches their time; end of input
  releases the rest.
Times are integer milliseconds, `round(ts * 1000)`, as the engine reads them.

Matches are returned as plain tuples for comparison with the engine's:
- fraud: (user, login id, transfer id, logout id);
- quantifier: (user, a id, (b ids...), c id);
- trailing NOT: (user, transfer id);
- sliding window: (ip, window start ms).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

NO_WATERMARK = -(1 << 62)


def released(
    events: Iterable[dict[str, Any]], types: frozenset[str], max_delay_ms: int, retention_ms: int
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(ts_ms, event) for the events of `types`, deduplicated, late ones
    dropped, in (time, arrival) order behind the watermark."""
    heap: list[tuple[int, int, dict[str, Any]]] = []
    heappush, heappop = heapq.heappush, heapq.heappop
    seen: dict[str, int] = {}
    seen_order: deque[tuple[int, str]] = deque()
    max_ts = NO_WATERMARK
    watermark = NO_WATERMARK
    arrivals = 0
    for event in events:
        event_id = event["id"]
        if event_id in seen:
            continue
        ts = round(event["ts"] * 1000)
        if ts < watermark:
            continue  # late
        seen[event_id] = ts
        seen_order.append((ts, event_id))
        if ts > max_ts:
            max_ts = ts
            watermark = ts - max_delay_ms
            horizon = watermark - retention_ms
            while seen_order[0][0] < horizon:
                old = seen_order.popleft()[1]
                if seen.get(old, horizon) < horizon:
                    del seen[old]
        if event["type"] in types:
            arrivals += 1
            heappush(heap, (ts, arrivals, event))
            while heap[0][0] <= watermark:
                entry = heappop(heap)
                yield entry[0], entry[2]
                if not heap:
                    break
    while heap:
        entry = heappop(heap)
        yield entry[0], entry[2]


def _expire(runs: dict[str, list[list[Any]]], starts: deque[tuple[int, str]], horizon: int) -> None:
    """Drop partial matches (each [start ts, ...], per user in start order)
    that started before the horizon; `starts` lists (start ts, user)."""
    while starts and starts[0][0] < horizon:
        user = starts.popleft()[1]
        old = runs.get(user)
        if old:
            drop = 0
            while drop < len(old) and old[drop][0] < horizon:
                drop += 1
            if drop == len(old):
                del runs[user]
            elif drop:
                del old[:drop]


def fraud(
    events: Iterable[dict[str, Any]], max_delay_ms: int = 1000, within_ms: int = 300_000, threshold: float = 10_000
) -> list[tuple[str, str, str, str]]:
    """SEQ(login AS l, transfer[amount > threshold] AS t, logout) WITHIN d BY user,
    SKIP_TILL_NEXT, AFTER MATCH SKIP PAST LAST.

    Per user, the partial matches in start order: [start ts, login id,
    transfer id or None]. A login starts one; a large transfer is taken by
    every partial match still waiting for one (the first fitting event, as
    skip-till-next requires); a logout completes those holding a transfer
    within d of their login: the earliest-started one is the match, and the
    skip discards every partial match of the user (all started before the
    logout). Partial matches older than the watermark − d are dropped."""
    runs: dict[str, list[list[Any]]] = {}
    starts: deque[tuple[int, str]] = deque()  # (login ts, user), for expiry
    out: list[tuple[str, str, str, str]] = []
    types = frozenset(("login", "transfer", "logout"))
    for ts, event in released(events, types, max_delay_ms, within_ms):
        user = event.get("user")
        if user is None:
            continue
        horizon = ts - within_ms
        if starts and starts[0][0] < horizon:
            _expire(runs, starts, horizon)
        kind = event["type"]
        if kind == "login":
            mine = runs.get(user)
            if mine is None:
                runs[user] = [[ts, event["id"], None]]
            else:
                mine.append([ts, event["id"], None])
            starts.append((ts, user))
        elif kind == "transfer":
            mine = runs.get(user)
            if mine:
                amount = event.get("amount")
                if type(amount) in (int, float) and amount > threshold:
                    for run in mine:
                        if run[2] is None and ts - run[0] <= within_ms:
                            run[2] = event["id"]
        else:  # logout
            mine = runs.get(user)
            if mine:
                for run in mine:
                    if run[2] is not None and ts - run[0] <= within_ms:
                        out.append((user, run[1], run[2], event["id"]))
                        del runs[user]
                        break
    return out


def quantifier(
    events: Iterable[dict[str, Any]], max_delay_ms: int = 1000, within_ms: int = 60_000
) -> list[tuple[str, str, tuple[str, ...], str]]:
    """SEQ(a, b[x > prev.x]+, c) WITHIN d BY user, SKIP_TILL_NEXT, SKIP PAST LAST.

    A partial match is [start ts, a id, last x, [b ids]]: the first b must
    exceed a.x, each next b the previous b's x; a b that does not fit is
    skipped. A c completes the earliest-started one holding a b (within d);
    the skip then discards all of the user's partial matches."""
    runs: dict[str, list[list[Any]]] = {}
    starts: deque[tuple[int, str]] = deque()
    out: list[tuple[str, str, tuple[str, ...], str]] = []
    for ts, event in released(events, frozenset("abc"), max_delay_ms, within_ms):
        user = event.get("user")
        if user is None:
            continue
        horizon = ts - within_ms
        if starts and starts[0][0] < horizon:
            _expire(runs, starts, horizon)
        kind = event["type"]
        if kind == "b":
            mine = runs.get(user)
            if mine:
                x = event.get("x")
                if type(x) in (int, float):
                    for run in mine:
                        last = run[2]
                        if type(last) in (int, float) and x > last and ts - run[0] <= within_ms:
                            run[2] = x
                            run[3].append(event["id"])
        elif kind == "a":
            run = [ts, event["id"], event.get("x"), []]
            mine = runs.get(user)
            if mine is None:
                runs[user] = [run]
            else:
                mine.append(run)
            starts.append((ts, user))
        else:  # c
            mine = runs.get(user)
            if mine:
                for run in mine:
                    if run[3] and ts - run[0] <= within_ms:
                        out.append((user, run[1], tuple(run[3]), event["id"]))
                        del runs[user]
                        break
    return out


def trailing_not(
    events: Iterable[dict[str, Any]], max_delay_ms: int = 1000, within_ms: int = 30_000, threshold: float = 10_000
) -> list[tuple[str, str]]:
    """SEQ(transfer[amount > threshold] AS t, NOT confirm) WITHIN d BY user.

    Each large transfer waits d for a confirm of its user; a confirm at or
    before t.ts + d (closed interval) cancels every waiting transfer of the
    user; the rest match once time passes t.ts + d. Waiting transfers are
    [deadline, user, id, alive], in one queue in time order."""
    waiting: dict[str, list[list[Any]]] = {}
    queue: deque[list[Any]] = deque()
    out: list[tuple[str, str]] = []
    types = frozenset(("transfer", "confirm"))

    def settle(now: int) -> None:
        while queue and queue[0][0] < now:
            entry = queue.popleft()
            if entry[3]:
                user = entry[1]
                out.append((user, entry[2]))
                mine = waiting[user]
                mine.remove(entry)
                if not mine:
                    del waiting[user]

    for ts, event in released(events, types, max_delay_ms, within_ms):
        if queue and queue[0][0] < ts:
            settle(ts)
        user = event.get("user")
        if user is None:
            continue
        if event["type"] == "transfer":
            amount = event.get("amount")
            if type(amount) in (int, float) and amount > threshold:
                entry = [ts + within_ms, user, event["id"], True]
                queue.append(entry)
                mine = waiting.get(user)
                if mine is None:
                    waiting[user] = [entry]
                else:
                    mine.append(entry)
        else:  # confirm
            mine = waiting.pop(user, None)
            if mine:
                for entry in mine:
                    entry[3] = False
    settle(1 << 62)
    return out


def sliding_window(
    events: Iterable[dict[str, Any]],
    max_delay_ms: int = 1000,
    size_ms: int = 300_000,
    slide_ms: int = 60_000,
    min_count: int = 8,
    min_users: int = 3,
) -> list[tuple[str, int]]:
    """FROM login_failed[reason != "mfa"] WINDOW SLIDING size EVERY slide BY ip
    HAVING count() >= min_count AND count_distinct(user) >= min_users.

    Windows [start, start + size) aligned to the epoch; each event counts in
    size / slide of them. Open windows live in a dict start → {ip: [count,
    {users}]} and close, oldest first, once time reaches their end."""
    windows: dict[int, dict[str, list[Any]]] = {}
    oldest = 0  # no open window starts before this
    out: list[tuple[str, int]] = []

    def close(now: int) -> None:
        nonlocal oldest
        while windows and oldest + size_ms <= now:
            by_ip = windows.pop(oldest, None)
            if by_ip:
                for ip, (count, users) in by_ip.items():
                    if count >= min_count and len(users) >= min_users:
                        out.append((ip, oldest))
            oldest += slide_ms

    for ts, event in released(events, frozenset(("login_failed",)), max_delay_ms, size_ms):
        if windows and oldest + size_ms <= ts:
            close(ts)
        reason = event.get("reason")
        if type(reason) is not str or reason == "mfa":
            continue
        ip = event.get("ip")
        if ip is None:
            continue
        user = event.get("user")
        start = ts - ts % slide_ms
        if not windows:
            oldest = start - (size_ms - ts % slide_ms - 1) // slide_ms * slide_ms
        while start > ts - size_ms:
            by_ip = windows.get(start)
            if by_ip is None:
                by_ip = windows[start] = {}
            acc = by_ip.get(ip)
            if acc is None:
                acc = by_ip[ip] = [0, set()]
            acc[0] += 1
            if user is not None:
                acc[1].add(user)
            start -= slide_ms
    close(1 << 62)
    return out
