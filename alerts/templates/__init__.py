"""Jinja2 templates for alert bodies (text, HTML, Slack mrkdwn); words come from
:mod:`vigia.alerts.sinks.messages` so one template serves English and Spanish."""
