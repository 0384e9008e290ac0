"""Vigía connectors: the outside world → raw Kafka topics."""
