"""``cls-explorer serve``: N Streamlit processes behind HAProxy, with cookie affinity.

The unit tests check the HAProxy configuration (and that HAProxy itself accepts it) and
the command's refusals. The integration tests start ``serve --processes 2`` once and check
what a room of users relies on: new browsers are spread over the processes, a browser's
requests stay on its process (an upload through the proxy reaches the session that asked
for it: without affinity, HAProxy's least-connections rule sends it to the other process
deterministically and Streamlit refuses it), a process that dies is started again while
the address keeps answering, and SIGTERM stops everything and leaves nothing behind.

HAProxy is a system package: ``make test`` installs it (Debian ``haproxy``).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks._st_client import AppServer, healthy, pid_serving_port, start_served
from cls_core.cli import main
from cls_core.cli.serve import COOKIE, find_haproxy, haproxy_config
from tests._browser import BAD_SCORES_MESSAGE, shot, upload_bad_scores

HAPROXY = find_haproxy()


def _need_haproxy() -> str:
    if HAPROXY is None:
        pytest.fail(
            "HAProxy is missing: run `make test` (it installs Debian's haproxy) or "
            "`apt-get install haproxy`"
        )
    return HAPROXY


# --------------------------------------------------------------------------------------
# The configuration


def test_config_names_every_backend_with_its_cookie() -> None:
    text = haproxy_config(address="127.0.0.1", port=8601, backends=[40001, 40002, 40003])
    assert "bind 127.0.0.1:8601" in text
    servers = re.findall(r"^\s+server (s\d) 127\.0\.0\.1:(\d+) cookie (s\d) check", text, re.M)
    assert servers == [("s0", "40001", "s0"), ("s1", "40002", "s1"), ("s2", "40003", "s2")]
    assert "balance leastconn" in text
    assert f"cookie {COOKIE} insert indirect nocache" in text
    assert "option httpchk GET /_stcore/health" in text
    assert "timeout tunnel 1h" in text  # an idle WebSocket is not cut after a minute


def test_config_brackets_an_ipv6_address() -> None:
    assert "bind [::1]:8601" in haproxy_config(address="::1", port=8601, backends=[40001])


@pytest.mark.parametrize(
    ("port", "backends", "message"),
    [
        (8601, [], "at least one port"),
        (0, [40001], "1-65535; got 0"),
        (8601, [70000], "1-65535; got 70000"),
    ],
)
def test_config_rejects_bad_ports(port: int, backends: list[int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        haproxy_config(address="127.0.0.1", port=port, backends=backends)


def test_haproxy_accepts_the_config(tmp_path: Path) -> None:
    haproxy = _need_haproxy()
    cfg = tmp_path / "h.cfg"
    cfg.write_text(haproxy_config(address="127.0.0.1", port=8601, backends=[40001, 40002]))
    done = subprocess.run([haproxy, "-c", "-f", str(cfg)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Configuration file is valid" in done.stdout + done.stderr


# --------------------------------------------------------------------------------------
# Refusals: one line, exit 2, nothing started


def test_refuses_a_bad_process_count(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--processes", "0"]) == 2
    assert "--processes must be 1-16; got 0" in capsys.readouterr().err


def test_refuses_without_haproxy(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "no-haproxy"
    assert main(["serve", "--processes", "2", "--haproxy", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"--processes 2 needs HAProxy in front of the processes, and {missing}" in err
    assert "apt-get install haproxy" in err
    assert "--processes 1" in err
    assert "Traceback" not in err


def test_refuses_a_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--processes", "1", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot serve on 127.0.0.1:{port}:" in err
    assert "choose another --port" in err


# --------------------------------------------------------------------------------------
# A room: serve --processes 2 (started by the load benchmark's launcher)


def _backends(server: AppServer) -> dict[str, int]:
    """Process name (s0, s1, ...) → its loopback port."""
    return {f"s{i}": int(u.rsplit(":", 1)[1]) for i, u in enumerate(server.worker_urls)}


def _wait_for(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    _need_haproxy()
    tmp = tmp_path_factory.mktemp("serve")
    # started from elsewhere than the project root: serve finds app.py itself
    with start_served(2, log_path=tmp / "serve.log", cwd=tmp) as server:
        yield server


def _get(url: str, cookie: str | None = None) -> tuple[int, str | None]:
    """Status and the affinity cookie HAProxy set (None: it set none)."""
    request = urllib.request.Request(
        url, headers={"Cookie": f"{COOKIE}={cookie}"} if cookie else {}
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        match = re.search(rf"{COOKIE}=(s\d)", r.headers.get("Set-Cookie") or "")
        return r.status, match.group(1) if match else None


def test_new_browsers_are_spread_over_the_processes(served: AppServer) -> None:
    seen = {_get(served.url + "/")[1] for _ in range(4)}
    assert seen == {"s0", "s1"}


def test_a_browser_with_its_cookie_stays_and_is_not_given_another(served: AppServer) -> None:
    for name in ("s0", "s1"):
        for _ in range(3):
            status, new_cookie = _get(served.url + "/_stcore/health", cookie=name)
            assert status == 200
            assert new_cookie is None  # its process is up: HAProxy keeps it there


def test_processes_share_one_cookie_secret_and_listen_on_loopback(served: AppServer) -> None:
    """A browser's XSRF cookie must be valid on every process; the secret is in the
    environment, not on a command line anyone can read with ps."""
    secrets = set()
    for pid in served.workers:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert argv[argv.index(b"--server.address") + 1] == b"127.0.0.1"
        assert not any(b"cookie" in a.lower() for a in argv)
        env = dict(
            e.split(b"=", 1)
            for e in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            if b"=" in e
        )
        secrets.add(env[b"STREAMLIT_SERVER_COOKIE_SECRET"])
    assert len(served.workers) == 2
    assert len(secrets) == 1
    assert len(secrets.pop()) == 64


@pytest.mark.browser
def test_an_upload_through_the_proxy_reaches_its_session(
    served: AppServer, browser, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """The page's WebSocket holds a connection on its process, so without affinity the
    upload (a separate HTTP request) would go to the other process and be refused."""
    context = browser.new_context(viewport={"width": 1400, "height": 1400})
    page = context.new_page()
    try:
        # the app read the file: only the session's own process can say this
        assert BAD_SCORES_MESSAGE in upload_bad_scores(page, served.url, tmp_path)
        cookies = {c["name"]: c["value"] for c in context.cookies()}
        assert cookies.get(COOKIE) in {"s0", "s1"}
        shot(page, "serve-upload-through-proxy")
    finally:
        context.close()


def test_a_dead_process_is_started_again_and_the_address_keeps_answering(
    served: AppServer,
) -> None:
    port = _backends(served)["s1"]
    os.kill(pid_serving_port(port), signal.SIGKILL)
    log = served.log_path
    # meanwhile HAProxy sends everyone, s1's browsers included, to s0
    _wait_for(lambda: "Streamlit process s1 exited" in log.read_text(), 10, "serve to notice")
    assert "starting it again" in log.read_text()
    for _ in range(5):
        assert _get(served.url + "/_stcore/health", cookie="s1")[0] == 200
    _wait_for(lambda: healthy(f"http://127.0.0.1:{port}"), 120, "s1 to serve again on its port")
    assert served.process is not None and served.process.poll() is None


def test_sigterm_stops_everything_and_leaves_nothing(tmp_path: Path) -> None:
    _need_haproxy()
    with start_served(2, log_path=tmp_path / "serve.log") as s:
        text = s.log_path.read_text()
        workdir = re.search(r"\(log (/\S+)/s0\.log\)", text)
        assert workdir is not None
        assert s.process is not None
        s.process.send_signal(signal.SIGTERM)
        assert s.process.wait(timeout=60) == 143
        assert "error: terminated (SIGTERM)" in s.log_path.read_text()
        for pid in s.workers:
            _wait_for(
                lambda pid=pid: not Path(f"/proc/{pid}").exists() or _zombie(pid),
                20,
                f"pid {pid}",
            )
        with socket.socket() as probe:  # nothing listens on the address any more
            assert probe.connect_ex(("127.0.0.1", int(s.url.rsplit(":", 1)[1]))) != 0
        assert not Path(workdir.group(1)).exists()  # the HAProxy config and logs are gone


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except OSError:
        return True


@pytest.mark.parametrize(
    ("address", "probe"),
    [("0.0.0.0", "127.0.0.1"), ("::", "[::1]"), ("10.1.2.3", "10.1.2.3"), ("::1", "[::1]")],
)
def test_health_is_checked_where_the_server_listens(address: str, probe: str) -> None:
    """A server bound to one non-loopback address does not answer on 127.0.0.1."""
    from cls_core.cli.serve import _probe_host

    assert _probe_host(address) == probe


def test_haproxy_is_found_off_path_where_debian_installs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A non-root user's PATH often lacks /usr/sbin, where Debian puts haproxy."""
    installed = _need_haproxy()
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert shutil.which("haproxy") is None or installed.startswith(("/usr/bin", "/bin"))
    assert find_haproxy() is not None
