"""Source-format knowledge both the connectors and the stream stage need (pure, no I/O).

A connector reads a format to split it into records; the stream stage's mapper reads the
same format to name fields. Stages never import each other, so what both need about a
format is declared here, once.
"""
