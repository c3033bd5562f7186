"""A headless Streamlit client speaking the app's own WebSocket protocol.

Used by ``benchmarks/load_sessions.py`` and ``tests/reliability/test_load_small.py`` to
drive many sessions cheaply (a browser context per user costs ~400 MB; a session here
costs one socket). It speaks what the Streamlit frontend speaks:

- connect to ``ws://HOST:PORT/_stcore/stream`` with subprotocol ``streamlit``;
- send ``BackMsg(rerun_script=ClientState(query_string, widget_states))``;
- read ``ForwardMsg``s until ``script_finished`` (a run that ends early because another
  rerun was queued is followed by that rerun's messages).

Widget ids are learnt from the deltas of each run (``$$ID-<hash>-<user key>``), and the
client keeps every widget value it has set, as the browser does, sending them all with
each rerun. It never sends ``cached_message_hashes``, so the server always sends whole
messages (no ``ref_hash`` indirection).

This module imports Streamlit's protobufs, which is why it lives beside the benchmarks and
not in ``cls_core`` (which never imports streamlit).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from websocket import WebSocket, WebSocketTimeoutException, create_connection

PROJECT_ROOT = Path(__file__).resolve().parent.parent

__all__ = [
    "AppServer",
    "ProtocolError",
    "RunResult",
    "StreamlitSession",
    "free_port",
    "peak_rss_mib",
    "start_app",
    "unescape_markdown",
]


# ScriptFinishedStatus values (ForwardMsg.script_finished)
_FINISHED_EARLY_FOR_RERUN = 2
_ID_RE = re.compile(r"^\$\$ID-[0-9a-f]+-(?P<key>.*)$")
_MD_ESCAPE_RE = re.compile(r"\\(.)")


class ProtocolError(RuntimeError):
    """The server closed the socket, timed out, or sent something unexpected."""


def unescape_markdown(body: str) -> str:
    r"""Undo the backslash escapes ``escape_markdown`` adds (``request\_refund`` → ``request_refund``)."""
    return _MD_ESCAPE_RE.sub(r"\1", body)


# --------------------------------------------------------------------------------------
# Starting the app


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class AppServer:
    """A running app: one ``streamlit run app.py`` process, or ``cls-explorer serve``'s set.

    ``pid`` is the process started (Streamlit, or ``serve``; ``process`` is its handle);
    ``workers`` the Streamlit processes doing the work (with their own URLs in
    ``worker_urls``), for CPU and memory.
    """

    url: str
    pid: int
    log_path: Path
    workers: tuple[int, ...] = ()
    worker_urls: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = field(default=None, compare=False, repr=False)

    @property
    def ws_url(self) -> str:
        """The WebSocket endpoint of the app."""
        return self.url.replace("http://", "ws://", 1) + "/_stcore/stream"


def healthy(url: str) -> bool:
    """True when the app at ``url`` answers its health check."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def _launched(
    command: list[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None,
    ready: Callable[[], bool],
    timeout: float,
    what: str,
    cwd: Path = PROJECT_ROOT,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` (output to ``log_path``) until ``ready()``; terminate it on exit."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    full_env = dict(os.environ)
    full_env.update(env or {})
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=full_env
        )
        try:
            deadline = time.monotonic() + timeout
            while not ready():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{what} did not start; see {log_path}")
                time.sleep(0.3)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


@contextlib.contextmanager
def start_app(
    *,
    env: Mapping[str, str] | None = None,
    log_path: Path | None = None,
    startup_timeout: float = 90.0,
    prelude: str | None = None,
) -> Iterator[AppServer]:
    """Run the app on a free loopback port; yield it once ``/_stcore/health`` answers.

    The command line is the one the browser-test fixture uses (headless, 127.0.0.1, no
    usage stats, no file watcher). The process is terminated on exit.

    Parameters
    ----------
    env : mapping, optional
        Extra environment variables (e.g. ``CLS_MODEL_DIRS``) on top of ``os.environ``.
    log_path : Path, optional
        Where the server's output goes (default ``.pytest_cache/streamlit-load.log``).
    startup_timeout : float
        Seconds to wait for the health endpoint.
    prelude : str, optional
        Python code the server process runs before Streamlit starts (for experiments).

    Raises
    ------
    RuntimeError
        The server exited or did not answer in time (the message names the log file).
    """
    port = free_port()
    args = [
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    if prelude is None:
        command = [sys.executable, "-m", "streamlit", *args]
    else:
        launcher = (
            f"{prelude}\nimport sys\nfrom streamlit.web.cli import main\n"
            f"sys.argv = ['streamlit', *{args!r}]\nmain()\n"
        )
        command = [sys.executable, "-c", launcher]
    base = f"http://127.0.0.1:{port}"
    log_path = log_path or PROJECT_ROOT / ".pytest_cache" / "streamlit-load.log"
    with _launched(
        command,
        log_path=log_path,
        env=env,
        ready=lambda: healthy(base),
        timeout=startup_timeout,
        what="streamlit",
    ) as proc:
        yield AppServer(
            url=base,
            pid=proc.pid,
            log_path=log_path,
            workers=(proc.pid,),
            worker_urls=(base,),
            process=proc,
        )


#: The lines ``cls-explorer serve`` prints for its Streamlit processes.
_BACKEND_LINE = re.compile(r"^\s+s\d+: (http://127\.0\.0\.1:(\d+)) ", flags=re.MULTILINE)


def pid_serving_port(port: int) -> int:
    """The pid of the Streamlit process whose command line says ``--server.port PORT``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        for i, arg in enumerate(argv[:-1]):
            if arg == b"--server.port" and argv[i + 1] == str(port).encode():
                return int(entry.name)
    raise RuntimeError(f"no Streamlit process with --server.port {port}")


@contextlib.contextmanager
def start_served(
    processes: int,
    *,
    env: Mapping[str, str] | None = None,
    log_path: Path | None = None,
    startup_timeout: float = 180.0,
    cwd: Path = PROJECT_ROOT,
) -> Iterator[AppServer]:
    """Run ``cls-explorer serve --processes N`` on a free port; yield it once it serves.

    The app as a room is served: ``processes`` Streamlit processes behind HAProxy (needs
    ``haproxy`` on PATH). ``workers``/``worker_urls`` are the Streamlit processes and their
    own loopback URLs (read from ``serve``'s output). Stopped with SIGTERM on exit.
    ``cwd``: where ``serve`` is started (it finds the app itself).
    """
    port = free_port()
    log_path = log_path or PROJECT_ROOT / ".pytest_cache" / "serve-load.log"
    command = [sys.executable, "-m", "cls_core", "serve", "--processes", str(processes)]

    lines = processes if processes > 1 else 0  # one process: no HAProxy, no backend lines

    def ready() -> bool:
        text = log_path.read_text()
        return "serving http://" in text and len(_BACKEND_LINE.findall(text)) == lines

    with _launched(
        [*command, "--port", str(port)],
        log_path=log_path,
        env=env,
        ready=ready,
        timeout=startup_timeout,
        what="cls-explorer serve",
        cwd=cwd,
    ) as proc:
        url = f"http://127.0.0.1:{port}"
        found = _BACKEND_LINE.findall(log_path.read_text()) or [(url, str(port))]
        yield AppServer(
            url=url,
            pid=proc.pid,
            log_path=log_path,
            workers=tuple(pid_serving_port(int(p)) for _, p in found),
            worker_urls=tuple(u for u, _ in found),
            process=proc,
        )


def peak_rss_mib(pid: int) -> float:
    """Peak resident memory (``VmHWM``) of process ``pid`` in MiB, from ``/proc``."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+)\s+kB", status, flags=re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no VmHWM line in /proc/{pid}/status")
    return int(match.group(1)) / 1024.0


# --------------------------------------------------------------------------------------
# One session


@dataclass
class Widget:
    """A widget seen in a run: its id, element kind and proto (for options and defaults)."""

    key: str
    id: str
    kind: str
    proto: Any


@dataclass
class RunResult:
    """What one script run sent to the client.

    Attributes
    ----------
    latency : float
        Seconds from sending the rerun request to the final ``script_finished``.
    widgets : dict
        User key → :class:`Widget` for every keyed widget (and keyed block, e.g. tabs).
    markdown : list of str
        Markdown bodies (escapes removed), in order.
    alerts : list of (str, str)
        ``("error" | "warning" | "info" | "success", body)`` in order.
    exceptions : list of str
        ``type: message`` of every exception element.
    code : list of (str, str)
        ``(language, text)`` of every code block.
    fragment_ids : dict
        User key → id of the ``st.fragment`` the widget was drawn in (fragment widgets only).
    """

    latency: float = 0.0
    widgets: dict[str, Widget] = field(default_factory=dict)
    markdown: list[str] = field(default_factory=list)
    alerts: list[tuple[str, str]] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    code: list[tuple[str, str]] = field(default_factory=list)
    fragment_ids: dict[str, str] = field(default_factory=dict)

    @property
    def headline(self) -> str | None:
        """The first ``### `` markdown (the Playground's decision headline), or None."""
        return next((m for m in self.markdown if m.startswith("### ")), None)

    def errors(self) -> list[str]:
        """Exception elements and ``st.error`` alerts: what a user would see as a failure."""
        return [f"exception {e}" for e in self.exceptions] + [
            f"error alert: {body}" for kind, body in self.alerts if kind == "error"
        ]

    def json_blocks(self) -> list[Any]:
        """Every JSON code block, parsed."""
        return [json.loads(text) for lang, text in self.code if lang == "json"]


_ALERT_KINDS = {
    Alert.ERROR: "error",
    Alert.WARNING: "warning",
    Alert.INFO: "info",
    Alert.SUCCESS: "success",
}


def _widget_id_of(message: Any) -> str | None:
    widget_id = getattr(message, "id", "")
    return widget_id if isinstance(widget_id, str) and widget_id.startswith("$$ID-") else None


class StreamlitSession:
    """One user: a WebSocket to the app plus the widget values that user has set.

    Parameters
    ----------
    ws_url : str
        ``ws://127.0.0.1:PORT/_stcore/stream``.
    timeout : float
        Seconds to wait for any one message before a run counts as timed out.

    Examples
    --------
    >>> with StreamlitSession(server.ws_url) as s:  # doctest: +SKIP
    ...     first = s.run("model=banking77&text=I+lost+my+card")
    ...     s.set_slider("reject.banking77", 0.9)
    ...     print(s.run().headline)
    """

    def __init__(self, ws_url: str, *, timeout: float = 60.0) -> None:
        self._timeout = timeout
        # TCP_NODELAY, as browsers set it: without it small frames wait for delayed ACKs
        # and every rerun measures ~40 ms more than the server took.
        self._ws: WebSocket = create_connection(
            ws_url,
            subprotocols=["streamlit"],
            timeout=timeout,
            sockopt=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
        )
        self._values: dict[str, WidgetState] = {}
        self.widgets: dict[str, Widget] = {}

    def close(self) -> None:
        """Close the socket (the server then ends the session)."""
        with contextlib.suppress(Exception):
            self._ws.close()

    def __enter__(self) -> StreamlitSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- widget values ---------------------------------------------------------------
    def _state_for(self, key: str) -> WidgetState:
        widget = self.widgets.get(key)
        if widget is None:
            raise KeyError(
                f"no widget with key {key!r} in the last run; have {sorted(self.widgets)}"
            )
        state = WidgetState(id=widget.id)
        self._values[widget.id] = state
        return state

    def set_text(self, key: str, value: str) -> None:
        """Set a text_input/text_area (what typing and Ctrl+Enter send)."""
        self._state_for(key).string_value = value

    def set_slider(self, key: str, value: float) -> None:
        """Set a single-value slider."""
        self._state_for(key).double_array_value.data.append(float(value))

    def set_option(self, key: str, formatted_option: str) -> None:
        """Choose a selectbox option by its displayed text (tabs: by tab label)."""
        self._state_for(key).string_value = formatted_option

    def option_for(self, key: str, value: str) -> str:
        """The displayed option of selectbox ``key`` for ``value``.

        The option equal to ``value``, else the one starting with ``"value — "`` (a
        ``format_func`` label).
        """
        options = [str(o) for o in self.widgets[key].proto.options]
        for option in options:
            if option == value:
                return option
        for option in options:
            if option.startswith(f"{value} — "):
                return option
        raise KeyError(f"selectbox {key!r} has no option for {value!r}: {options}")

    # -- running ---------------------------------------------------------------------
    def run(
        self, query_string: str = "", *, clear_cache: bool = False, fragment_id: str = ""
    ) -> RunResult:
        """Ask for a rerun with the current widget values; collect what the run sends.

        Parameters
        ----------
        query_string : str
            The page URL's query string (used by the server on a session's first run).
        clear_cache : bool
            First send ``BackMsg(clear_cache=True)`` (clears every session's caches).
        fragment_id : str
            Rerun only this fragment, as the browser does when a widget inside an
            ``st.fragment`` changes (ids are in ``RunResult.fragment_ids``). The result
            then holds only what the fragment drew, and the known widgets are kept.

        Raises
        ------
        ProtocolError
            Timeout or closed socket.
        """
        if clear_cache:
            self._send(BackMsg(clear_cache=True))
        msg = BackMsg()
        msg.rerun_script.query_string = query_string
        msg.rerun_script.fragment_id = fragment_id
        msg.rerun_script.widget_states.CopyFrom(WidgetStates(widgets=list(self._values.values())))
        start = time.perf_counter()
        self._send(msg)
        result = RunResult()
        while True:
            fwd = self._receive()
            kind = fwd.WhichOneof("type")
            if kind == "delta":
                self._collect_delta(fwd.delta, result)
            elif kind == "script_finished":
                if fwd.script_finished == _FINISHED_EARLY_FOR_RERUN:
                    result = RunResult()  # the rerun that follows replaces this output
                    continue
                break
        result.latency = time.perf_counter() - start
        if fragment_id:  # a fragment run redraws only its own widgets
            self.widgets = {**self.widgets, **result.widgets}
            return result
        self.widgets = result.widgets
        # like the browser, forget values of widgets that are no longer on the page
        live = {w.id for w in self.widgets.values()}
        self._values = {wid: st for wid, st in self._values.items() if wid in live}
        return result

    def _send(self, msg: Any) -> None:
        try:
            self._ws.send_binary(msg.SerializeToString())
        except Exception as exc:
            raise ProtocolError(f"could not send: {type(exc).__name__}: {exc}") from exc

    def _receive(self) -> Any:
        try:
            data = self._ws.recv()
        except WebSocketTimeoutException as exc:
            raise ProtocolError(f"no message from the server for {self._timeout:.0f} s") from exc
        except Exception as exc:
            raise ProtocolError(f"socket closed: {type(exc).__name__}: {exc}") from exc
        if not isinstance(data, bytes):
            raise ProtocolError(f"expected a binary frame; got {type(data).__name__}")
        fwd = ForwardMsg()
        fwd.ParseFromString(data)
        return fwd

    @staticmethod
    def _collect_delta(delta: Any, result: RunResult) -> None:
        which = delta.WhichOneof("type")
        if which == "add_block":
            block = delta.add_block
            inner = block.WhichOneof("type")
            for candidate in (block, getattr(block, inner) if inner else None):
                widget_id = _widget_id_of(candidate) if candidate is not None else None
                match = _ID_RE.match(widget_id or "")
                if widget_id and match:
                    result.widgets[match["key"]] = Widget(
                        match["key"], widget_id, inner or "block", block
                    )
            return
        if which != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        body = getattr(element, kind) if kind else None
        if body is None:
            return
        widget_id = _widget_id_of(body)
        match = _ID_RE.match(widget_id or "")
        if widget_id and match:
            result.widgets[match["key"]] = Widget(match["key"], widget_id, kind, body)
            if delta.fragment_id:
                result.fragment_ids[match["key"]] = delta.fragment_id
        if kind == "markdown":
            result.markdown.append(unescape_markdown(body.body))
        elif kind == "alert":
            result.alerts.append((_ALERT_KINDS.get(body.format, "other"), body.body))
        elif kind == "exception":
            result.exceptions.append(f"{body.type}: {body.message}")
        elif kind == "code":
            result.code.append((body.language, body.code_text))
