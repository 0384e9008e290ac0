"""The distribution installs one top-level package, ``vigia``, and stages never import
each other (only the composition root, ``vigia.cli``, composes them)."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STAGES = ("connectors", "streams", "alerts")
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def _sources() -> list[Path]:
    roots = [REPO / "vigia", *(REPO / s for s in STAGES), REPO / "tests", REPO / "bench"]
    return [p for root in roots for p in root.rglob("*.py") if "__pycache__" not in p.parts]


def test_no_source_imports_a_stage_as_a_top_level_package():
    offenders = [
        f"{path.relative_to(REPO)}: {name}"
        for path in _sources()
        for name in _imports(path)
        if name.split(".")[0] in STAGES
    ]
    assert offenders == []


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_never_imports_another_stage(stage):
    others = {f"vigia.{s}" for s in STAGES if s != stage}
    offenders = [
        f"{path.relative_to(REPO)}: {name}"
        for path in (REPO / stage).rglob("*.py")
        for name in _imports(path)
        if any(name == o or name.startswith(o + ".") for o in others)
    ]
    assert offenders == []


def test_the_core_imports_stages_only_from_the_cli():
    offenders = [
        f"{path.relative_to(REPO)}: {name}"
        for path in (REPO / "vigia").rglob("*.py")
        if "cli" not in path.relative_to(REPO / "vigia").parts
        for name in _imports(path)
        if any(name.startswith(f"vigia.{s}") for s in STAGES)
    ]
    assert offenders == []


def test_every_package_folder_is_listed_in_pyproject():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {"vigia"} if (REPO / "vigia" / "__init__.py").is_file() else set()
    for init in (REPO / "vigia").rglob("__init__.py"):
        found.add(".".join(("vigia", *init.parent.relative_to(REPO / "vigia").parts)).rstrip("."))
    for stage in STAGES:
        for init in (REPO / stage).rglob("__init__.py"):
            found.add(".".join(("vigia", *init.parent.relative_to(REPO).parts)))
    assert listed == found


def test_the_wheel_holds_one_top_level_package_under_the_new_name(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO),
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    assert wheel.name.startswith("vigia_ews-")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"vigia"}
    assert "vigia/geo/data/divipola_codigos_municipios.csv" in names
    assert "vigia/geo/data/departments.geojson" in names
    assert "vigia/alerts/templates/notification.html.j2" in names
    assert "vigia/alerts/web/templates/alert.html.j2" in names
