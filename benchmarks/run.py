"""Engine benchmarks: throughput, memory and scaling on synthetic streams,
each compared with a hand-written baseline run in the same process on the
same events (see benchmarks/README.md).

    python benchmarks/run.py                 # full run (several minutes)
    python benchmarks/run.py --quick         # small sizes, seconds
    python benchmarks/run.py --only fraud    # one workload or series (comma-separated)
    python benchmarks/run.py --markdown      # tables as Markdown (for RESULTS.md)

Each workload and each point of a scaling series runs in a fresh worker
process (this script with --worker), so its peak RSS is its own. Times
exclude generating the events and building the engine. The script fails
(exit 1) when the engine and a baseline find different matches or a worker
crashes; it never fails on a time: targets are printed as PASS / MISS.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# The checkout's cepengine, unless CEPENGINE_BENCH_INSTALLED=1 asks for the
# installed one (e.g. the mypyc build: HATCH_BUILD_HOOK_ENABLE_MYPYC=true pip install .).
sys.path[:0] = [str(HERE)] if os.environ.get("CEPENGINE_BENCH_INSTALLED") == "1" else [str(REPO), str(HERE)]

import baselines  # noqa: E402
import workloads  # noqa: E402

WORKLOADS = ("fraud", "quantifier", "trailing_not", "sliding_window", "rules_100", "skip_till_any", "cli_e2e")
SERIES = ("scale_keys", "scale_within", "scale_rules")

# Events per workload: full run, --quick.
SIZES: dict[str, tuple[int, int]] = {
    "fraud": (1_000_000, 20_000),
    "quantifier": (300_000, 10_000),
    "trailing_not": (300_000, 10_000),
    "sliding_window": (300_000, 10_000),
    "rules_100": (300_000, 10_000),
    "skip_till_any": (200_000, 8_000),
    "cli_e2e": (1_000_000, 10_000),
    "scale_keys": (200_000, 5_000),
    "scale_within": (200_000, 5_000),
    "scale_rules": (100_000, 3_000),
}
SERIES_POINTS: dict[str, tuple[Any, ...]] = {
    "scale_keys": (1_000, 10_000, 100_000),
    "scale_within": ("30s", "1m", "5m", "30m"),
    "scale_rules": (1, 10, 100, 1000),
}
SERIES_TITLES = {
    "scale_keys": "number of keys (fraud rule)",
    "scale_within": "WITHIN length (fraud rule)",
    "scale_rules": "number of rules (the fraud rule + N-1 rules on cold types)",
}
# The bytes-per-partial-match measurement runs over this many events (full, quick).
MEMORY_POINT = (200_000, 20_000)

TARGET_BASELINE_RATIO = 0.5
TARGET_RULES_RATIO = 0.5
TARGET_CLI_EPS = 300_000
TARGET_BYTES_PER_PARTIAL = 1024

# -- measuring (worker side) -------------------------------------------------------------


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark (Linux: VmHWM) so the next
    reading is this workload's peak alone."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def current_rss_mb() -> float:
    kb = _status_kb("VmRSS")
    return kb / 1024 if kb is not None else peak_rss_mb()


def peak_rss_mb() -> float:
    kb = _status_kb("VmHWM")
    if kb is not None:
        return kb / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _engine(text: str) -> Any:
    from cepengine import Engine

    return Engine.from_text(text, max_delay=workloads.MAX_DELAY)


def run_engine(text: str, events: list[dict[str, Any]], span_s: float, samples: int = 40) -> dict[str, Any]:
    """Push every event, then advance the watermark past the last event +
    `span_s` (the longest WITHIN / window: every partial match must be gone
    by then), then close. Timed: those three steps only. Between chunks of
    events (untimed) the partial-match count is sampled."""
    began = time.perf_counter()
    engine = _engine(text)
    build = time.perf_counter() - began
    gc.collect()
    reset_peak_rss()
    rss_before = current_rss_mb()
    matches: list[Any] = []
    elapsed = 0.0
    chunk = max(500, len(events) // samples)
    peak_partial = partial = peak_windows = 0
    for start in range(0, len(events), chunk):
        part = events[start : start + chunk]
        began = time.perf_counter()
        matches.extend(engine.process(part))
        elapsed += time.perf_counter() - began
        metrics = engine.metrics()
        partial = metrics["partial_matches"]
        peak_partial = max(peak_partial, partial)
        peak_windows = max(peak_windows, metrics["open_windows"])
    last_ts = max(event["ts"] for event in events)
    began = time.perf_counter()
    matches.extend(engine.advance_watermark(last_ts + span_s + 1))
    elapsed += time.perf_counter() - began
    after = engine.metrics()
    began = time.perf_counter()
    matches.extend(engine.close())
    elapsed += time.perf_counter() - began
    final = engine.metrics()
    return {
        "matches": matches,
        "seconds": elapsed,
        "build_seconds": build,
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak_rss_mb(),
        "peak_partial": peak_partial,
        "peak_windows": peak_windows,
        "end_partial": partial,
        "drained_partial": after["partial_matches"],
        "drained_windows": after["open_windows"],
        "late": final["late"],
        "deduped": final["deduped"],
        "timed_out": final["timed_out"],
    }


def time_baseline(
    function: Callable[[list[dict[str, Any]]], list[Any]], events: list[dict[str, Any]]
) -> tuple[list[Any], float]:
    gc.collect()
    began = time.perf_counter()
    found = function(events)
    return found, time.perf_counter() - began


def best_of(
    repeat: int, engine_run: Callable[[], dict[str, Any]], baseline_run: Callable[[], Any] | None
) -> tuple[dict[str, Any], Any]:
    """Engine and baseline alternately, `repeat` times; the fastest of each."""
    best_engine: dict[str, Any] | None = None
    best_baseline: Any = None
    for _ in range(repeat):
        result = engine_run()
        if best_engine is None or result["seconds"] < best_engine["seconds"]:
            best_engine = result
        if baseline_run is not None:
            found = baseline_run()
            if best_baseline is None or found[1] < best_baseline[1]:
                best_baseline = found
    assert best_engine is not None
    return best_engine, best_baseline


def state_bytes(text: str, control: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    """Memory of the rule's state with many partial matches alive: traced
    bytes held by an engine running `text` after `events`, minus those of an
    engine running `control` (a rule on types the stream never has, with the
    same WITHIN: the same dedup retention), over the partial-match count."""

    def held(rule_text: str) -> tuple[int, int]:
        gc.collect()
        tracemalloc.start()
        engine = _engine(rule_text)
        base = tracemalloc.get_traced_memory()[0]
        for _ in engine.process(events):
            pass
        gc.collect()
        now = tracemalloc.get_traced_memory()[0]
        partial = engine.metrics()["partial_matches"]
        tracemalloc.stop()
        del engine
        return now - base, partial

    total, partial = held(text)
    control_total, _ = held(control)
    state = total - control_total
    return {
        "memory_events": len(events),
        "memory_partial": partial,
        "engine_bytes": total,
        "state_bytes": state,
        "bytes_per_partial": state / partial if partial else None,
    }


def control_rule(within: str) -> str:
    return f"RULE control\n  PATTERN SEQ(never_a AS x, never_b AS y) WITHIN {within}\n  BY user\n"


def compare(name: str, engine_found: Iterable[Any], baseline_found: Iterable[Any]) -> dict[str, Any]:
    """Same matches (as multisets)? The differences, if not."""
    mine, theirs = sorted(engine_found), sorted(baseline_found)
    if mine == theirs:
        return {"check": "same", "check_count": len(mine)}
    only_engine = sorted(set(mine) - set(theirs))[:5]
    only_baseline = sorted(set(theirs) - set(mine))[:5]
    return {
        "check": "DIFFERENT",
        "check_count": len(mine),
        "check_detail": f"{name}: engine {len(mine)} matches, baseline {len(theirs)}; "
        f"only engine (first 5): {only_engine}; only baseline (first 5): {only_baseline}",
    }


def fraud_tuple(match: Any) -> tuple[str, str, str, str]:
    events = match.events
    return (match.key["user"], events["l"]["id"], events["t"]["id"], events["logout"]["id"])


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    """The JSON-ready part of a run_engine result."""
    return {k: v for k, v in result.items() if k != "matches"}


def _freeze(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # The input list is the benchmark's, not the engine's: keep the
    # collector from re-scanning a million dicts on every full collection.
    gc.collect()
    gc.freeze()
    return events


def job_fraud(n: int, seed: int, repeat: int, quick: bool) -> dict[str, Any]:
    events = _freeze(workloads.fraud_stream(n, seed))
    engine, (found, base_seconds) = best_of(
        repeat,
        lambda: run_engine(workloads.FRAUD_RULE, events, 300),
        lambda: time_baseline(baselines.fraud, events),
    )
    out = {**_summary(engine), "events": len(events), "match_count": len(engine["matches"])}
    out |= {"baseline_seconds": base_seconds, **compare("fraud", map(fraud_tuple, engine["matches"]), found)}
    point = MEMORY_POINT[1 if quick else 0]
    out |= state_bytes(workloads.FRAUD_RULE, control_rule("5m"), events[:point])
    return out


def _pattern_job(
    events: list[dict[str, Any]],
    rule: str,
    span_s: float,
    repeat: int,
    baseline: Callable[[list[dict[str, Any]]], list[Any]] | None,
    as_tuple: Callable[[Any], Any] | None,
    name: str,
) -> dict[str, Any]:
    engine, base = best_of(
        repeat,
        lambda: run_engine(rule, events, span_s),
        (lambda: time_baseline(baseline, events)) if baseline is not None else None,
    )
    out = {**_summary(engine), "events": len(events), "match_count": len(engine["matches"])}
    if base is not None:
        assert as_tuple is not None
        found, seconds = base
        out |= {"baseline_seconds": seconds, **compare(name, map(as_tuple, engine["matches"]), found)}
    return out


def job_quantifier(n: int, seed: int, repeat: int, quick: bool) -> dict[str, Any]:
    events = _freeze(workloads.quantifier_stream(n, seed))

    def as_tuple(m: Any) -> Any:
        return (m.key["user"], m.events["a"]["id"], tuple(b["id"] for b in m.events["b"]), m.events["c"]["id"])

    return _pattern_job(events, workloads.QUANTIFIER_RULE, 60, repeat, baselines.quantifier, as_tuple, "quantifier")


def job_trailing_not(n: int, seed: int, repeat: int, quick: bool) -> dict[str, Any]:
    events = _freeze(workloads.trailing_not_stream(n, seed))

    def as_tuple(m: Any) -> Any:
        return (m.key["user"], m.events["t"]["id"])

    return _pattern_job(
        events, workloads.TRAILING_NOT_RULE, 30, repeat, baselines.trailing_not, as_tuple, "trailing_not"
    )


def job_sliding_window(n: int, seed: int, repeat: int, quick: bool) -> dict[str, Any]:
    events = _freeze(workloads.brute_force_stream(n, seed))

    def as_tuple(m: Any) -> Any:
        return (m.key["ip"], m.start_ms)

    return _pattern_job(
        events, workloads.SLIDING_RULE, 300, repeat, baselines.sliding_window, as_tuple, "sliding_window"
    )


def job_skip_till_any(n: int, seed: int, repeat: int, quick: bool) -> dict[str, Any]:
    events = _freeze(workloads.quantifier_stream(n, seed))
    out = _pattern_job(events, workloads.SKIP_TILL_ANY_RULE, 30, repeat, None, None, "skip_till_any")
    point = MEMORY_POINT[1 if quick else 0]
    out |= state_bytes(workloads.SKIP_TILL_ANY_RULE, control_rule("30s"), events[:point])
    return out


def job_rules_100(n: int, seed: int, repeat: int, quick: bool) -> dict[str, Any]:
    events = _freeze(workloads.many_rules_stream(n, seed))
    rules = workloads.many_rules(100, hot=5)
    many, single = best_of(
        repeat, lambda: run_engine(rules, events, 600), lambda: run_engine(workloads.FRAUD_RULE, events, 300)
    )
    expected = baselines.fraud(events)
    many_fraud = [m for m in many["matches"] if m.rule == "potential_fraud"]
    checks = [
        compare("rules_100 (fraud rule among 100)", map(fraud_tuple, many_fraud), expected),
        compare("rules_100 (fraud rule alone)", map(fraud_tuple, single["matches"]), expected),
    ]
    failed = [c for c in checks if c["check"] != "same"]
    rules_seen = sorted({m.rule for m in many["matches"]})
    return {
        **_summary(many),
        **(failed[0] if failed else checks[0]),
        "events": len(events),
        "match_count": len(many["matches"]),
        "baseline_seconds": single["seconds"],
        "single_build_seconds": single["build_seconds"],
        "rules_with_matches": len(rules_seen),
    }


def job_cli_prepare(n: int, seed: int, repeat: int, quick: bool, where: str) -> dict[str, Any]:
    """For cli_e2e: write the fraud stream as JSON lines, the rule, and the
    baseline's matches into `where`."""
    import orjson

    events = workloads.fraud_stream(n, seed)
    work = Path(where)
    (work / "fraud.cep").write_text(workloads.FRAUD_RULE)
    with open(work / "events.jsonl", "wb") as handle:
        for event in events:
            handle.write(orjson.dumps(event) + b"\n")
    (work / "expected.json").write_bytes(orjson.dumps(baselines.fraud(events)))
    return {"events": len(events)}


