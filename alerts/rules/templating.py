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

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from vigia.numbers import fmt_number

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
# `x | num`: significant digits, never a small expected value or p-value rounded to 0.
_ENV.filters["num"] = fmt_number


@functools.lru_cache(maxsize=1024)
def compile_template(text: str):
    """Compile once; raises :class:`ValueError` with Jinja's message on a syntax error."""
    try:
        return _ENV.from_string(text)
    except TemplateError as exc:
        raise ValueError(f"bad template {text!r}: {exc}") from exc


@functools.lru_cache(maxsize=1280)
def _globals(template: Template) -> dict[str, Any]:
    """The template's globals (the environment's: ``range``, ``dict``, …) as one dict."""
    return dict(template.globals)


def _render(template: Template, context: Mapping[str, Any]) -> str:
    """``template.render(**context)``, less Jinja's per-call merge of the globals.

    ``Template.render`` copies ``template.globals`` (a ChainMap, iterated key by key in
    Python) into every new context: a third of the time of rendering the default
    annotations. The globals never change here, so they are merged once per template
    and the context is handed over as is (``shared``); errors are reported as
    ``render`` reports them.
    """
    variables = _globals(template) | dict(context)
    try:
        return template.environment.concat(  # type: ignore[attr-defined]
            template.root_render_func(template.new_context(variables, shared=True))
        )
    except Exception:
        return template.environment.handle_exception()


def render(text: str, context: Mapping[str, Any]) -> str:
    if "{" not in text:
        return text
    try:
        return _render(compile_template(text), context).strip()
    except (TemplateError, ValueError, TypeError, ArithmeticError, AttributeError) as exc:
        return f"<template error: {exc}>"


_SEP = "\x1e\x1f\x1e"  # between the parts of a combined template; never in a rules file


@functools.lru_cache(maxsize=256)
def _combined(texts: tuple[str, ...]):
    """One compiled template for several expression-only templates, or None.

    Rendering once instead of once per template saves Jinja's per-render set-up
    (about three quarters of the time for the four default annotations). Only
    templates without statements (``{%``) are combined, so no ``set`` can leak from
    one into the next; a combination that fails to compile is not used.
    """
    if len(texts) < 2 or any("{%" in t or _SEP in t for t in texts):
        return None
    try:
        return _ENV.from_string(_SEP.join(texts))
    except TemplateError:
        return None


def render_all(templates: Mapping[str, str], context: Mapping[str, Any]) -> dict[str, str]:
    """Every template rendered with ``context``; the same result as :func:`render` on each."""
    keys = [k for k, t in templates.items() if "{" in t]
    combined = _combined(tuple(templates[k] for k in keys))
    if combined is not None:
        try:
            parts = _render(combined, context).split(_SEP)
        except Exception:  # one part failed: render each to locate it
            parts = None
        if parts is not None and len(parts) == len(keys):
            out = dict(templates)
            out.update(zip(keys, (p.strip() for p in parts), strict=True))
            return out
    return {key: render(text, context) for key, text in templates.items()}
