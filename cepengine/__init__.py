"""cepengine: declarative complex event processing for Python."""

from cepengine.errors import CepError, EventError, RuleError, StoreError, UsageError
from cepengine.events import Match
from cepengine.runtime.engine import Engine

__version__ = "0.1.0"

__all__ = ["CepError", "Engine", "EventError", "Match", "RuleError", "StoreError", "UsageError", "__version__"]
