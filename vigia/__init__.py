"""Vigía: monitoring and alerting for armed-conflict and drug-trade signals.

``vigia`` is the core every stage shares (wire contracts, topics, settings, Kafka
clients, the health server, the command line); the stages install beneath it as
``vigia.connectors``, ``vigia.streams`` and ``vigia.alerts``.
"""
