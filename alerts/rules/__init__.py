"""Alert rules: which detections become alerts, with what severity, labels and text.

Pure logic (no Kafka, no HTTP): :mod:`.model` declares the YAML schema,
:mod:`.templating` renders Jinja2 text, :mod:`.evaluate` turns a detection into
the alerts it raises.
"""

from vigia.alerts.rules.evaluate import RuleHit, evaluate_rules
from vigia.alerts.rules.model import Rule, Selector, SeverityBand, SeverityPolicy

__all__ = ["Rule", "RuleHit", "Selector", "SeverityBand", "SeverityPolicy", "evaluate_rules"]
