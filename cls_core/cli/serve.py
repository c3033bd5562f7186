"""``serve``: the app for a room: N Streamlit processes behind HAProxy, one address.

``cls-explorer serve [--processes N] [--port 8501] [--address 127.0.0.1]``

One Streamlit process runs every session's script under one interpreter lock, so it uses
about one core however many the machine has: on this project's 2-core machine a
Playground rerun costs 27-36 ms of CPU, and 50 people changing texts and thresholds at
once queue behind each other (p95 1.0-1.9 s, ``benchmarks/load_sessions.py``). Streamlit's
way to use more cores is replicas behind a load balancer with session affinity: a
session's WebSocket, its file uploads and its media (download buttons) must all reach the
process that holds its state. ``serve`` does that on one machine:

- N ``streamlit run app.py`` processes (default: one per CPU core) on free loopback ports,
  started from the project root so that ``.streamlit/config.toml`` applies to each. They
  share one random cookie secret (given in the environment, not on the command line), so
  a browser's XSRF cookie is valid on all of them.
- HAProxy on ``--address:--port`` in front (Debian package ``haproxy``; a C proxy, so it
  adds no Python work): new sessions go to the process with the fewest open connections;
  its first response sets a cookie (``CLS_BACKEND``) naming the process, and every later
  request of that browser (WebSocket, uploads, media) goes to it. HAProxy checks each
  process's ``/_stcore/health`` and sends new sessions elsewhere while one is down.
- ``serve`` watches the processes: one that exits is started again on its port (its
  sessions reconnect and start afresh; the others are untouched). Ctrl-C or SIGTERM stops
  HAProxy and every process, and removes the temporary directory holding the HAProxy
  configuration and the processes' logs.

Each process loads its own copy of the models it serves (about 0.8 GiB per process with
the three bundled models in use). With ``--processes 1`` it is plain ``streamlit run`` on
the port, no HAProxy needed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cls_core.errors import CliError
from cls_core.paths import PROJECT_ROOT

__all__ = [
    "COOKIE",
    "add_parser",
    "default_processes",
    "find_haproxy",
    "haproxy_config",
    "run_serve",
]

#: The affinity cookie HAProxy sets: the name of the process holding the browser's session.
COOKIE = "CLS_BACKEND"
#: Most processes ``serve`` starts (each holds its own models: ~0.8 GiB).
MAX_PROCESSES = 16
#: Seconds a process (or HAProxy) gets to answer its health check after starting.
START_TIMEOUT = 120.0
#: A process that exits this many times, each within ``_QUICK_EXIT`` s of its start, is
#: not restarted again: ``serve`` stops with its log's last lines.
_MAX_QUICK_EXITS = 3
_QUICK_EXIT = 30.0


def find_haproxy() -> str | None:
    """HAProxy on PATH, else where Debian installs it (``/usr/sbin``, often not on a
    non-root user's PATH)."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    return shutil.which("haproxy", path=path)


def default_processes() -> int:
    """One process per CPU core this process may run on (at most :data:`MAX_PROCESSES`)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_PROCESSES))


def add_parser(subparsers: Any) -> None:
    """Add the ``serve`` subcommand to ``subparsers``."""
    serve = subparsers.add_parser(
        "serve",
        help="serve the app from several processes behind HAProxy (one per core)",
        description="Start N Streamlit processes of the app on loopback ports and HAProxy in "
        "front of them on one address, with cookie session affinity (a session's "
        "WebSocket, uploads and downloads reach the process holding it). Uses every core "
        "for a room of users; a process that exits is restarted.",
    )
    serve.add_argument(
        "--processes",
        type=int,
        default=default_processes(),
        metavar="N",
        help=f"Streamlit processes (default: one per CPU core, here {default_processes()}; "
        "each loads its own models, ~0.8 GiB)",
    )
    serve.add_argument("--port", type=int, default=8501, help="the port to serve on (8501)")
    serve.add_argument(
        "--address",
        default="127.0.0.1",
        help="the address to bind (127.0.0.1; see SECURITY.md before exposing it)",
    )
    serve.add_argument(
        "--haproxy",
        metavar="PATH",
        help="the HAProxy executable (default: `haproxy` on PATH, else /usr/sbin/haproxy)",
    )
    serve.set_defaults(func=run_serve)


def haproxy_config(
    *,
    address: str,
    port: int,
    backends: Sequence[int],
    check_interval_ms: int = 2000,
) -> str:
    """The HAProxy configuration putting ``backends`` (loopback ports) behind ``address:port``.

    ``balance leastconn`` sends a new browser to the process with the fewest open
    connections (a session is one long-lived WebSocket, so this balances sessions);
    ``cookie ... insert indirect nocache`` pins every later request of that browser to it;
    ``option redispatch`` moves a browser whose process is down to another one. The
    ``tunnel`` timeout is what an idle WebSocket may stay open.

    Raises
    ------
    ValueError
        No backend, or a port outside 1-65535.
    """
    if not backends:
        raise ValueError("`backends` must name at least one port; got none")
    for p in (port, *backends):
        if not 1 <= int(p) <= 65535:
            raise ValueError(f"ports must be in 1-65535; got {p}")
    bind = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    servers = "\n".join(
        f"    server s{i} 127.0.0.1:{p} cookie s{i} check inter {check_interval_ms} fall 2 rise 1"
        for i, p in enumerate(backends)
    )
    return f"""\
# Written by `cls-explorer serve`; lives only while it runs.
global
    maxconn 4096

defaults
    mode http
    option redispatch
    retries 2
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    # an open WebSocket (one per browser session) may stay idle this long
    timeout tunnel 1h
    timeout http-request 15s

frontend app
    bind {bind}
    default_backend streamlit

backend streamlit
    balance leastconn
    cookie {COOKIE} insert indirect nocache httponly attr "SameSite=Lax"
    option httpchk GET /_stcore/health
    http-check expect status 200
{servers}
"""


@dataclass
class _Process:
    """One child: a Streamlit process (``name`` s0, s1, ...) or HAProxy."""

    name: str
    argv: list[str]
    log_path: Path
    env: dict[str, str]
    port: int
    #: the address its health check is sent to (where it listens)
    host: str = "127.0.0.1"
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    quick_exits: int = 0
    log: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        if self.log is not None:
            self.log.close()
        self.log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            self.argv,
            cwd=PROJECT_ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in the terminal reaches serve, which stops them
            preexec_fn=_die_with_parent,
        )
        self.started = time.monotonic()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
        if self.log is not None:
            self.log.close()
            self.log = None

    def tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(line.strip() for line in text[-lines:]) or "(empty log)"


def _die_with_parent() -> None:
    """In the child, before exec (Linux): SIGTERM it when ``serve`` dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _check_port_free(address: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, port))
        except OSError as exc:
            raise CliError(
                f"cannot serve on {address}:{port}: {exc.strerror or exc}; choose another "
                "--port (or --address)"
            ) from None


