"""Render a local variant of ``prometheus.yml``: same jobs and rules, local targets.

The compose file scrapes ``connectors:9464``, every ``worker`` replica on port 9465
(found by DNS) and ``alerts:9466``;
a test or a developer running the components on this machine needs the same
scrape jobs pointed at ``127.0.0.1:<port>``, rule files by absolute path, and
often a shorter scrape interval. Run as a script::

    python deploy/prometheus/render_local.py -o /tmp/prom.yml \\
        --target vigia-connectors=127.0.0.1:9464 --target vigia-worker=127.0.0.1:9465 \\
        --target vigia-alerts=127.0.0.1:9466 --interval 1s

or import :func:`render` (the tests do). A job named in ``targets`` that is not in
the compose file raises ``KeyError``; jobs not named keep their compose targets
unless ``drop_unnamed`` is set (the default for the CLI and the tests, since the
compose host names do not resolve here).
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
COMPOSE_CONFIG = HERE / "prometheus.yml"
RULES_DIR = HERE / "rules"


def load_compose_config() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_CONFIG.read_text())


def render(
    targets: dict[str, str],
    *,
    scrape_interval: str | None = None,
    alertmanager: str | None = None,
    drop_unnamed: bool = True,
) -> dict[str, Any]:
    """The compose config with ``targets`` (job name → ``host:port``) substituted."""
    config = copy.deepcopy(load_compose_config())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    unknown = set(targets) - set(jobs)
    if unknown:
        raise KeyError(f"no scrape job named {sorted(unknown)} in {COMPOSE_CONFIG}")
    kept = []
    for name, job in jobs.items():
        if name in targets:
            # a job that discovers its replicas by DNS (the worker) gets the local
            # address as a static target; its relabelling still adds its labels
            job.pop("dns_sd_configs", None)
            static = job.get("static_configs", [{}])[0]
            static["targets"] = [targets[name]]
            job["static_configs"] = [static]
            kept.append(job)
        elif not drop_unnamed:
            kept.append(job)
    config["scrape_configs"] = kept
    if scrape_interval:
        config["global"]["scrape_interval"] = scrape_interval
        config["global"]["evaluation_interval"] = scrape_interval
    config["rule_files"] = [str(RULES_DIR / "*.yml")]
    if alertmanager:
        config["alerting"]["alertmanagers"][0]["static_configs"] = [{"targets": [alertmanager]}]
    else:
        config.pop("alerting", None)
    return config


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--target", action="append", default=[], help="job=host:port")
    parser.add_argument("--interval", help="scrape and evaluation interval, e.g. 1s")
    parser.add_argument("--alertmanager", help="host:port of an Alertmanager")
    args = parser.parse_args(argv)
    targets = dict(item.split("=", 1) for item in args.target)
    config = render(targets, scrape_interval=args.interval, alertmanager=args.alertmanager)
    args.output.write_text(yaml.safe_dump(config, sort_keys=False))


if __name__ == "__main__":
    main()
