"""The command line never destroys a file (issue 16: data loss, overflow and input items).

- ``--out`` that is the input (same path, spelled differently, a symlink or a hard link) is
  refused by ``tune`` and ``score``, and the input is unchanged byte for byte (item 1).
- Temporary output names are unique and never an input: ``score X.partial --out X`` works
  (item 2).
- A failed write (a file size limit, a full disk) leaves the previous output intact and no
  temporary file behind (item 3).
- Two concurrent runs on one ``--out``: the last writer wins whole (item 4).
- SIGTERM and Ctrl-C in the middle of a run: exit 143 / 130, one ``error:`` line, no
  partial file, the previous output intact (item 5).
- ``fbeta:1e200``, ``cost:fp=1e308,fn=1e308`` and ``--bootstrap 1000000000`` are refused
  with a message naming the limit (items 8 and 14).
- The input is read once: ``-`` (standard input), ``/dev/stdin``, ``<(cat f)`` and a FIFO
  with a writer all work (item 15).

Processes that must be real (signals, races, resource limits) run a small driver that
replaces the model registry with a fake, slow model (no TensorFlow, a few seconds each)
and then calls :func:`cls_core.cli.main` exactly as the installed command does.
"""

from __future__ import annotations

import errno
import io
import json
import os
import pathlib
import resource
import shlex
import signal
import subprocess
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cls_core.cli import main
from cls_core.evaluation.thresholds import (
    MAX_BETA,
    MAX_BOOTSTRAP_RESAMPLES,
    MAX_COST,
    Objective,
    bayes_threshold,
    bootstrap_intervals,
    parse_objective,
)
from cls_core.paths import PROJECT_ROOT, atomic_output

LABELS = ("joy", "anger", "fear")

# Replaces the model registry with a fake model (``--model fake``) whose predict sleeps
# FAKE_DELAY seconds per chunk, then runs the command line as ``cls-explorer`` does.
DRIVER = r"""
import os, sys, time, types
import numpy as np
from cls_core import errors

class Prediction:
    def __init__(self, logits, scores):
        self.logits, self.scores = logits, scores

class SlowModel:
    labels = ("joy", "anger", "fear")
    card = types.SimpleNamespace(binary=False)  # a registry model's card, as score reads it

    def predict(self, texts):
        if os.environ.get("SWALLOW_SIGNALS"):
            # A library that swallows every exception (as a __del__ or a weakref
            # callback does): a SIGTERM raised in here never reaches the command.
            try:
                time.sleep(float(os.environ.get("FAKE_DELAY", "0")))
            except BaseException:
                pass
        else:
            time.sleep(float(os.environ.get("FAKE_DELAY", "0")))
        logits = np.array([[len(t) % 3, t.count("a"), 1.0] for t in texts], dtype=np.float32)
        e = np.exp(logits)
        return Prediction(logits, (e / e.sum(axis=1, keepdims=True)).astype(np.float32))

def load_model(name):
    if name != "fake":
        raise errors.ModelLoadError(f"no model named {name!r}; available: fake")
    return SlowModel()

registry = types.ModuleType("cls_core.modelio.registry")
registry.load_model = load_model
sys.modules["cls_core.modelio.registry"] = registry

if os.environ.get("SLOW_WRITE_TEXT"):
    # A slow disk shared by WRITERS runs: Path.write_text (thresholds.json) waits until
    # every run has opened its file, then goes out 100 bytes at a time.
    import pathlib

    def slow_write_text(self, data, encoding=None, errors=None, newline=None):
        with open(self, "w", encoding=encoding, errors=errors, newline=newline) as fh:
            barrier = pathlib.Path(os.environ["SLOW_WRITE_TEXT"])
            (barrier / str(os.getpid())).touch()
            deadline = time.monotonic() + 60
            while len(list(barrier.iterdir())) < int(os.environ["WRITERS"]):
                assert time.monotonic() < deadline, "the other writer never came"
                time.sleep(0.01)
            for i in range(0, len(data), 100):
                fh.write(data[i : i + 100])
                fh.flush()
                time.sleep(0.005)
        return len(data)

    pathlib.Path.write_text = slow_write_text

from cls_core.cli import main
sys.exit(main(sys.argv[1:]))
"""


