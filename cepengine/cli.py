"""The command line: the only module that prints or picks exit codes.

Each subcommand calls a library function and formats its result.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from cepengine.check import CheckResult, check_paths
from cepengine.diagnostics import render, summary_line
from cepengine.errors import UsageError

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
