"""Jinja2 templates for alert bodies (text, HTML, Slack mrkdwn); words come from
:mod:`alerts.sinks.messages` so one template serves English and Spanish."""
