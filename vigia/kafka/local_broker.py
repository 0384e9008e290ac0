"""A real single-node Apache Kafka (KRaft) broker for development, tests and the demo.

Kafka's jars come from Maven Central: a small POM depending on
``org.apache.kafka:kafka_<scala>`` plus a log4j2 binding is resolved with
``mvn dependency:copy-dependencies`` into ``<cache>/kafka-<version>/libs``.
Where ``mvn`` is missing, Apache's release tarball is downloaded instead.

The broker is one combined broker+controller on 127.0.0.1 whose data directory
persists across stop/start, so topics and committed offsets survive.

Errors: :class:`BrokerError` for anything that stops the broker from being
installed, started or stopped; its message says what to look at (usually the
broker log file).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from vigia.settings import LocalBrokerSettings

POM_TEMPLATE = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.vigia</groupId>
  <artifactId>vigia-local-kafka</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_{scala}</artifactId>
      <version>{kafka}</version>
    </dependency>
    <!-- kafka_2.13's POM does not bring a logging backend; Kafka 4 logs with log4j2,
         whose binding needs SLF4J 2 (Maven would otherwise pick a 1.7 API) -->
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-api</artifactId>
      <version>{slf4j}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j2-impl</artifactId>
      <version>{log4j}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>{log4j}</version>
    </dependency>
  </dependencies>
</project>
"""

LOG4J2_PROPERTIES = """status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
"""


class BrokerError(RuntimeError):
    """The local broker could not be installed, started or stopped."""


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    answering: bool
    bootstrap: str
    data_dir: Path

    def describe(self) -> str:
        if self.running and self.answering:
            return f"running (pid {self.pid}) on {self.bootstrap}, data in {self.data_dir}"
        if self.running:
            return f"started (pid {self.pid}) but not answering on {self.bootstrap}"
        return f"stopped (data in {self.data_dir})"