def job_cli_e2e(n: int, seed: int, repeat: int, quick: bool) -> dict[str, Any]:
    # The stream is written by another worker: `cepengine run` is started
    # from this small process, so its peak RSS (which counts the memory of
    # the process it was forked from) is its own.
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory(prefix="cepbench-") as tmp:
        work = Path(tmp)
        spec = {"job": "cli_prepare", "n": n, "seed": seed, "repeat": repeat, "quick": quick, "point": tmp}
        count = launch(spec)["events"]
        expected = [tuple(match) for match in json.loads((work / "expected.json").read_text())]
        runs: dict[str, dict[str, Any]] = {}
        for mode in ("store", "no_store"):
            best: dict[str, Any] | None = None
            for attempt in range(repeat):
                store_dir = work / f"{mode}-{attempt}"
                store_dir.mkdir()
                extra = ["--no-store"] if mode == "no_store" else []
                result = _cli(work, store_dir, extra, env)
                if best is None or result["seconds"] < best["seconds"]:
                    best = result
            assert best is not None
            runs[mode] = best
        checks = [compare(f"cli_e2e ({mode})", runs[mode].pop("found"), expected) for mode in runs]
        failed = [c for c in checks if c["check"] != "same"]
        return {
            **(failed[0] if failed else checks[0]),
            "events": count,
            "match_count": runs["store"]["match_count"],
            "seconds": runs["store"]["seconds"],
            "baseline_seconds": runs["no_store"]["seconds"],
            "peak_rss_mb": runs["store"]["peak_rss_mb"],
            "no_store_peak_rss_mb": runs["no_store"]["peak_rss_mb"],
            "store_mb": runs["store"]["store_mb"],
        }


