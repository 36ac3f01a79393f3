"""The exceptions cepengine raises. Every one derives from CepError."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cepengine.diagnostics import Diagnostic


class CepError(Exception):
    """Root of every error cepengine raises on purpose."""


class RuleError(CepError):
    """Rules failed to load: carries every diagnostic found."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        errors = [d for d in self.diagnostics if d.severity == "error"]
        first = errors[0] if errors else None
        summary = f"{len(errors)} error(s) in rules"
        if first is not None:
            summary += f"; first: {first.span}: {first.message} [{first.code}]"
        super().__init__(summary)


class UsageError(CepError):
    """A caller asked for something that cannot be done (bad option, path)."""


class EventError(CepError):
    """An event cannot be processed; the message is the rejection reason."""


class StoreError(CepError):
    """The store failed (unreachable, locked past retries, corrupt state)."""
