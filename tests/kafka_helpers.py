"""Helpers for tests that talk to the real broker (shipped in the connectors' test kit)."""

from vigia.connectors.testing.kafka import consume_all, is_marker, keys_of

__all__ = ["consume_all", "is_marker", "keys_of"]
