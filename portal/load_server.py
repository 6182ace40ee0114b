"""The pieces of `portal load` that are not the scenario: gunicorn started on loopback as production starts it
(docs/deploy.md) and always stopped, and a browser-like HTTP client (cookie jar, no automatic redirects, one
connection per request so that a POST is never sent twice) that times every call and keeps every status."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # where wsgi.py is
LOOPBACK = "127.0.0.1"


class ServerDidNotStart(RuntimeError):
    """gunicorn exited or did not answer /health in time; the message ends with its last log lines."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def _parent_death_signal():
    """Linux: a function for the child that makes the gunicorn master get SIGTERM when the thread that started it
    dies, even by SIGKILL (prctl PR_SET_PDEATHSIG). Resolved here, in the parent: the child between fork and exec
    must not import anything."""
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGTERM)


def gunicorn_command(port: int, workers: int, threads: int) -> list[str]:
    """The production command (docs/deploy.md) on loopback: gthread workers, the app factory of wsgi.py."""
    from gunicorn.config import KNOWN_SETTINGS

    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class", "gthread",
               "--threads", str(threads), "--bind", f"{LOOPBACK}:{port}", "--timeout", "120",
               "--graceful-timeout", "5", "--chdir", str(ROOT), "--log-level", "warning"]
    if any(setting.name == "control_socket_disable" for setting in KNOWN_SETTINGS):
        command.append("--no-control-socket")  # gunicorn 24+: one per user by default, shared by parallel runs
    return [*command, "wsgi:app"]


@dataclass(frozen=True)
class Server:
    base: str  # http://127.0.0.1:<port>
    pid: int  # of the gunicorn master, the leader of its process group


@contextlib.contextmanager
def gunicorn(env: dict[str, str], workers: int, threads: int, start_timeout: float = 90) -> Iterator[Server]:
    """Start gunicorn with `env`, yield it once /health answers, and stop it (its whole process group) whatever
    happens in between."""
    try:
        import gunicorn as _present  # noqa: F401
    except ImportError:
        raise ServerDidNotStart("gunicorn is not installed (pip install gunicorn)") from None
    port = free_port()
    with tempfile.TemporaryFile(mode="w+b") as log:
        process = subprocess.Popen(gunicorn_command(port, workers, threads), env=env, cwd=ROOT, stdout=log,
                                   stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
                                   preexec_fn=_parent_death_signal())
        try:
            base = f"http://{LOOPBACK}:{port}"
            _wait_until_healthy(process, base, start_timeout, log)
            yield Server(base, process.pid)
        finally:
            _stop(process)


def _wait_until_healthy(process: subprocess.Popen, base: str, timeout: float, log) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerDidNotStart(f"gunicorn exited with code {process.returncode}: {_tail(log)}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{base}/health", timeout=2) as answer:
            if answer.status == 200:
                return
        time.sleep(0.25)
    raise ServerDidNotStart(f"gunicorn did not answer /health within {timeout:.0f} s: {_tail(log)}")


def _tail(log, lines: int = 12) -> str:
    log.flush()
    log.seek(0)
    text = log.read().decode("utf-8", "replace").strip().splitlines()
    return " | ".join(text[-lines:]) or "(no output)"


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the group (master and workers), SIGKILL after ten seconds."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        if process.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(wait)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # a worker that outlived its master


# ---- the client ---------------------------------------------------------------------------------------------
@dataclass
class Answer:
    status: int
    location: str
    body: str


@dataclass
class Recorder:
    """Latency per operation, every status, and what went wrong; shared by every client thread."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, operation: str, seconds: float, status: int, url: str) -> None:
        with self.lock:
            self.latencies[operation].append(seconds)
            self.statuses[status] += 1
            if status >= 500:
                self.violations.append(f"{operation} {url}: HTTP {status}")

    def violation(self, message: str) -> None:
        with self.lock:
            self.violations.append(message)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 302 is an answer to look at, as in the browser's network panel


class Client:
    """One browser: its own cookie jar; every call timed under an operation name."""

    def __init__(self, base: str, recorder: Recorder, language: str = "en"):
        self.base, self.recorder = base, recorder
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect())
        self.headers = {"Accept-Language": language, "Connection": "close", "User-Agent": "portal-load"}

    def call(self, operation: str, method: str, path: str, data: dict | None = None, json_body: bytes | None = None,
             headers: dict | None = None, expect: tuple[int, ...] = (200,)) -> Answer:
        body = json_body if json_body is not None else (
            urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None)
        request = urllib.request.Request(self.base + path, data=body, method=method,
                                         headers={**self.headers, **(headers or {})})
        if json_body is not None:
            request.add_header("Content-Type", "application/json")
        started = time.perf_counter()
        try:
            with self.opener.open(request, timeout=60) as response:
                answer = Answer(response.status, response.headers.get("Location", ""), response.read().decode())
        except urllib.error.HTTPError as error:
            answer = Answer(error.code, error.headers.get("Location", ""), error.read().decode("utf-8", "replace"))
        self.recorder.record(operation, time.perf_counter() - started, answer.status, path)
        if answer.status not in expect and answer.status < 500:
            self.recorder.violation(f"{operation} {method} {path}: HTTP {answer.status}, expected {expect}")
        return answer

    def get(self, operation: str, path: str, expect: tuple[int, ...] = (200,)) -> Answer:
        return self.call(operation, "GET", path, expect=expect)

    def post(self, operation: str, path: str, data: dict, expect: tuple[int, ...] = (302,)) -> Answer:
        return self.call(operation, "POST", path, data=data, expect=expect)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (p95: the value 95% of the calls stayed at or under)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(share * len(ordered)))) - 1]
