"""JSON-lines input: files or stdin, decoded with orjson, one record per
non-blank line, each with its location (for dead letters and resume)."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO, NamedTuple

import orjson

from cepengine.errors import CepError


class InputError(CepError):
    """An input file cannot be opened or read."""


class Record(NamedTuple):
    """One input line: where it came from (input number and path, line
    number), and the decoded value or why it could not be decoded. (A
    NamedTuple: one is made per input line, and tuples are cheap to make.)"""

    source_index: int
    source: str
    line: int
    value: Any = None
    error: str | None = None
    text: str = ""


def read_records(paths: Sequence[str], start_source: int = 0, start_line: int = 0) -> Iterator[Record]:
    """Records of every input in order; `-` is stdin. Resuming, the inputs
    before `start_source` and that input's first `start_line` lines are
    skipped (already covered by a checkpoint)."""
    for index, path in enumerate(paths):
        if index < start_source:
            continue
        skip = start_line if index == start_source else 0
        if path == "-":
            yield from _records(index, "-", sys.stdin.buffer, skip)
            continue
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below, after the generator is drained
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
        with handle:
            yield from _records(index, path, handle, skip)


def _records(index: int, source: str, handle: BinaryIO, skip: int) -> Iterator[Record]:
    number = 0
    try:
        for raw in handle:
            number += 1
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]  # a UTF-8 byte order mark is not part of the event
            if number <= skip or not raw.strip():
                continue
            try:
                yield Record(index, source, number, orjson.loads(raw))
            except orjson.JSONDecodeError as exc:
                text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                yield Record(index, source, number, error=f"not JSON: {exc}", text=text)
    except OSError as exc:
        raise InputError(f"error reading {source}: {exc.strerror or exc}") from exc