# --------------------------------------------------------------------------- helpers


def scores_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """A multi-class scores file: one probability column per label + ``label``."""
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(3), size=n)
    frame = pd.DataFrame(p, columns=list(LABELS))
    frame["label"] = [LABELS[i] for i in np.where(rng.random(n) < 0.7, p.argmax(1), 0)]
    return frame


def texts_frame(n: int, tag: str) -> pd.DataFrame:
    return pd.DataFrame(
        {"id": [f"{tag}{i}" for i in range(n)], "text": [f"{tag} text {i}" for i in range(n)]}
    )


def leftovers(directory: Path) -> list[str]:
    """Temporary outputs left in ``directory`` (the old fixed name and the new unique ones)."""
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".partial"))


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(argv)
    captured = capsys.readouterr()
    assert captured.out == ""
    return code, captured.err.strip().splitlines()


def driver(
    argv: list[str], *, env: dict[str, str] | None = None, **kwargs: Any
) -> subprocess.Popen[str]:
    """Start a real ``cls-explorer`` process (fake model) with ``argv``."""
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, *argv],
        cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, list[str]]:
    out, err = proc.communicate(timeout=timeout)
    assert out == ""
    return proc.returncode, err.strip().splitlines()


def one_error(code: int, err: list[str], status: int, text: str) -> None:
    assert code == status, err
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert text in err[0], err
    assert "Traceback" not in "\n".join(err)


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process: ``--model fake`` is the driver's fake model (no TensorFlow)."""
    namespace: dict[str, Any] = {}
    source = DRIVER.split("registry = types.ModuleType", 1)[0]
    exec(source, namespace)  # the same fake as the subprocesses use
    module = types.ModuleType("cls_core.modelio.registry")
    module.load_model = namespace["load_model"]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cls_core.modelio.registry", module)
    monkeypatch.delenv("FAKE_DELAY", raising=False)


# --------------------------------------------------------------------------- item 1


def _link(kind: str, src: Path) -> str:
    """The ``--out`` that names ``src``: itself, spelled differently, a symlink or a hard link."""
    if kind == "same-path":
        return str(src)
    if kind == "spelled-differently":
        return str(src.parent / "." / ".." / src.parent.name / src.name)
    if kind == "symlink":
        link = src.with_name("link" + src.suffix)
        link.symlink_to(src.name)
        return str(link)
    link = src.with_name("hard" + src.suffix)
    os.link(src, link)
    return str(link)


OUT_IS_INPUT = ["same-path", "spelled-differently", "symlink", "hard-link"]