def _cli(work: Path, cwd: Path, extra: list[str], env: dict[str, str]) -> dict[str, Any]:
    """`cepengine run` as a subprocess, timed whole (interpreter start to
    exit); the default store lands in `cwd`."""
    import orjson

    argv = [sys.executable, "-m", "cepengine", "run", str(work / "fraud.cep"), str(work / "events.jsonl")]
    argv += ["--max-delay", workloads.MAX_DELAY, *extra]
    out_path, err_path = cwd / "matches.jsonl", cwd / "stderr.txt"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        began = time.perf_counter()
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - began
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {process.returncode}:\n{err_path.read_text()[-2000:]}")
    found = []
    with open(out_path, "rb") as handle:
        for line in handle:
            match = orjson.loads(line)
            events = match["events"]
            found.append((match["key"]["user"], events["l"]["id"], events["t"]["id"], events["logout"]["id"]))
    store = cwd / "cepengine.db"
    return {
        "seconds": seconds,
        "found": found,
        "match_count": len(found),
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "store_mb": store.stat().st_size / 1e6 if store.exists() else None,
    }


def job_scale_keys(n: int, seed: int, repeat: int, quick: bool, keys: int) -> dict[str, Any]:
    events = _freeze(workloads.fraud_stream(n, seed, keys=keys))
    return _pattern_job(events, workloads.FRAUD_RULE, 300, repeat, baselines.fraud, fraud_tuple, f"keys={keys}")


