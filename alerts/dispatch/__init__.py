"""Routing and grouping: which receivers get an alert, and when a group is flushed."""
