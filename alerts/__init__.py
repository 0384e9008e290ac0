"""Vigía alerting: detections → rules → routing → dedup → sinks."""