def job_scale_within(n: int, seed: int, repeat: int, quick: bool, within: str) -> dict[str, Any]:
    from cepengine.runtime.engine import parse_duration

    within_ms = parse_duration(within, "within")
    events = _freeze(workloads.fraud_stream(n, seed))

    def baseline(evs: list[dict[str, Any]]) -> list[Any]:
        return baselines.fraud(evs, within_ms=within_ms)

    rule = workloads.fraud_rule(within)
    return _pattern_job(events, rule, within_ms / 1000, repeat, baseline, fraud_tuple, f"within={within}")


def job_scale_rules(n: int, seed: int, repeat: int, quick: bool, rules: int) -> dict[str, Any]:
    events = _freeze(workloads.many_rules_stream(n, seed))
    text = workloads.many_rules(rules, hot=1)
    engine, _ = best_of(repeat, lambda: run_engine(text, events, 600), None)
    found = [m for m in engine["matches"] if m.rule == "potential_fraud"]
    return {
        **_summary(engine),
        **compare(f"rules={rules}", map(fraud_tuple, found), baselines.fraud(events)),
        "events": len(events),
        "match_count": len(engine["matches"]),
    }


JOBS: dict[str, Callable[..., dict[str, Any]]] = {
    "fraud": job_fraud,
    "quantifier": job_quantifier,
    "trailing_not": job_trailing_not,
    "sliding_window": job_sliding_window,
    "rules_100": job_rules_100,
    "skip_till_any": job_skip_till_any,
    "cli_e2e": job_cli_e2e,
    "cli_prepare": lambda *a: job_cli_prepare(*a[:4], where=a[4]),
    "scale_keys": lambda *a: job_scale_keys(*a[:4], keys=a[4]),
    "scale_within": lambda *a: job_scale_within(*a[:4], within=a[4]),
    "scale_rules": lambda *a: job_scale_rules(*a[:4], rules=a[4]),
}


