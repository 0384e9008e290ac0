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


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
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
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("*.whl")
    return built


def _data_files() -> dict[str, Path]:
    """Every file of the package folders that is not Python source, by its path in a wheel."""
    roots = {"vigia": REPO / "vigia", **{f"vigia/{s}": REPO / s for s in STAGES}}
    return {
        f"{prefix}/{path.relative_to(root).as_posix()}": path
        for prefix, root in roots.items()
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".py", ".pyc")
    }


def test_the_wheel_holds_one_top_level_package_under_the_new_name(wheel: Path):
    assert wheel.name.startswith("vigia_ews-")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"vigia"}
    assert "vigia/geo/data/divipola_codigos_municipios.csv" in names
    assert "vigia/geo/data/departments.geojson" in names
    assert "vigia/alerts/templates/notification.html.j2" in names
    assert "vigia/alerts/web/templates/alert.html.j2" in names


def test_the_wheel_ships_every_data_file_of_the_package_folders(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "vigia/data/country_codes.csv" in _data_files()  # the check sees the core's data
    assert sorted(set(_data_files()) - names) == []


def test_the_unpacked_wheel_runs_without_the_source_tree(wheel: Path, tmp_path: Path):
    """Import from the wheel alone (ahead of the editable install) and read every bundled
    table: a data file missing from the wheel fails here as it would for an operator."""
    zipfile.ZipFile(wheel).extractall(tmp_path)
    code = (
        "import sys, vigia, vigia.countries as c, vigia.geo as g\n"
        "from vigia.streams.normalize import MapperRegistry\n"
        "assert vigia.__file__.startswith(sys.argv[1]), vigia.__file__\n"
        "assert c.to_iso3(100, 'gw') == 'COL' and c.to_iso3('CO', 'fips') == 'COL'\n"
        "assert g.load_divipola().municipalities['11001'].name == 'Bogotá, D.C.'\n"
        "assert 'seizures' in MapperRegistry.load().names()\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
