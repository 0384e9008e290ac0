"""Vigía stream processing: raw topics → canonical events → counts → detections.

This package also holds what all three packages share: the wire contracts
(:mod:`vigia.schema`), topic names (:mod:`vigia.topics`), settings
(:mod:`vigia.settings`) and the Kafka plumbing (:mod:`vigia.kafka`).
"""
