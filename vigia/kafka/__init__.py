"""Kafka plumbing: the local broker, topic administration and client factories."""
