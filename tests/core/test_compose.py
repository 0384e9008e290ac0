"""docker-compose.yml: valid against the Compose Specification; every command exists."""

from __future__ import annotations

import json

import jsonschema
import pytest
import typer.main
import yaml

from tests.conftest import REPO
from vigia.cli import app

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SCHEMA = json.loads((REPO / "deploy/schema/compose-spec.json").read_text())
VIGIA_SERVICES = {
    name: service
    for name, service in COMPOSE["services"].items()
    if service.get("image", "").startswith("vigia")
}


def test_compose_file_is_valid_against_the_compose_specification():
    validator = jsonschema.Draft201909Validator(SCHEMA)
    errors = sorted(validator.iter_errors(COMPOSE), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_compose_runs_kafka_in_kraft_mode_with_every_peer():
    services = COMPOSE["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:4.")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    for name in (
        "kafka",
        "connectors",
        "worker",
        "alerts",
        "prometheus",
        "alertmanager",
        "grafana",
    ):
        assert "healthcheck" in services[name], f"{name} has no health check"
    assert set(COMPOSE["volumes"]) >= {"kafka-data", "prometheus-data", "grafana-data"}


@pytest.mark.parametrize("name", sorted(VIGIA_SERVICES))
def test_every_vigia_service_command_exists_in_the_cli(name):
    command = VIGIA_SERVICES[name]["command"]
    group = typer.main.get_command(app)
    path: list[str] = []
    for word in command:
        if word.startswith("-"):
            break
        # Typer may ship its own click; a group is anything with subcommands.
        assert hasattr(group, "commands"), f"`vigia {' '.join(path)}` takes no subcommand {word}"
        sub = group.commands.get(word)
        assert sub is not None, f"service {name}: `vigia {' '.join([*path, word])}` does not exist"
        group, path = sub, [*path, word]
    assert not hasattr(group, "commands"), f"`vigia {' '.join(path)}` needs a subcommand"


def test_bind_mounted_files_exist():
    for name, service in COMPOSE["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), f"{name} mounts missing {source}"
