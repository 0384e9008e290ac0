"""The scenario a connector type gives the conformance suite: a local server and expectations.

A scenario registers its handlers on a ``pytest_httpserver.HTTPServer`` serving the source's
real format, gives the instance config pointing at it, the source ids one full run must
produce, the path whose first answer the suite replaces with a 500/429/401/404, and a check
that payloads keep the source's own field names.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pytest_httpserver import HTTPServer

from vigia.schema import RawRecord


class Scenario:
    type_name: str = ""
    fail_path: str = ""
    #: Requests to fail_path a connector makes on a 401 before giving up (ACLED renews once).
    auth_attempts: int = 1
    initial_cursor: ClassVar[dict | None] = None
    env: ClassVar[dict[str, str]] = {}

    @property
    def instance(self) -> str:
        return f"{self.type_name}_conf"

    def serve(self, server: HTTPServer, malformed: bool = False) -> None:
        raise NotImplementedError

    def config(self, server: HTTPServer) -> dict[str, Any]:
        raise NotImplementedError

    def expected_ids(self) -> list[str]:
        raise NotImplementedError

    def check_payload(self, record: RawRecord) -> None:
        raise NotImplementedError

    def spec(self, server: HTTPServer, **http: Any) -> dict[str, Any]:
        config = self.config(server)
        config["http"] = {"timeout": 5, "retry": {"attempts": 4, "wait_initial": 0.01,
                          "wait_max": 0.05, "wait_jitter": 0.01, **http}}  # fmt: skip
        return {"name": self.instance, "type": self.type_name, "config": config}