class LocalBroker:
    """Install, start, stop and inspect the local KRaft broker."""

    def __init__(self, settings: LocalBrokerSettings | None = None) -> None:
        self.settings = settings or LocalBrokerSettings()
        s = self.settings
        self.install_dir = s.cache_dir / f"kafka-{s.scala_version}-{s.kafka_version}"
        self.libs_dir = self.install_dir / "libs"
        self.data_dir = s.data_dir.resolve()
        self.log_dirs = self.data_dir / "kraft-logs"
        self.config_file = self.data_dir / "server.properties"
        self.log4j_file = self.data_dir / "log4j2.properties"
        self.pid_file = self.data_dir / "broker.pid"
        self.log_file = self.data_dir / "broker.log"

    # -- install --------------------------------------------------------------

    @property
    def installed(self) -> bool:
        return (self.install_dir / ".complete").exists()

    def install(self) -> Path:
        """Fetch Kafka's jars once into the cache; later calls return at once."""
        if self.installed:
            return self.libs_dir
        self.install_dir.mkdir(parents=True, exist_ok=True)
        with _file_lock(self.install_dir / ".lock"):
            if self.installed:
                return self.libs_dir
            method = self.settings.install_method
            if method == "auto":
                method = "maven" if shutil.which("mvn") else "tarball"
            if method == "maven":
                self._install_with_maven()
            else:
                self._install_from_tarball()
            (self.install_dir / ".complete").write_text(method)
        return self.libs_dir

    def _install_with_maven(self) -> None:
        s = self.settings
        pom = self.install_dir / "pom.xml"
        pom.write_text(
            POM_TEMPLATE.format(
                scala=s.scala_version,
                kafka=s.kafka_version,
                log4j=s.log4j_version,
                slf4j=s.slf4j_version,
            )
        )
        result = subprocess.run(
            [
                "mvn",
                "-B",
                "-q",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={self.libs_dir}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BrokerError(
                f"mvn could not fetch Kafka {s.kafka_version} from Maven Central:\n"
                f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )

    def _install_from_tarball(self) -> None:
        s = self.settings
        url = s.tarball_url.format(version=s.kafka_version, scala=s.scala_version)
        archive = self.install_dir / "kafka.tgz"
        try:
            urllib.request.urlretrieve(url, archive)
        except OSError as exc:
            raise BrokerError(f"could not download {url}: {exc}") from exc
        with tarfile.open(archive) as tar:
            tar.extractall(self.install_dir, filter="data")
        top = self.install_dir / f"kafka_{s.scala_version}-{s.kafka_version}"
        shutil.move(str(top / "libs"), self.libs_dir)
        shutil.rmtree(top, ignore_errors=True)
        archive.unlink()

    # -- configuration and storage --------------------------------------------

    def _java(self) -> str:
        java_home = os.environ.get("JAVA_HOME")
        if java_home and (Path(java_home) / "bin" / "java").exists():
            return str(Path(java_home) / "bin" / "java")
        java = shutil.which("java")
        if not java:
            raise BrokerError("no java on PATH (Kafka 4 needs Java 17 or newer); set JAVA_HOME")
        return java

    def _java_command(self, main_class: str, *args: str, heap: str = "256m") -> list[str]:
        return [
            self._java(),
            f"-Xmx{heap}",
            f"-Xms{heap}" if heap == self.settings.heap else "-Xms64m",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.log4j_file}",
            "-cp",
            f"{self.libs_dir}/*",
            main_class,
            *args,
        ]

    def write_config(self) -> None:
        s = self.settings
        self.data_dir.mkdir(parents=True, exist_ok=True)
        listener = f"{s.host}:{s.port}"
        controller = f"{s.host}:{s.controller_port}"
        properties = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": controller,
            "listeners": f"PLAINTEXT://{listener},CONTROLLER://{controller}",
            "advertised.listeners": f"PLAINTEXT://{listener},CONTROLLER://{controller}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.log_dirs),
            "num.partitions": "1",
            # One node: internal topics must not ask for replicas that cannot exist,
            # or consumer groups and transactions never become available.
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "true",
            "log.retention.hours": "-1",
            "log.cleaner.backoff.ms": "5000",
        }
        self.config_file.write_text("".join(f"{k}={v}\n" for k, v in properties.items()))
        self.log4j_file.write_text(LOG4J2_PROPERTIES)

    @property
    def formatted(self) -> bool:
        return (self.log_dirs / "meta.properties").exists()

    def format_storage(self) -> None:
        """Format KRaft storage once; a formatted data directory is kept as it is."""
        if self.formatted:
            return
        uuid = subprocess.run(
            self._java_command("kafka.tools.StorageTool", "random-uuid"),
            capture_output=True,
            text=True,
            check=False,
        )
        cluster_id = uuid.stdout.strip().splitlines()[-1] if uuid.returncode == 0 else ""
        if not cluster_id:
            raise BrokerError(f"StorageTool random-uuid failed: {uuid.stderr[-2000:]}")
        result = subprocess.run(
            self._java_command(
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "-t",
                cluster_id,
                "-c",
                str(self.config_file),
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BrokerError(f"StorageTool format failed: {result.stdout}{result.stderr[-2000:]}")

    # -- lifecycle --------------------------------------------------------------

    def _read_pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        return pid

    def answering(self, timeout: float = 2.0) -> bool:
        """True when the broker accepts a connection and answers a metadata request."""
        try:
            with socket.create_connection((self.settings.host, self.settings.port), timeout):
                pass
        except OSError:
            return False
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        try:
            admin = KafkaAdminClient(
                bootstrap_servers=self.settings.bootstrap,
                request_timeout_ms=int(timeout * 1000) + 3000,
            )
        except (KafkaError, OSError, ValueError):
            return False
        try:
            admin.list_topics()
            return True
        except (KafkaError, OSError):
            return False
        finally:
            admin.close()

    def status(self) -> BrokerStatus:
        pid = self._read_pid()
        return BrokerStatus(
            running=pid is not None,
            pid=pid,
            answering=pid is not None and self.answering(),
            bootstrap=self.settings.bootstrap,
            data_dir=self.data_dir,
        )

    def start(self) -> BrokerStatus:
        """Install if needed, format once, start and wait until the broker answers.

        A broker already running from this data directory is reused. Raises
        :class:`BrokerError` (with the tail of the broker log) if it does not
        answer within ``start_timeout_s``.
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with _file_lock(self.data_dir / ".lock"):
            pid = self._read_pid()
            if pid is None:
                self._ensure_ports_free()
                self.install()
                self.write_config()
                self.format_storage()
                pid = self._spawn()
            self._wait_until_answering(pid)
        return self.status()

    def _ensure_ports_free(self) -> None:
        s = self.settings
        for port in (s.port, s.controller_port):
            with contextlib.suppress(OSError), socket.create_connection((s.host, port), 0.5):
                raise BrokerError(
                    f"port {port} on {s.host} is taken by another process: stop it, set "
                    "VIGIA_BROKER__PORT / VIGIA_BROKER__CONTROLLER_PORT, or point "
                    "VIGIA_KAFKA__BOOTSTRAP_SERVERS at that cluster"
                )

    def _spawn(self) -> int:
        with open(self.log_file, "ab") as log:
            process = subprocess.Popen(
                self._java_command("kafka.Kafka", str(self.config_file), heap=self.settings.heap),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # outlive the CLI that started it
            )
        self.pid_file.write_text(str(process.pid))
        return process.pid

    def _wait_until_answering(self, pid: int) -> None:
        deadline = time.monotonic() + self.settings.start_timeout_s
        while time.monotonic() < deadline:
            if self._read_pid() is None or _is_zombie(pid):
                raise BrokerError(f"the broker exited during start-up:\n{self.log_tail()}")
            if self.answering():
                return
            time.sleep(0.5)
        raise BrokerError(
            f"the broker did not answer on {self.settings.bootstrap} within "
            f"{self.settings.start_timeout_s:.0f}s:\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 60.0) -> bool:
        """Stop cleanly (SIGTERM, then SIGKILL after ``timeout``). False if it was not running."""
        pid = self._read_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._read_pid() is None or _is_zombie(pid):
                break
            time.sleep(0.2)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        self.pid_file.unlink(missing_ok=True)
        return True

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return f"(no log at {self.log_file})"


def _is_zombie(pid: int) -> bool:
    try:
        with contextlib.suppress(ChildProcessError):
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                return True
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        return state == "Z"
    except OSError:
        return True


@contextlib.contextmanager
def _file_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
