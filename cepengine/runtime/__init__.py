"""Executing compiled rules: time, matching, windows and the engine."""