def worker(spec: dict[str, Any]) -> None:
    args = [spec["n"], spec["seed"], spec["repeat"], spec["quick"]]
    if "point" in spec:
        args.append(spec["point"])
    result = JOBS[spec["job"]](*args)
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")


# -- orchestrating and reporting (parent side) --------------------------------------------


def launch(spec: dict[str, Any]) -> dict[str, Any]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
    done = subprocess.run(argv, capture_output=True, text=True)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[7:])
            return result
    tail = "\n".join(done.stderr.strip().splitlines()[-12:])
    raise RuntimeError(f"worker {spec['job']} {spec.get('point', '')} failed (exit {done.returncode}):\n{tail}")


def rate(events: int, seconds: float | None) -> float | None:
    return events / seconds if seconds else None


def fmt_int(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def fmt_mb(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def table(headers: Sequence[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(str(r[i])) for r in [list(headers), *rows]) for i in range(len(headers))]
    numeric = [all(_numeric(r[i]) for r in rows) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _numeric(text: str) -> bool:
    return text == "-" or text.replace(",", "").replace(".", "", 1).isdigit()


def _check_note(result: dict[str, Any], what: str = "baseline") -> str:
    if "check" not in result:
        return ""
    if result["check"] == "same":
        return f"same matches as {what}"
    return f"MATCHES DIFFER from {what}"


def workload_row(name: str, r: dict[str, Any]) -> list[str]:
    events = r["events"]
    eps, base_eps = rate(events, r["seconds"]), rate(events, r.get("baseline_seconds"))
    ratio = eps / base_eps if eps and base_eps else None
    notes = []
    if name == "fraud":
        notes.append(_check_note(r))
        if r.get("bytes_per_partial"):
            notes.append(f"{r['bytes_per_partial']:,.0f} B per partial match ({r['memory_partial']:,} alive)")
    elif name == "rules_100":
        notes.append("baseline: the fraud rule alone (engine)")
        notes.append(f"{r['rules_with_matches']} rules matched; " + _check_note(r, "hand-written baseline"))
    elif name == "skip_till_any":
        notes.append(f"peak {r['peak_partial']:,} partial matches")
        if r.get("bytes_per_partial"):
            notes.append(f"{r['bytes_per_partial']:,.0f} B each")
    elif name == "cli_e2e":
        notes.append("default store (SQLite); baseline: --no-store")
        notes.append(_check_note(r, "hand-written baseline"))
    else:
        notes.append(_check_note(r))
    if name not in ("sliding_window", "cli_e2e", "rules_100"):
        drained = "0 partial matches" if r.get("drained_partial") == 0 else f"{r.get('drained_partial')} partial LEFT"
        notes.append(f"after the watermark: {drained}")
    return [
        name,
        fmt_int(events),
        fmt_int(r["match_count"]),
        fmt_int(eps),
        fmt_int(base_eps),
        fmt_ratio(ratio),
        fmt_mb(r.get("peak_rss_mb")),
        "; ".join(n for n in notes if n),
    ]


def memory_row(name: str, r: dict[str, Any]) -> list[str]:
    before, peak = r.get("rss_before_mb"), r.get("peak_rss_mb")
    per = r.get("bytes_per_partial")
    return [
        name,
        fmt_mb(before),
        fmt_mb(peak),
        fmt_mb(peak - before) if before is not None and peak is not None else "-",
        fmt_int(r.get("peak_partial")),
        fmt_int(r.get("peak_windows")),
        fmt_int(r.get("end_partial")),
        fmt_int(r.get("drained_partial")),
        "-" if per is None else f"{per:,.0f}",
    ]


def series_rows(name: str, points: list[tuple[Any, dict[str, Any]]]) -> list[list[str]]:
    rows = []
    first_eps = None
    for point, r in points:
        events = r["events"]
        eps, base_eps = rate(events, r["seconds"]), rate(events, r.get("baseline_seconds"))
        if name == "scale_rules":
            first_eps = first_eps or eps
            base_eps = first_eps
            note = f"build {r['build_seconds']:.2f} s; ratio: vs 1 rule"
        else:
            note = ""
        note = "; ".join(x for x in (note, _check_note(r)) if x)
        before, peak = r.get("rss_before_mb"), r.get("peak_rss_mb")
        rows.append(
            [
                f"{point:,}" if isinstance(point, int) else str(point),
                fmt_int(events),
                fmt_int(r["match_count"]),
                fmt_int(eps),
                fmt_int(base_eps),
                fmt_ratio(eps / base_eps if eps and base_eps else None),
                fmt_int(r["peak_partial"]),
                fmt_mb(peak - before) if before is not None and peak is not None else "-",
                note,
            ]
        )
    return rows


def targets(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(target, measured, PASS/MISS/-)."""
    out = []

    def verdict(ok: bool | None) -> str:
        return "-" if ok is None else ("PASS" if ok else "MISS")

    fraud = results.get("fraud")
    if fraud:
        ratio = fraud["baseline_seconds"] / fraud["seconds"]
        out.append((f"fraud rule: engine >= {TARGET_BASELINE_RATIO} x hand-written baseline", f"{ratio:.2f} x",
                    verdict(ratio >= TARGET_BASELINE_RATIO)))
    many = results.get("rules_100")
    if many:
        ratio = many["baseline_seconds"] / many["seconds"]
        out.append((f"100 rules (5 hot) >= {TARGET_RULES_RATIO} x the single rule", f"{ratio:.2f} x",
                    verdict(ratio >= TARGET_RULES_RATIO)))
    cli = results.get("cli_e2e")
    if cli:
        eps = cli["events"] / cli["seconds"]
        out.append((f"cepengine run, default store >= {TARGET_CLI_EPS:,} events/s", f"{eps:,.0f} events/s",
                    verdict(eps >= TARGET_CLI_EPS)))
    if fraud and fraud.get("bytes_per_partial") is not None:
        per = fraud["bytes_per_partial"]
        out.append((f"fraud rule: <= {TARGET_BYTES_PER_PARTIAL} B per live partial match",
                    f"{per:,.0f} B ({fraud['memory_partial']:,} alive)", verdict(per <= TARGET_BYTES_PER_PARTIAL)))
    for name in ("fraud", "skip_till_any"):
        r = results.get(name)
        if r:
            left = r["drained_partial"]
            out.append((f"{name}: state bounded (0 partial matches once the watermark passes the stream + WITHIN)",
                        f"peak {r['peak_partial']:,}, then {left:,}", verdict(left == 0)))
    return out


def engine_build() -> str:
    """Which cepengine the workers import: pure Python, or the optional
    mypyc-compiled hot path (HATCH_BUILD_HOOK_ENABLE_MYPYC=true pip install .)."""
    import cepengine.runtime.engine

    where = cepengine.runtime.engine.__file__ or ""
    return "mypyc-compiled" if where.endswith((".so", ".pyd")) else "pure Python"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: the whole script in seconds")
    parser.add_argument("--only", metavar="NAMES", help=f"comma-separated, from: {', '.join(WORKLOADS + SERIES)}")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    parser.add_argument("--seed", type=int, default=1, help="seed of every generated stream (default 1)")
    parser.add_argument("--repeat", type=int, default=1, help="run engine and baseline N times, keep the best")
    parser.add_argument("--json", metavar="FILE", help="also write every measurement to FILE as JSON")
    parser.add_argument("--worker", metavar="SPEC", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(json.loads(args.worker))
        return 0
    names = list(WORKLOADS + SERIES)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in WORKLOADS + SERIES]
        if unknown:
            parser.error(f"unknown workload {', '.join(unknown)} (choose from {', '.join(WORKLOADS + SERIES)})")
    size = 1 if args.quick else 0
    started = time.perf_counter()
    results: dict[str, Any] = {}
    series: dict[str, list[tuple[Any, dict[str, Any]]]] = {}
    failures: list[str] = []
    for name in names:
        base = {"job": name, "n": SIZES[name][size], "seed": args.seed, "repeat": args.repeat, "quick": args.quick}
        points = SERIES_POINTS.get(name, (None,))
        for point in points:
            spec = dict(base) if point is None else {**base, "point": point}
            label = name if point is None else f"{name} {point}"
            print(f"running {label} ...", file=sys.stderr, flush=True)
            try:
                result = launch(spec)
            except RuntimeError as exc:
                failures.append(str(exc).splitlines()[0] + " " + str(exc).splitlines()[-1])
                print(exc, file=sys.stderr)
                continue
            if result.get("check") not in (None, "same"):
                failures.append(result["check_detail"])
            if point is None:
                results[name] = result
            else:
                series.setdefault(name, []).append((point, result))
    report(results, series, args, time.perf_counter() - started)
    if args.json:
        Path(args.json).write_text(json.dumps({"workloads": results, "series": series}, indent=2))
    if failures:
        print("\nFAILED:", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    return 0


def report(results: dict[str, Any], series: dict[str, Any], args: argparse.Namespace, seconds: float) -> None:
    md = args.markdown
    heading = (lambda text: f"\n### {text}\n") if md else (lambda text: f"\n{text}\n{'=' * len(text)}")
    mode = "quick" if args.quick else "full"
    print(f"cepengine benchmarks ({mode} run, seed {args.seed}, repeat {args.repeat}, Python "
          f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, engine: {engine_build()})")
    if results:
        print(heading("Workloads"))
        headers = ["workload", "events", "matches", "events/s", "baseline events/s", "ratio", "peak RSS MB", "notes"]
        print(table(headers, [workload_row(n, r) for n, r in results.items()], md))
        mem = {n: r for n, r in results.items() if "peak_partial" in r}
        if mem:
            print(heading("Memory (engine runs)"))
            headers = ["workload", "RSS before MB", "peak RSS MB", "growth MB", "peak partial matches",
                       "peak open windows", "partial at end", "after watermark", "B per partial"]
            print(table(headers, [memory_row(n, r) for n, r in mem.items()], md))
    for name, points in series.items():
        print(heading(f"Scaling: {SERIES_TITLES[name]}, {points[0][1]['events']:,} events"))
        headers = ["value", "events", "matches", "events/s", "baseline events/s", "ratio", "peak partial matches",
                   "growth MB", "notes"]
        print(table(headers, series_rows(name, points), md))
    checked = [r for r in results.values() if "check" in r] + [r for p in series.values() for _, r in p]
    same = [r for r in checked if r.get("check") == "same"]
    print(heading("Match checks"))
    if len(same) == len(checked):
        print(f"all {len(checked)} engine/baseline match checks passed")
    else:
        print(f"{len(checked) - len(same)} of {len(checked)} engine/baseline match checks FAILED")
    found = targets(results)
    if found:
        print(heading("Targets"))
        print(table(["target", "measured", "verdict"], [list(t) for t in found], md))
    print(f"\n(total {seconds:.0f} s)")


if __name__ == "__main__":
    sys.exit(main())