@pytest.mark.parametrize("kind", OUT_IS_INPUT)
def test_tune_refuses_out_that_is_the_input(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "scores.csv"
    scores_frame().to_csv(src, index=False)
    before = src.read_bytes()
    code, err = run_cli(["tune", str(src), "--out", _link(kind, src)], capsys)
    one_error(code, err, 2, "is the input file")
    assert src.read_bytes() == before
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("kind", OUT_IS_INPUT)
def test_score_refuses_out_that_is_the_input(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_model: None
) -> None:
    src = tmp_path / "texts.csv"
    texts_frame(20, "a").to_csv(src, index=False)
    before = src.read_bytes()
    argv = ["score", str(src), "--model", "fake", "--text-column", "text"]
    code, err = run_cli([*argv, "--out", _link(kind, src)], capsys)
    one_error(code, err, 2, "is the input file")
    assert src.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_tune_refuses_input_that_is_a_symlink_to_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = tmp_path / "real.csv"
    scores_frame().to_csv(real, index=False)
    before = real.read_bytes()
    link = tmp_path / "in.csv"
    link.symlink_to(real)
    code, err = run_cli(["tune", str(link), "--out", str(real)], capsys)
    one_error(code, err, 2, "is the input file")
    assert real.read_bytes() == before


# --------------------------------------------------------------------------- item 2


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_score_input_named_like_a_temporary_output(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_model: None
) -> None:
    out = tmp_path / f"scores.{fmt}"
    src = tmp_path / f"scores.{fmt}.partial"  # the old fixed temporary name of --out
    frame = texts_frame(25, "a")
    if fmt == "csv":
        frame.to_csv(src, index=False)
    else:
        frame.to_parquet(src)
    before = src.read_bytes()
    argv = ["score", str(src), "--model", "fake", "--text-column", "text", "--out", str(out)]
    code, err = run_cli([*argv, "--chunk-rows", "10"], capsys)
    assert code == 0, err
    assert src.read_bytes() == before
    result = pd.read_csv(out) if fmt == "csv" else pd.read_parquet(out)
    assert result["id"].tolist() == frame["id"].tolist()
    assert leftovers(tmp_path) == [src.name]


def test_temporary_names_are_unique_hidden_and_beside_the_target(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    existing = {p.name for p in tmp_path.iterdir()}
    with atomic_output(target) as first, atomic_output(target) as second:
        assert first != second
        assert first.parent == second.parent == tmp_path
        for tmp in (first, second):
            assert tmp.name.startswith(".out.json.") and tmp.name.endswith(".partial")
            assert tmp.name not in existing
        first.write_text("first")
        second.write_text("second")
    assert target.read_text() == "first"  # the outer block finished last
    assert leftovers(tmp_path) == []


def test_atomic_output_keeps_the_target_until_the_end_and_cleans_up_on_error(
    tmp_path: Path,
) -> None:
    target = tmp_path / "out.txt"
    target.write_text("previous")
    target.chmod(0o640)
    with atomic_output(target) as tmp:
        tmp.write_text("new")
        assert target.read_text() == "previous"
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o640  # a replaced file keeps its mode

    def interrupted_write() -> None:
        with atomic_output(target) as tmp:
            tmp.write_text("half")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted_write()
    assert target.read_text() == "new"
    assert leftovers(tmp_path) == []


# --------------------------------------------------------------------------- item 3


def _limit_file_size(limit: int) -> Any:
    def preexec() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit: EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


def test_tune_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    """A file size limit (as a full disk would) stops the write: the old file survives."""
    src = tmp_path / "scores.csv"
    scores_frame().to_csv(src, index=False)
    out = tmp_path / "thresholds.json"
    good = driver(["tune", str(src), "--out", str(out)])
    assert finish(good)[0] == 0
    before = out.read_bytes()
    json.loads(before)
    proc = driver(
        ["tune", str(src), "--objective", "recall>=0.9", "--out", str(out)],
        preexec_fn=_limit_file_size(200),
    )
    code, err = finish(proc)
    one_error(code, err[-1:], 2, f"cannot write {str(out)!r}: File too large")
    assert out.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_tune_disk_full_midway_keeps_the_previous_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "scores.csv"
    scores_frame().to_csv(src, index=False)
    out = tmp_path / "thresholds.json"
    assert main(["tune", str(src), "--out", str(out)]) == 0
    before = out.read_bytes()
    real_write_text = pathlib.Path.write_text

    def full_disk(self: Path, data: str, *args: Any, **kwargs: Any) -> int:
        real_write_text(self, data[: len(data) // 2], *args, **kwargs)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pathlib.Path, "write_text", full_disk)
    capsys.readouterr()
    code, err = run_cli(["tune", str(src), "--objective", "recall>=0.9", "--out", str(out)], capsys)
    one_error(code, err[-1:], 2, "No space left on device")
    assert out.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_score_failed_write_keeps_the_previous_output(tmp_path: Path) -> None:
    src = tmp_path / "texts.csv"
    texts_frame(2000, "a").to_csv(src, index=False)
    out = tmp_path / "scores.csv"
    out.write_text("id,text\nprevious,output\n")
    before = out.read_bytes()
    proc = driver(
        ["score", str(src), "--model", "fake", "--text-column", "text", "--out", str(out)],
        preexec_fn=_limit_file_size(src.stat().st_size),
    )
    code, err = finish(proc)
    one_error(code, err[-1:], 2, f"cannot write {str(out)!r}: File too large")
    assert out.read_bytes() == before
    assert leftovers(tmp_path) == []


# --------------------------------------------------------------------------- item 4


def test_two_concurrent_scores_on_one_out_leave_one_whole_file(tmp_path: Path) -> None:
    out = tmp_path / "scores.csv"
    runs = []
    for tag, n in (("a", 60), ("b", 90)):
        src = tmp_path / f"{tag}.csv"
        texts_frame(n, tag).to_csv(src, index=False)
        argv = ["score", str(src), "--model", "fake", "--text-column", "text"]
        runs.append(
            driver([*argv, "--out", str(out), "--chunk-rows", "5"], env={"FAKE_DELAY": "0.05"})
        )
    for proc in runs:
        code, err = finish(proc)
        assert code == 0, err
    result = pd.read_csv(out)  # a header, then the rows of one run only, all of them
    assert result.columns.tolist() == ["id", "text", *LABELS]
    ids = result["id"].tolist()
    assert ids in ([f"a{i}" for i in range(60)], [f"b{i}" for i in range(90)]), ids[:5]
    assert leftovers(tmp_path) == []


def test_two_concurrent_tunes_on_one_out_leave_one_whole_file(tmp_path: Path) -> None:
    """Both runs write at the same time (a shared slow disk), documents of unequal length."""
    src = tmp_path / "scores.csv"
    scores_frame(400).to_csv(src, index=False)
    out = tmp_path / "thresholds.json"
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    objectives = ("f1", "precision>=0.5")
    runs = [
        driver(
            ["tune", str(src), "--objective", objective, "--bootstrap", "200", "--out", str(out)]
            if objective == "f1"
            else ["tune", str(src), "--objective", objective, "--out", str(out)],
            env={"SLOW_WRITE_TEXT": str(barrier), "WRITERS": "2"},
        )
        for objective in objectives
    ]
    for proc in runs:
        code, err = finish(proc)
        assert code == 0, err
    doc = json.loads(out.read_text("utf-8"))  # whole JSON, from one run
    assert doc["objective"] in objectives
    assert ("threshold_low" in doc["per_class"][0]) == (doc["objective"] == "f1")
    assert leftovers(tmp_path) == []


# --------------------------------------------------------------------------- item 5


def _wait_for_partial(directory: Path, proc: subprocess.Popen[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not leftovers(directory):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no temporary output appeared"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("sig", "status", "message"),
    [
        (signal.SIGTERM, 143, "error: terminated (SIGTERM)"),
        (signal.SIGINT, 130, "error: interrupted"),
    ],
    ids=["sigterm", "ctrl-c"],
)
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_signal_mid_score_leaves_no_partial_file(
    fmt: str, sig: int, status: int, message: str, tmp_path: Path
) -> None:
    src = tmp_path / "texts.csv"
    texts_frame(400, "a").to_csv(src, index=False)
    out = tmp_path / f"scores.{fmt}"
    out.write_bytes(b"previous output")
    argv = ["score", str(src), "--model", "fake", "--text-column", "text", "--out", str(out)]
    proc = driver([*argv, "--chunk-rows", "2"], env={"FAKE_DELAY": "0.1"})
    _wait_for_partial(tmp_path, proc)
    time.sleep(0.3)  # a few chunks into the temporary file
    proc.send_signal(sig)
    code, err = finish(proc)
    assert code == status, err
    assert err[-1] == message, err
    assert "Traceback" not in "\n".join(err)
    assert out.read_bytes() == b"previous output"
    assert leftovers(tmp_path) == []


def test_sigterm_swallowed_by_a_library_still_stops_the_command(tmp_path: Path) -> None:
    """The exception SIGTERM raises can land in code that swallows it; the next chunk stops."""
    src = tmp_path / "texts.csv"
    texts_frame(400, "a").to_csv(src, index=False)
    out = tmp_path / "scores.parquet"
    out.write_bytes(b"previous output")
    argv = ["score", str(src), "--model", "fake", "--text-column", "text", "--out", str(out)]
    proc = driver([*argv, "--chunk-rows", "2"], env={"FAKE_DELAY": "0.3", "SWALLOW_SIGNALS": "1"})
    _wait_for_partial(tmp_path, proc)
    time.sleep(0.1)  # inside a predict call: the swallowing code gets the exception
    proc.send_signal(signal.SIGTERM)
    code, err = finish(proc)
    assert code == 143, err
    assert err[-1] == "error: terminated (SIGTERM)", err
    assert out.read_bytes() == b"previous output"
    assert leftovers(tmp_path) == []


@pytest.mark.slow
@pytest.mark.skipif(
    not (PROJECT_ROOT / "models" / "ekman" / "saved_model.pb").exists(),
    reason="models/ekman is not present",
)
def test_sigterm_mid_score_with_a_real_model(tmp_path: Path) -> None:
    """The installed command with TensorFlow loaded: TensorFlow keeps our SIGTERM handler."""
    src = tmp_path / "texts.csv"
    texts_frame(50_000, "a").to_csv(src, index=False)
    out = tmp_path / "scores.parquet"
    out.write_bytes(b"previous output")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "cls-explorer"),
            "score",
            str(src),
            "--model",
            "ekman",
            "--text-column",
            "text",
            "--chunk-rows",
            "20",
            "--out",
            str(out),
        ],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for_partial(tmp_path, proc, timeout=300)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    code, err = finish(proc)
    assert code == 143, err
    assert err[-1] == "error: terminated (SIGTERM)"
    assert out.read_bytes() == b"previous output"
    assert leftovers(tmp_path) == []


def test_sigterm_mid_tune_keeps_the_previous_file(tmp_path: Path) -> None:
    src = tmp_path / "scores.csv"
    scores_frame(2000).to_csv(src, index=False)
    out = tmp_path / "thresholds.json"
    out.write_text("{}\n")
    proc = driver(["tune", str(src), "--bootstrap", "10000", "--out", str(out)])
    deadline = time.monotonic() + 90
    while "kept" not in (line := proc.stderr.readline() if proc.stderr else ""):  # data read
        assert line or proc.poll() is None, "tune ended before the data was read"
        assert time.monotonic() < deadline
    proc.send_signal(signal.SIGTERM)
    code, err = finish(proc)
    assert code == 143, err
    assert err[-1] == "error: terminated (SIGTERM)"
    assert out.read_text() == "{}\n"
    assert leftovers(tmp_path) == []


# --------------------------------------------------------------------------- items 8 and 14


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--objective", "fbeta:1e200"],
            f"objective fbeta needs beta between {1 / MAX_BETA:g} and {MAX_BETA:g}; got 1e+200",
        ),
        (["--objective", "fbeta:1e-200"], "objective fbeta needs beta between"),
        (
            ["--objective", "cost:fp=1e308,fn=1e308"],
            f"objective cost needs costs of at most {MAX_COST:g} (only their ratio matters",
        ),
        (["--objective", "cost:fp=1,fn=1e13"], "got fp=1, fn=1e+13"),
        (
            ["--bootstrap", "1000000000"],
            f"--bootstrap must be at most {MAX_BOOTSTRAP_RESAMPLES:,} resamples",
        ),
    ],
    ids=["fbeta-1e200", "fbeta-1e-200", "cost-1e308", "cost-1e13", "bootstrap-1e9"],
)
def test_tune_refuses_numbers_past_their_limits(
    extra: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "scores.csv"
    scores_frame().to_csv(src, index=False)
    out = tmp_path / "thresholds.json"
    code, err = run_cli(["tune", str(src), *extra, "--out", str(out)], capsys)
    one_error(code, err, 2, message)
    assert not out.exists()


def test_largest_costs_and_beta_still_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "scores.csv"
    scores_frame().to_csv(src, index=False)
    out = tmp_path / "thresholds.json"
    expected = main(["tune", str(src), "--objective", "cost:fp=1,fn=1", "--out", str(out)])
    assert expected == 0
    same_ratio = json.loads(out.read_text())["thresholds"]
    code, err = run_cli(
        [
            "tune",
            str(src),
            "--objective",
            f"cost:fp={MAX_COST:g},fn={MAX_COST:g}",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0, err
    assert json.loads(out.read_text())["thresholds"] == same_ratio  # only the ratio matters
    assert main(["tune", str(src), "--objective", f"fbeta:{MAX_BETA:g}", "--out", str(out)]) == 0


def test_core_bounds_raise_value_errors() -> None:
    with pytest.raises(ValueError, match="beta between"):
        Objective(kind="fbeta", beta=1e200)
    with pytest.raises(ValueError, match="costs of at most"):
        bayes_threshold(1e308, 1e308)
    with pytest.raises(ValueError, match="is out of range"):
        parse_objective("cost:fp=1e308,fn=1e308")
    evaluation_stub: Any = None  # the count is checked before the data is touched
    with pytest.raises(ValueError, match=r"`n_resamples` must be <= 10,000; got 1,000,000,000"):
        bootstrap_intervals(evaluation_stub, "f1", n_resamples=10**9)


# --------------------------------------------------------------------------- item 15


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A scores file and the thresholds.json that ``tune`` writes from the file itself."""
    directory = tmp_path_factory.mktemp("reference")
    src = directory / "scores.csv"
    scores_frame().to_csv(src, index=False)
    out = directory / "thresholds.json"
    assert main(["tune", str(src), "--out", str(out)]) == 0
    return src, json.loads(out.read_text())


def _tune_process(
    command: str, tmp_path: Path, **kwargs: Any
) -> tuple[int, list[str], dict[str, Any] | None]:
    out = tmp_path / "thresholds.json"
    run = subprocess.run(
        ["bash", "-c", f"{command} --out {out}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )
    doc = json.loads(out.read_text()) if out.exists() else None
    return run.returncode, run.stderr.strip().splitlines(), doc


TUNE = f"{sys.executable} -m cls_core tune"


@pytest.mark.parametrize(
    "command",
    [
        f"cat SRC | {TUNE} -",
        f"cat SRC | {TUNE} /dev/stdin",
        f"{TUNE} <(cat SRC)",
        f"{TUNE} - < SRC",
    ],
    ids=["dash-pipe", "dev-stdin-pipe", "process-substitution", "dash-redirect"],
)
def test_tune_reads_pipes_once(
    command: str, tmp_path: Path, reference: tuple[Path, dict[str, Any]]
) -> None:
    src, expected = reference
    code, err, doc = _tune_process(command.replace("SRC", str(src)), tmp_path)
    assert code == 0, err
    assert doc == expected  # same thresholds and the same data_sha256 as from the file


def test_tune_reads_a_fifo_with_a_writer(
    tmp_path: Path, reference: tuple[Path, dict[str, Any]]
) -> None:
    src, expected = reference
    fifo = tmp_path / "scores.csv"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "wb") as fh:  # blocks until the reader opens it
            fh.write(src.read_bytes())

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    code, err, doc = _tune_process(f"{TUNE} {fifo}", tmp_path)
    writer.join(timeout=5)
    assert code == 0, err
    assert doc == expected


def test_tune_stdin_messages_name_stdin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(b"a,b\n1,2\n")))
    code, err = run_cli(["tune", "-", "--out", str(tmp_path / "t.json")], capsys)
    one_error(code, err, 2, "error: file '<stdin>' has no truth column 'label'")


def test_tune_stops_reading_stdin_at_the_byte_cap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = io.BytesIO(b"x" * 10_000)
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=stream))
    monkeypatch.setenv("CLS_MAX_BYTES", "1000")
    code, err = run_cli(["tune", "-", "--out", str(tmp_path / "t.json")], capsys)
    one_error(
        code, err, 2, "file '<stdin>' is too big to read whole: it holds more than 1,000 bytes"
    )
    assert stream.tell() == 1001  # no further than the cap


@pytest.mark.parametrize(
    "command",
    ["cat SRC | PY - ARGS", "PY <(cat SRC) ARGS"],
    ids=["dash-pipe", "process-substitution"],
)
def test_score_reads_pipes_once(command: str, tmp_path: Path) -> None:
    src = tmp_path / "texts.csv"
    texts_frame(30, "a").to_csv(src, index=False)
    out = tmp_path / "scores.csv"
    py = f"{sys.executable} -c {shlex.quote(DRIVER)} score"
    args = f"--model fake --text-column text --chunk-rows 7 --out {out}"
    line = command.replace("PY", py).replace("SRC", str(src)).replace("ARGS", args)
    run = subprocess.run(
        ["bash", "-c", line], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    result = pd.read_csv(out)
    assert result["id"].tolist() == [f"a{i}" for i in range(30)]
    assert run.stderr.strip().splitlines()[-1] == f"wrote {out}: 30 rows x 3 labels"


def test_input_copies_of_pipes_are_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The private copy of a piped input lives only while the command runs."""
    from cls_core.cli._files import streamable_input

    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(b"text\nhi\n")))
    with streamable_input("-") as path:
        copy = Path(path)
        assert copy.read_bytes() == b"text\nhi\n"
    assert not copy.exists() and not copy.parent.exists()


# --------------------------------------------------------------------------- every command's --out
# Item 1 for the commands added since: the Beam runners (tune --runner's glob of shards,
# score --runner's shard prefix), errors, card, export and train. Each refusal happens
# before any pipeline, model or training runs, so these take seconds.


@pytest.mark.parametrize("kind", ["same-path", "spelled-differently", "hard-link"])
def test_tune_runner_refuses_out_that_is_the_input(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "scores.csv"
    scores_frame().to_csv(src, index=False)
    before = src.read_bytes()
    argv = ["tune", str(src), "--runner", "direct", "--out", _link(kind, src)]
    one_error(*run_cli(argv, capsys), 2, "is the input file")
    assert src.read_bytes() == before


def test_tune_runner_refuses_out_that_is_one_of_the_shards(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A glob naming ``--out`` among its shards: the pipeline's thresholds.json replaced a
    scores shard (exit 0) before the shards were checked one by one."""
    shards = tmp_path / "shards"
    shards.mkdir()
    for i in range(2):
        scores_frame(seed=i).to_csv(shards / f"part-{i}.csv", index=False)
    before = (shards / "part-1.csv").read_bytes()
    out = shards / ".." / "shards" / "part-1.csv"
    argv = ["tune", str(shards / "part-*.csv"), "--runner", "direct", "--out", str(out)]
    one_error(*run_cli(argv, capsys), 2, "is the input file")
    assert (shards / "part-1.csv").read_bytes() == before


@pytest.mark.parametrize("spelling", ["dot-dot", "symlinked-dir", "hard-link"])
def test_score_runner_refuses_an_input_that_is_an_output_shard(
    spelling: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The pipeline compared input and output shards as strings: an input spelled another
    way was replaced by (or, with another shard count, deleted as a stale shard of) --out."""
    out = tmp_path / "o"
    out.mkdir()
    shard = out / "scores-00000-of-00001.parquet"
    texts_frame(5, "a").to_parquet(shard)
    before = shard.read_bytes()
    if spelling == "dot-dot":
        given = str(out / ".." / "o" / shard.name)
    elif spelling == "symlinked-dir":
        (tmp_path / "link").symlink_to(out)
        given = str(tmp_path / "link" / "scores-*.parquet")
    else:
        os.link(shard, tmp_path / "texts.parquet")
        given = str(tmp_path / "texts.parquet")
    argv = ["score", given, "--model", "no-such-model", "--text-column", "text"]
    code, err = run_cli([*argv, "--runner", "direct", "--out", f"{out}/"], capsys)
    one_error(code, err, 2, "would overwrite the input shard")
    assert shard.read_bytes() == before


def test_errors_refuses_out_that_is_the_thresholds_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "scores.csv"
    scores_frame().to_csv(src, index=False)
    thresholds = tmp_path / "thresholds.json"
    thresholds.write_text("{}")
    link = tmp_path / "link.json"
    link.symlink_to(thresholds)
    argv = ["errors", str(src), "--class", "joy", "--thresholds", str(thresholds)]
    one_error(*run_cli([*argv, "--out", str(link)], capsys), 2, "is the input file")
    assert thresholds.read_text() == "{}"


@pytest.fixture
def fake_savedmodel(tmp_path: Path) -> Path:
    """A directory ``card`` takes for a SavedModel (its checks of --out come first)."""
    model = tmp_path / "m"
    (model / "variables").mkdir(parents=True)
    (model / "saved_model.pb").write_bytes(b"graph")
    (model / "variables" / "variables.index").write_bytes(b"index")
    return model


@pytest.mark.parametrize(
    "target", ["labels", "saved_model.pb", "variables/variables.index", "new-file-inside"]
)
def test_card_refuses_out_that_is_an_input(
    target: str, fake_savedmodel: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``card --force --out`` replaced whatever it named: the labels file it had just read,
    or the model's own graph or weights."""
    labels = tmp_path / "labels.txt"
    labels.write_text("joy\nanger\n")
    out = labels if target == "labels" else fake_savedmodel / target
    before = out.read_bytes() if out.exists() else None
    argv = ["card", str(fake_savedmodel), "--labels", str(labels), "--force", "--out", str(out)]
    code, err = run_cli(argv, capsys)
    one_error(code, err, 2, "--out")
    assert any(s in err[0] for s in ("is the input file", "inside the SavedModel")), err
    assert (out.read_bytes() if out.exists() else None) == before


def test_export_refuses_thresholds_inside_the_directory_it_replaces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    earlier = tmp_path / "exported"
    earlier.mkdir()
    (earlier / "saved_model.pb").write_bytes(b"graph")
    thresholds = earlier / "thresholds.json"
    thresholds.write_text("{}")
    argv = ["export", "--model", "ekman", "--thresholds", str(thresholds), "--force"]
    one_error(*run_cli([*argv, "--out", str(earlier)], capsys), 2, "is inside --out")
    assert thresholds.read_text() == "{}"


@pytest.mark.parametrize("case", ["holds-the-data", "a-directory-of-files", "a-file"])
def test_train_refuses_out_it_would_destroy(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """train replaces --out whole (rmtree): --out . or a parent of --data-dir lost it all."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "keep.txt").write_text("data")
    out = {
        "holds-the-data": tmp_path,
        "a-directory-of-files": data,
        "a-file": data / "keep.txt",
    }[case]
    other = tmp_path / "elsewhere"
    other.mkdir()
    data_dir = other if case == "a-directory-of-files" else data
    argv = ["train", "ekman", "--data-dir", str(data_dir), "--out", str(out)]
    code, err = run_cli(argv, capsys)
    one_error(code, err, 2, "--out")
    assert (data / "keep.txt").read_text() == "data"
