"""Durable storage of matches, processed event ids, checkpoints and runs."""
