"""The command line: the only module that prints or picks exit codes.

Each subcommand calls a library function and formats its result.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import IO, Any, TextIO

import orjson

from cepengine.check import CheckResult, check_paths
from cepengine.compiler.build import compile_rule
from cepengine.compiler.explain import explain_dot, explain_text
from cepengine.diagnostics import render, summary_line
from cepengine.errors import CepError, StoreError, UsageError
from cepengine.events import format_time, parse_time
from cepengine.runtime.engine import Engine
from cepengine.runtime.jsonl import InputError, Record, read_records
from cepengine.store.base import DEFAULT_URL
from cepengine.store.session import DEFAULT_CHECKPOINT_EVENTS, DEFAULT_CHECKPOINT_SECONDS, DurableRun

EXIT_OK = 0
EXIT_RULES = 1
EXIT_USAGE = 2
EXIT_IO = 3


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so `main` picks the code."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cepengine", description="Declarative complex event processing.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)

    check = commands.add_parser("check", help="parse and analyse rule files")
    check.add_argument("paths", nargs="+", metavar="PATH", help="rule files or folders (recursing for *.cep)")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument("--strict", action="store_true", help="warnings fail the check too")
    check.add_argument("--schema", metavar="FILE", help="JSON: event type -> field -> type")
    check.set_defaults(handler=cmd_check)

    run = commands.add_parser("run", help="run rules over JSON-lines events; matches as JSON lines on stdout")
    run.add_argument("rules", metavar="RULES", help="a rule file or folder")
    run.add_argument("events", nargs="*", metavar="EVENTS", help="JSON-lines files; - or nothing for stdin")
    run.add_argument("--max-delay", default="0s", help="bounded out-of-orderness (e.g. 5s); default 0")
    run.add_argument("--allowed-lateness", default="0s", help="how far behind the watermark events still count")
    run.add_argument("--late", choices=("drop", "output"), default="drop", help="what happens to late events")
    run.add_argument("--late-output", metavar="FILE", help="JSON lines of late events (with --late output)")
    run.add_argument("--dead-letter", metavar="FILE", help="JSON lines of rejected events with the reason")
    run.add_argument("--idle-timeout", help="advance the watermark by processing time after this much silence")
    run.add_argument("--type-field", default="type")
    run.add_argument("--time-field", default="ts")
    run.add_argument("--id-field", default="id")
    run.add_argument("--time-unit", choices=("s", "ms"), default="s", help="unit of numeric times")
    run.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    _store_options(run)
    run.add_argument("--no-store", action="store_true", help="keep nothing: no matches, dedup or checkpoints stored")
    run.add_argument(
        "--checkpoint-every",
        type=int,
        default=DEFAULT_CHECKPOINT_EVENTS,
        metavar="N",
        help=f"commit to the store every N events (default {DEFAULT_CHECKPOINT_EVENTS:,})",
    )
    run.add_argument(
        "--checkpoint-seconds",
        type=float,
        default=DEFAULT_CHECKPOINT_SECONDS,
        metavar="T",
        help=f"... or every T seconds (default {DEFAULT_CHECKPOINT_SECONDS:g})",
    )
    run.set_defaults(handler=cmd_run)

    resume = commands.add_parser("resume", help="continue the last interrupted run from its checkpoint")
    _store_options(resume)
    resume.add_argument("--force", action="store_true", help="resume even though the rules changed")
    resume.add_argument("--no-progress", action="store_true")
    resume.set_defaults(handler=cmd_resume)

    listing = commands.add_parser("matches", help="list stored matches")
    _store_options(listing)
    listing.add_argument("--rule", metavar="R")
    listing.add_argument("--key", metavar="K", help="a BY value to match (any BY field)")
    listing.add_argument("--since", metavar="T", help="matches starting at or after T (ISO-8601 or epoch seconds)")
    listing.add_argument("--format", choices=("table", "jsonl"), default="table")
    listing.set_defaults(handler=cmd_matches)

    explain = commands.add_parser("explain", help="show a rule's compiled automaton")
    explain.add_argument("rules", metavar="RULES")
    explain.add_argument("--rule", required=True, metavar="NAME")
    explain.add_argument("--format", choices=("text", "dot"), default="text")
    explain.set_defaults(handler=cmd_explain)
    return parser


def _store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store", default=DEFAULT_URL, metavar="URL", help=f"SQLAlchemy URL of the store (default {DEFAULT_URL})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.version:
            from cepengine import __version__

            print(f"cepengine {__version__}")
            return EXIT_OK
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        code: int = args.handler(args)
        return code
    except UsageError as exc:
        print(f"cepengine: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except (InputError, StoreError, OSError) as exc:
        print(f"cepengine: error: {exc}", file=sys.stderr)
        return EXIT_IO
    except KeyboardInterrupt:
        return 130


def _use_colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


def _load_schema(path: str | None) -> dict[str, dict[str, str]] | None:
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            schema = json.load(handle)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read schema {path}: {exc}") from exc
    if not isinstance(schema, dict) or not all(isinstance(v, dict) for v in schema.values()):
        raise UsageError(f"schema {path} must be a JSON object: event type -> {{field: type}}")
    return schema


def print_diagnostics(result: CheckResult, stream: TextIO) -> None:
    colour = _use_colour(stream)
    for diagnostic in result.diagnostics:
        print(render(diagnostic, result.sources, colour=colour), file=stream)


def cmd_check(args: argparse.Namespace) -> int:
    result = check_paths(args.paths, schema=_load_schema(args.schema))
    if args.format == "json":
        print(json.dumps([d.to_dict() for d in result.diagnostics], indent=2))
    else:
        print_diagnostics(result, sys.stdout)
        print(summary_line(result.diagnostics, result.files))
    failing = result.diagnostics if args.strict else result.errors
    return EXIT_RULES if failing else EXIT_OK


def _load_rules(paths: Sequence[str]) -> CheckResult | None:
    """Check the rules; on errors print them as `check` does and return None."""
    result = check_paths(paths)
    if result.errors:
        print_diagnostics(result, sys.stderr)
        print(summary_line(result.diagnostics, result.files), file=sys.stderr)
        return None
    return result


def cmd_explain(args: argparse.Namespace) -> int:
    result = _load_rules([args.rules])
    if result is None:
        return EXIT_RULES
    rule = next((r for r in result.rules if r.name == args.rule), None)
    if rule is None:
        names = ", ".join(sorted(r.name for r in result.rules)) or "none"
        raise UsageError(f"no rule named {args.rule!r} (rules: {names})")
    compiled = compile_rule(rule)
    sys.stdout.write(explain_dot(compiled) if args.format == "dot" else explain_text(compiled))
    return EXIT_OK


class _JsonLines:
    """A JSON-lines side output (dead letters, late events), opened lazily."""

    def __init__(self, path: str | None, append: bool = False) -> None:
        self.path = path
        self.mode = "ab" if append else "wb"
        self.handle: IO[bytes] | None = None

    def write(self, record: dict[str, Any]) -> None:
        if self.path is None:
            return
        if self.handle is None:
            self.handle = open(self.path, self.mode)  # noqa: SIM115 - closed by close()
        self.handle.write(orjson.dumps(record, default=str) + b"\n")

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


_ENGINE_OPTIONS = (
    "max_delay",
    "allowed_lateness",
    "late",
    "idle_timeout",
    "type_field",
    "time_field",
    "id_field",
    "time_unit",
)
_RUN_OPTIONS = ("late_output", "dead_letter", "checkpoint_every", "checkpoint_seconds", "no_progress")


def cmd_run(args: argparse.Namespace) -> int:
    if args.late_output and args.late != "output":
        raise UsageError("--late-output needs --late output")
    if args.checkpoint_every <= 0 or args.checkpoint_seconds <= 0:
        raise UsageError("--checkpoint-every and --checkpoint-seconds must be positive")
    result = _load_rules([args.rules])
    if result is None:
        return EXIT_RULES
    engine_options = {name: getattr(args, name) for name in _ENGINE_OPTIONS}
    engine = Engine(result, **engine_options)
    inputs = [os.path.abspath(p) if p != "-" else p for p in (args.events or ["-"])]
    session = None
    if not args.no_store:
        store = _open_store(args.store)
        options = {
            "engine": engine_options,
            "rules": os.path.abspath(args.rules),
            **{name: getattr(args, name) for name in _RUN_OPTIONS},
        }
        run = store.begin_run(engine.rules_fingerprint, engine.sources, inputs, options)
        session = DurableRun(engine, store, run, args.checkpoint_every, args.checkpoint_seconds)
        session.load_dedup()
    return _drive(engine, session, inputs, args, start=(0, 0), append=False)


def _open_store(url: str) -> Any:
    # SQLAlchemy loads only for the commands that use a store: `check`,
    # `explain` and `run --no-store` start faster without it.
    from cepengine.store.sql import SqlStore

    return SqlStore(url)


def cmd_resume(args: argparse.Namespace) -> int:
    store = _open_store(args.store)
    run = store.last_interrupted_run()
    if run is None:
        print(f"cepengine: nothing to resume in {args.store}: no interrupted run", file=sys.stderr)
        return EXIT_OK
    options = run.options
    result = _load_rules([options["rules"]])
    if result is None:
        return EXIT_RULES
    engine = Engine(result, **options["engine"])
    if engine.rules_fingerprint != run.rules_fingerprint and not args.force:
        raise UsageError(
            f"the rules under {options['rules']} changed since run {run.id} started; "
            "resume with the same rules, or pass --force (changed rules restart with empty state)"
        )
    session = DurableRun(engine, store, run, options["checkpoint_every"], options["checkpoint_seconds"])
    dropped = session.resume(force=args.force)
    if dropped:
        print(f"cepengine: rules restarted with empty state: {', '.join(dropped)}", file=sys.stderr)
    position = session.position
    start = (int(position.get("source", 0)), int(position.get("line", 0)))
    print(f"cepengine: resuming run {run.id} at input {start[0] + 1}, line {start[1] + 1}", file=sys.stderr)
    run_args = argparse.Namespace(**{name: options[name] for name in _RUN_OPTIONS})
    run_args.no_progress = args.no_progress or options["no_progress"]
    return _drive(engine, session, run.inputs, run_args, start=start, append=True)


def _drive(
    engine: Engine,
    session: DurableRun | None,
    inputs: list[str],
    args: argparse.Namespace,
    start: tuple[int, int],
    append: bool,
) -> int:
    """Feed every record to the engine, print new matches, checkpoint."""
    dead = _JsonLines(args.dead_letter, append)
    late = _JsonLines(args.late_output, append)
    where: list[Record] = []
    engine.on_reject(lambda raw, reason: dead.write(_dead_letter(where[-1] if where else None, raw, reason)))
    engine.on_late(lambda event, reason: late.write({"reason": reason, "event": event}))
    printer = _Printer(session)
    position = {"source": start[0], "line": start[1]}
    last: Record | None = None
    started = time.monotonic()
    try:
        for record in _with_progress(read_records(inputs, *start), args):
            where[:] = [record]
            if record.error is not None:
                engine.reject(record.text, record.error)
                found = []
            else:
                found = engine.push(record.value)
            printer.emit(found)
            if session is not None and session.due():
                session.checkpoint({"source": record.source_index, "line": record.line})
            last = record
        printer.emit(engine.close())
        if session is not None:
            session.finish({"source": last.source_index, "line": last.line} if last is not None else position)
        printer.flush()
    finally:
        dead.close()
        late.close()
    _summary(engine, time.monotonic() - started, printer.printed, printer.already_stored)
    return EXIT_OK


class _Printer:
    """Writes match lines to stdout, leaving out matches the store already
    holds from earlier runs (a replay prints nothing new). Lookups are
    batched, and skipped when the store held no matches to begin with."""

    BATCH = 1000

    def __init__(self, session: DurableRun | None) -> None:
        self.session = session
        self.lookup = session is not None and session.store.counts()["cep_matches"] > 0
        self.out = sys.stdout.buffer
        self.waiting: list[Any] = []
        self.already_stored = 0
        self.printed = 0

    def emit(self, found: list[Any]) -> None:
        if not found:
            return
        if not self.lookup:
            self._write(found)
            return
        self.waiting.extend(found)
        if len(self.waiting) >= self.BATCH:
            self._drain()

    def _drain(self) -> None:
        assert self.session is not None
        stored = self.session.store.existing_match_ids([m.match_id for m in self.waiting])
        self.already_stored += sum(1 for m in self.waiting if m.match_id in stored)
        self._write([m for m in self.waiting if m.match_id not in stored])
        self.waiting.clear()

    def _write(self, found: list[Any]) -> None:
        for match in found:
            self.out.write(orjson.dumps(match.to_dict()) + b"\n")
        self.printed += len(found)

    def flush(self) -> None:
        if self.waiting:
            self._drain()
        self.out.flush()


def _dead_letter(record: Record | None, raw: Any, reason: str) -> dict[str, Any]:
    where = {"source": record.source, "line": record.line} if record is not None else {}
    payload = {"raw": raw} if isinstance(raw, str) else {"event": raw}
    return {"reason": reason, **where, **payload}


def _with_progress(records: Any, args: argparse.Namespace) -> Any:
    if args.no_progress or not sys.stderr.isatty():
        yield from records
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(), TextColumn("{task.completed:,} events"), TimeElapsedColumn(), transient=True
    ) as progress:
        task = progress.add_task("events", total=None)
        for count, record in enumerate(records, 1):
            if count % 5000 == 0:
                progress.update(task, completed=count)
            yield record


def _summary(engine: Engine, seconds: float, printed: int, already_stored: int) -> None:
    counts = engine.metrics()
    rate = counts["events_in"] / seconds if seconds > 0 else 0.0
    print(
        f"cepengine: {counts['events_in']:,} events, {counts['matches_out']:,} matches, "
        f"{counts['late']:,} late, {counts['rejected']:,} rejected, {counts['deduped']:,} duplicates, "
        f"{counts['unkeyed']:,} unkeyed, {rate:,.0f} events/s",
        file=sys.stderr,
    )
    if already_stored:
        print(f"cepengine: {already_stored:,} matches were already in the store (not printed)", file=sys.stderr)
    if printed == 0 and (already_stored or counts["deduped"]):
        print("cepengine: nothing new: the store has already processed this input", file=sys.stderr)


def cmd_matches(args: argparse.Namespace) -> int:
    since = None
    if args.since is not None:
        try:
            since = parse_time(float(args.since) if args.since.replace(".", "", 1).isdigit() else args.since)
        except CepError as exc:
            raise UsageError(f"--since: {exc}") from exc
    with _open_store(args.store) as store:
        found = store.matches(rule=args.rule, key=args.key, since_ms=since)
    if args.format == "jsonl":
        for stored in found:
            sys.stdout.buffer.write(orjson.dumps(stored.match) + b"\n")
        return EXIT_OK
    rows = [(m.rule, _key_text(m.key), format_time(m.start_ms), format_time(m.end_ms), m.match_id[:12]) for m in found]
    header = ("RULE", "KEY", "START", "END", "MATCH ID")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    print(f"{len(found)} match{'es' if len(found) != 1 else ''}", file=sys.stderr)
    return EXIT_OK


def _key_text(key: dict[str, Any]) -> str:
    return ", ".join(f"{name}={value}" for name, value in key.items()) or "-"
