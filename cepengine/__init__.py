"""cepengine: declarative complex event processing for Python."""

__version__ = "0.1.0"
