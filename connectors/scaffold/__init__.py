"""``vigia connectors new NAME --path DIR``: write a complete source plugin package.

The package has a connector (``vigia.connectors`` entry point), a mapper (``vigia.mappers``),
a small sample file and tests that run the shipped conformance suite against a local HTTP
server; ``pip install DIR`` then ``pytest`` inside it passes with no edits
(``tests/connectors/test_scaffold.py`` does exactly that).

Jinja2 templates (``template/``, ``*.j2`` rendered, other files copied) rather than copier or
cookiecutter: Vigía already depends on Jinja2 for its alert templates, the package is eight
files with three variables, and nothing needs a template update workflow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from jinja2 import Environment, StrictUndefined

NAME = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


class ScaffoldError(ValueError):
    """A bad name or a target directory that is not empty (a user error)."""


@dataclass(frozen=True)
class PluginNames:
    name: str  # the connector type, mapper and source name: acme_feed
    package: str  # the import package: vigia_acme_feed
    distribution: str  # the pip name: vigia-acme-feed
    class_name: str  # AcmeFeed

    @classmethod
    def of(cls, name: str) -> PluginNames:
        if not NAME.match(name):
            raise ScaffoldError(
                f"plugin name {name!r}: use lower case letters, digits and '_' (e.g. acme_feed)"
            )
        camel = "".join(part.capitalize() for part in name.split("_"))
        return cls(name, f"vigia_{name}", f"vigia-{name.replace('_', '-')}", camel)


def write_plugin(name: str, target: Path) -> list[Path]:
    """Render the template into ``target`` (created; must be empty); returns the files."""
    names = PluginNames.of(name)
    if target.exists() and any(target.iterdir()):
        raise ScaffoldError(f"{target} is not empty")
    env = Environment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)
    written: list[Path] = []
    root = resources.files("vigia.connectors.scaffold").joinpath("template")
    for source, relative in _walk(root, Path()):
        relative = Path(*(names.package if p == "package" else p for p in relative.parts))
        out = target / relative
        if out.suffix == ".j2":
            out = out.with_suffix("")
            text = env.from_string(source.read_text("utf-8")).render(**vars(names))
        else:
            text = source.read_text("utf-8")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        written.append(out)
    return written


def _walk(node: Traversable, relative: Path):
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        if child.is_dir():
            if child.name != "__pycache__":
                yield from _walk(child, relative / child.name)
        else:
            yield child, relative / child.name
