"""JSON-lines input: files or stdin, decoded with orjson, one record per
non-blank line, each with its location (for dead letters and resume)."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO

import attrs
import orjson

from cepengine.errors import CepError


class InputError(CepError):
    """An input file cannot be opened or read."""


@attrs.frozen(slots=True)
class Record:
    """One input line: where it came from, and the decoded value or why it
    could not be decoded (`error`)."""

    source: str
    line: int
    value: Any = None
    error: str | None = None
    text: str = ""


def read_records(paths: Sequence[str], skip_lines: dict[str, int] | None = None) -> Iterator[Record]:
    """Records of every input in order; `-` is stdin. `skip_lines` maps a
    source to the number of its lines already consumed (resume)."""
    for path in paths:
        skip = (skip_lines or {}).get(path, 0)
        if path == "-":
            yield from _records("-", sys.stdin.buffer, skip)
            continue
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below, after the generator is drained
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
        with handle:
            yield from _records(path, handle, skip)


def _records(source: str, handle: BinaryIO, skip: int) -> Iterator[Record]:
    number = 0
    try:
        for raw in handle:
            number += 1
            if number <= skip or not raw.strip():
                continue
            try:
                yield Record(source, number, orjson.loads(raw))
            except orjson.JSONDecodeError as exc:
                text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                yield Record(source, number, error=f"not JSON: {exc}", text=text)
    except OSError as exc:
        raise InputError(f"error reading {source}: {exc.strerror or exc}") from exc
