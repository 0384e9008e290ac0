"""Jinja2 text for labels and annotations, rendered in a sandbox.

Templates are compiled when the rules file loads, so a syntax error fails
``vigia rules check`` with the rule and field named. At run time a template that
raises (e.g. an undefined attribute) renders as ``<template error: …>`` instead of
stopping the dispatcher: a badly worded alert is better than a lost one.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


@functools.lru_cache(maxsize=1024)
def compile_template(text: str):
    """Compile once; raises :class:`ValueError` with Jinja's message on a syntax error."""
    try:
        return _ENV.from_string(text)
    except TemplateError as exc:
        raise ValueError(f"bad template {text!r}: {exc}") from exc


def render(text: str, context: Mapping[str, Any]) -> str:
    if "{" not in text:
        return text
    try:
        return compile_template(text).render(**context).strip()
    except (TemplateError, ValueError, TypeError, ArithmeticError, AttributeError) as exc:
        return f"<template error: {exc}>"


def render_all(templates: Mapping[str, str], context: Mapping[str, Any]) -> dict[str, str]:
    return {key: render(text, context) for key, text in templates.items()}
