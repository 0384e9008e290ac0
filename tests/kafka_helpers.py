"""Helpers for tests that talk to the real broker (shipped in the connectors' test kit)."""

from vigia.connectors.testing.kafka import consume_all, keys_of

__all__ = ["consume_all", "keys_of"]