def _probe_host(address: str) -> str:
    """Where to reach a server bound to ``address`` from this machine (URL form)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(address, address)
    return f"[{host}]" if ":" in host else host


def _healthy(host: str, port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/_stcore/health", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _wait_healthy(children: Sequence[_Process]) -> None:
    """Wait until each child answers its health check; a child that exits is an error."""
    deadline = time.monotonic() + START_TIMEOUT
    waiting = list(children)
    while waiting:
        for child in list(waiting):
            assert child.proc is not None
            if child.proc.poll() is not None:
                raise CliError(
                    f"{child.name} exited with status {child.proc.returncode} while starting: "
                    f"{child.tail()}"
                )
            if _healthy(child.host, child.port):
                waiting.remove(child)
        if waiting and time.monotonic() > deadline:
            names = ", ".join(c.name for c in waiting)
            raise CliError(f"{names} did not answer within {START_TIMEOUT:.0f} s")
        if waiting:
            time.sleep(0.25)


def _streamlit_argv(port: int, address: str = "127.0.0.1") -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(PROJECT_ROOT / "app.py"),
        "--server.address",
        address,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
    ]


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _children() -> Iterator[list[_Process]]:
    """The children started inside; all stopped (SIGTERM, then SIGKILL) on the way out."""
    children: list[_Process] = []
    try:
        yield children
    finally:
        for child in children:
            child.stop()
        deadline = time.monotonic() + 10.0
        for child in children:
            if child.proc is None:
                continue
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.proc.kill()
                child.proc.wait()


def run_serve(args: argparse.Namespace) -> int:
    """Run ``serve``: start the processes and HAProxy, restart what exits, stop on a signal."""
    n = int(args.processes)
    if not 1 <= n <= MAX_PROCESSES:
        raise CliError(f"--processes must be 1-{MAX_PROCESSES}; got {n}")
    if not 1 <= int(args.port) <= 65535:
        raise CliError(f"--port must be 1-65535; got {args.port}")
    if not (PROJECT_ROOT / "app.py").is_file():
        raise CliError(f"no app.py in {PROJECT_ROOT}: serve runs from the project's checkout")
    haproxy = None
    if n > 1:
        haproxy = args.haproxy or find_haproxy()
        if haproxy is None or not os.access(haproxy, os.X_OK):
            where = args.haproxy or "`haproxy` (on PATH or in /usr/sbin)"
            raise CliError(
                f"--processes {n} needs HAProxy in front of the processes, and {where} was "
                "not found: install it (Debian: apt-get install haproxy) or give --haproxy "
                "PATH, or serve from one process with --processes 1"
            )
    _check_port_free(args.address, int(args.port))

    env = dict(os.environ)
    # one secret for all: the XSRF cookie a process sets is valid on the others
    env["STREAMLIT_SERVER_COOKIE_SECRET"] = secrets.token_hex(32)
    workdir = Path(tempfile.mkdtemp(prefix="cls-serve-"))  # mode 0700
    try:
        with _children() as children:
            if n == 1:
                only = _Process(
                    "s0",
                    _streamlit_argv(int(args.port), args.address),
                    workdir / "s0.log",
                    env,
                    int(args.port),
                    host=_probe_host(args.address),
                )
                children.append(only)
                only.start()
                _wait_healthy(children)
                _say(f"serving http://{args.address}:{args.port} from one Streamlit process")
                return _supervise(children, proxy=None)
            ports = [_free_port() for _ in range(n)]
            for i, port in enumerate(ports):
                child = _Process(f"s{i}", _streamlit_argv(port), workdir / f"s{i}.log", env, port)
                children.append(child)
                child.start()
            _wait_healthy(children)
            config = workdir / "haproxy.cfg"
            config.write_text(haproxy_config(address=args.address, port=args.port, backends=ports))
            assert haproxy is not None
            proxy = _Process(
                "HAProxy",
                [haproxy, "-db", "-f", str(config)],
                workdir / "haproxy.log",
                env,
                int(args.port),
                host=_probe_host(args.address),
            )
            children.append(proxy)
            proxy.start()
            _wait_healthy([proxy])
            _say(
                f"serving http://{args.address}:{args.port}: {n} Streamlit processes behind "
                f"HAProxy (cookie affinity); Ctrl-C stops them"
            )
            for child in children[:-1]:
                _say(f"  {child.name}: http://127.0.0.1:{child.port} (log {child.log_path})")
            return _supervise(children[:-1], proxy=proxy)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _supervise(backends: list[_Process], *, proxy: _Process | None) -> int:
    """Restart a Streamlit process that exits; stop when HAProxy exits or a process keeps dying."""
    while True:
        time.sleep(0.5)
        if proxy is not None and proxy.proc is not None and proxy.proc.poll() is not None:
            raise CliError(f"HAProxy exited with status {proxy.proc.returncode}: {proxy.tail()}")
        for child in backends:
            assert child.proc is not None
            status = child.proc.poll()
            if status is None:
                continue
            quick = time.monotonic() - child.started < _QUICK_EXIT
            child.quick_exits = child.quick_exits + 1 if quick else 0
            if child.quick_exits >= _MAX_QUICK_EXITS:
                raise CliError(
                    f"Streamlit process {child.name} exited with status {status}: {child.tail()}"
                )
            _say(
                f"Streamlit process {child.name} exited with status {status}; starting it again "
                "(its sessions reconnect and start afresh"
                + ("; HAProxy sends new ones to the others meanwhile)" if proxy else ")")
            )
            child.start()
