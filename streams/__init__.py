"""Vigía stream processing: raw topics → canonical events → counts → detections.

This package also holds what all three packages share: the wire contracts
(:mod:`streams.schema`), topic names (:mod:`streams.topics`), settings
(:mod:`streams.settings`) and the Kafka plumbing (:mod:`streams.kafka`).
"""
