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
from cepengine.errors import RuleError, UsageError
from cepengine.runtime.engine import Engine
from cepengine.runtime.jsonl import InputError, Record, read_records

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
    run.set_defaults(handler=cmd_run)

    explain = commands.add_parser("explain", help="show a rule's compiled automaton")
    explain.add_argument("rules", metavar="RULES")
    explain.add_argument("--rule", required=True, metavar="NAME")
    explain.add_argument("--format", choices=("text", "dot"), default="text")
    explain.set_defaults(handler=cmd_explain)
    return parser


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
    except (InputError, OSError) as exc:
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

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.handle: IO[bytes] | None = None

    def write(self, record: dict[str, Any]) -> None:
        if self.path is None:
            return
        if self.handle is None:
            self.handle = open(self.path, "wb")  # noqa: SIM115 - closed by close()
        self.handle.write(orjson.dumps(record, default=str) + b"\n")

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


def cmd_run(args: argparse.Namespace) -> int:
    if args.late_output and args.late != "output":
        raise UsageError("--late-output needs --late output")
    result = _load_rules([args.rules])
    if result is None:
        return EXIT_RULES
    try:
        engine = Engine(
            result,
            max_delay=args.max_delay,
            allowed_lateness=args.allowed_lateness,
            late=args.late,
            idle_timeout=args.idle_timeout,
            type_field=args.type_field,
            time_field=args.time_field,
            id_field=args.id_field,
            time_unit=args.time_unit,
        )
    except RuleError as exc:  # pragma: no cover - check_paths already reported
        raise UsageError(str(exc)) from exc
    dead = _JsonLines(args.dead_letter)
    late = _JsonLines(args.late_output)
    where: list[Record] = []
    engine.on_reject(lambda raw, reason: dead.write(_dead_letter(where[-1] if where else None, raw, reason)))
    engine.on_late(lambda event, reason: late.write({"reason": reason, "event": event}))
    out = sys.stdout.buffer
    started = time.monotonic()
    try:
        for record in _with_progress(read_records(args.events or ["-"]), args):
            where[:] = [record]
            if record.error is not None:
                engine.reject(record.text, record.error)
                continue
            for match in engine.push(record.value):
                out.write(orjson.dumps(match.to_dict()) + b"\n")
        for match in engine.close():
            out.write(orjson.dumps(match.to_dict()) + b"\n")
        out.flush()
    except BrokenPipeError:
        return EXIT_OK
    finally:
        dead.close()
        late.close()
    _summary(engine, time.monotonic() - started)
    return EXIT_OK


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


def _summary(engine: Engine, seconds: float) -> None:
    counts = engine.metrics()
    rate = counts["events_in"] / seconds if seconds > 0 else 0.0
    print(
        f"cepengine: {counts['events_in']:,} events, {counts['matches_out']:,} matches, "
        f"{counts['late']:,} late, {counts['rejected']:,} rejected, {counts['deduped']:,} duplicates, "
        f"{counts['unkeyed']:,} unkeyed, {rate:,.0f} events/s",
        file=sys.stderr,
    )
