"""Spike detectors: pure Python, no Kafka. Registered under the ``vigia.detectors`` entry points."""

from vigia.streams.detectors.base import Detector, DetectorResult, SeriesContext

__all__ = ["Detector", "DetectorResult", "SeriesContext"]
