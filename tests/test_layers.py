"""The layout's layers: import contracts (import-linter), lazy TensorFlow, the installed command.

The contracts live in pyproject.toml and run in ``make check``. These tests make sure the
contracts can fail (a copy of the package with one forbidden import breaks them), that the
array-only parts really leave TensorFlow out at run time, and that the ``cls-explorer``
command works from any directory without TensorFlow's log noise.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import pkgutil
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import cls_core
from cls_core import cli

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LINT_IMPORTS = BIN / "lint-imports"
CLS_EXPLORER = BIN / "cls-explorer"
TEXT_COLUMN_OUT = ("--text-column", "text", "--out", "out.csv")

ARRAY_ONLY_PARTS = ("scoring", "evaluation", "views")


def _modules_of(part: str) -> list[str]:
    package = __import__(f"cls_core.{part}", fromlist=["_"])
    return [f"cls_core.{part}.{m.name}" for m in pkgutil.iter_modules(package.__path__)]


def test_every_module_sits_in_a_part() -> None:
    top = {m.name for m in pkgutil.iter_modules(cls_core.__path__)}
    parts = {"scoring", "modelio", "evaluation", "views", "cli", "pipelines"}
    shared = {"errors", "paths", "preview", "__main__"}
    assert top == parts | shared, f"modules outside the parts: {sorted(top - parts - shared)}"


# What `cls_core` exported before the layout (flat modules, commit 019f8d5^): kept.
PUBLIC_BEFORE_THE_LAYOUT = [
    "ACTIVATIONS",
    "CLASSIFY_METHOD_NAME",
    "ClassificationOutput",
    "CliError",
    "Evaluation",
    "LoadedModel",
    "MetricsAt",
    "ModelCard",
    "ModelLoadError",
    "Prediction",
    "apply_activation",
    "build_evaluation",
    "decision_trace",
    "list_models",
    "load_model",
    "multiclass_decide",
    "multilabel_decide",
    "parse_objective",
    "read_thresholds_json",
    "sigmoid",
    "softmax",
    "thresholds_file",
    "top_k",
    "tune",
    "write_thresholds_json",
]


def test_cls_core_keeps_its_public_names() -> None:
    assert set(PUBLIC_BEFORE_THE_LAYOUT) <= set(cls_core.__all__)
    missing = [name for name in cls_core.__all__ if not hasattr(cls_core, name)]
    assert missing == []


@pytest.mark.parametrize("part", ARRAY_ONLY_PARTS)
def test_array_only_parts_leave_tensorflow_and_streamlit_out(part: str) -> None:
    modules = _modules_of(part)
    assert len(modules) >= 3
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in ('tensorflow', 'keras', 'streamlit') if m in sys.modules)\n"
        "print(','.join(bad) or 'clean')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "clean", f"{part} imported {result.stdout.strip()}"


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(root)},
    )


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not LINT_IMPORTS.exists():
        pytest.skip("lint-imports is not installed (requirements-dev.txt)")
    root = tmp_path_factory.mktemp("layers")
    shutil.copytree(
        PROJECT_ROOT / "cls_core", root / "cls_core", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(PROJECT_ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def test_contracts_hold_on_the_real_package(package_copy: Path) -> None:
    result = _lint(package_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("views/lesson.py", "import streamlit", "never imports streamlit"),
        ("evaluation/metrics.py", "from cls_core.modelio import registry", "model I/O"),
        ("views/charts.py", "import tensorflow", "TensorFlow only where listed"),
        ("scoring/decisions.py", "from cls_core.evaluation import metrics", "scoring never"),
        # a lazy import inside a function counts too: only the listed ones are allowed
        ("evaluation/thresholds.py", "def _f():\n    import keras", "TensorFlow only where listed"),
        ("modelio/registry.py", "from cls_core.pipelines import io", "only the command line"),
        ("evaluation/metrics.py", "import apache_beam", "Beam is imported only inside"),
        # the layers: a reverse arrow between two parts that no forbidden contract names
        ("evaluation/thresholds.py", "from cls_core.views import charts", "the parts are layers"),
        ("modelio/registry.py", "from cls_core.cli import _files", "the parts are layers"),
        ("pipelines/io.py", "from cls_core.cli import _files", "the parts are layers"),
        ("paths.py", "from cls_core.scoring import activations", "the parts are layers"),
        # a new top-level module outside every part
        ("stray.py", "import numpy", "the parts are layers"),
        ("cli/tune.py", "def _f():\n    import tensorflow", "TensorFlow only through modelio"),
        ("pipelines/score.py", "import keras", "TensorFlow only through modelio"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    package_copy: Path, tmp_path: Path, module: str, line: str, contract: str
) -> None:
    root = tmp_path / "broken"
    shutil.copytree(package_copy, root)
    target = root / "cls_core" / module
    before = target.read_text(encoding="utf-8") if target.exists() else '"""A stray module."""\n'
    target.write_text(before + f"\n\n{line}\n", encoding="utf-8")
    result = _lint(root)
    assert result.returncode != 0, "the contract did not fail"
    broken = [ln for ln in result.stdout.splitlines() if " BROKEN" in ln]
    assert any(contract in ln for ln in broken), result.stdout


# --------------------------------------------------------------------------- installed command


def _clean_env(*drop: str) -> dict[str, str]:
    """The environment without PYTHONPATH (the installed project must be found on its own)."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", *drop)}


def _installed() -> bool:
    try:
        importlib.metadata.distribution("classifier-output-explorer")
    except importlib.metadata.PackageNotFoundError:
        return False
    return CLS_EXPLORER.exists()


needs_install = pytest.mark.skipif(
    not _installed(), reason="the project is not installed into this venv (make test)"
)


def _scores_file(path: Path) -> None:
    path.write_text(
        "a,b,label\n0.9,0.1,a\n0.8,0.3,a\n0.2,0.7,b\n0.4,0.6,b\n0.6,0.4,a\n0.3,0.9,b\n",
        encoding="utf-8",
    )


@needs_install
def test_installed_command_tunes_from_another_directory(tmp_path: Path) -> None:
    _scores_file(tmp_path / "s.csv")
    result = subprocess.run(
        [str(CLS_EXPLORER), "tune", "s.csv", "--out", "t.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env=_clean_env(),
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "t.json").is_file()
    assert result.stdout == ""  # results go to files, progress to stderr
    assert "wrote t.json" in result.stderr


@needs_install
def test_python_dash_m_works_from_another_directory(tmp_path: Path) -> None:
    # no PYTHONPATH: the editable install alone makes cls_core importable from tmp_path
    _scores_file(tmp_path / "s.csv")
    result = subprocess.run(
        [sys.executable, "-m", "cls_core", "tune", "s.csv", "--out", "t.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env=_clean_env(),
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "t.json").is_file()
    assert result.stdout == ""
    assert "wrote t.json" in result.stderr


def _command_names() -> list[str]:
    """The public modules of cls_core/cli: one per command."""
    return sorted(m.name for m in pkgutil.iter_modules(cli.__path__) if not m.name.startswith("_"))


def test_every_command_module_is_registered() -> None:
    registered = sorted(name.rsplit(".", 1)[1] for name in cli._COMMAND_MODULES)
    assert registered == _command_names()
    assert {"score", "tune", "train", "export", "card", "errors"} <= set(registered)


@needs_install
@pytest.mark.parametrize("argv", [[str(CLS_EXPLORER)], [sys.executable, "-m", "cls_core"]])
def test_help_from_another_directory_lists_every_command(tmp_path: Path, argv: list[str]) -> None:
    result = subprocess.run(
        [*argv, "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env=_clean_env(),
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    listed = result.stdout.split("positional arguments:")[1].split("options:")[0]
    for name in _command_names():
        assert f"\n    {name} " in listed, f"{name} missing from --help:\n{result.stdout}"


def test_building_the_parser_imports_no_tensorflow_beam_or_streamlit() -> None:
    code = (
        "import sys\n"
        "from cls_core.cli import build_parser\n"
        "build_parser()\n"
        "print(','.join(m for m in ('tensorflow', 'apache_beam', 'streamlit') if m in sys.modules)"
        " or 'clean')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "clean", f"every command pays for {result.stdout.strip()}"


def test_train_progress_goes_to_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cls_core.modelio import training

    def fake_recipe(name: str, *, log: Callable[[str], None], **_: object) -> dict[str, object]:
        log(f"{name}: 10 train / 2 dev / 2 test, 7 classes")
        return {}

    monkeypatch.setattr(training, "run_recipe", fake_recipe)
    assert (
        cli.main(["train", "ekman", "--data-dir", str(tmp_path), "--out", str(tmp_path / "m")]) == 0
    )
    captured = capsys.readouterr()
    assert captured.out == ""  # results are files; the terminal gets progress on stderr only
    assert captured.err == "ekman: 10 train / 2 dev / 2 test, 7 classes\n"


@pytest.mark.slow
@needs_install
def test_score_prints_no_tensorflow_log_lines(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("text\nmy card was stolen\nwhat is the rate\n", "utf-8")
    env = _clean_env("TF_CPP_MIN_LOG_LEVEL", "ABSL_MIN_LOG_LEVEL")
    result = subprocess.run(
        [str(CLS_EXPLORER), "score", "--model", "banking77", "in.csv", *TEXT_COLUMN_OUT],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    noise = [ln for ln in lines if not ln.startswith(("scored ", "wrote ", "warning: "))]
    assert noise == [], f"unexpected stderr lines: {noise}"


@pytest.mark.slow
@needs_install
def test_card_and_export_print_no_tensorflow_log_lines(tmp_path: Path) -> None:
    """The other commands that load a SavedModel: stderr holds only their own lines."""
    labels = json.loads((PROJECT_ROOT / "models/ekman/model_card.json").read_text("utf-8"))[
        "labels"
    ]
    rows = [",".join([*labels, "label"])]
    for i in range(4 * len(labels)):
        truth = i % len(labels)
        scores = [0.9 if c == truth else 0.1 / (len(labels) - 1) for c in range(len(labels))]
        rows.append(",".join([*(f"{v:.4f}" for v in scores), labels[truth]]))
    (tmp_path / "s.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert cli.main(["tune", str(tmp_path / "s.csv"), "--out", str(tmp_path / "t.json")]) == 0
    # one process for both commands (TensorFlow starts once), run as the console script runs
    script = (
        "import sys; from cls_core.cli import main\n"
        f"a = main(['card', {str(PROJECT_ROOT / 'models/ekman')!r}, '--dry-run'])\n"
        "b = main(['export', '--model', 'ekman', '--thresholds', 't.json', '--out', 'exp'])\n"
        "sys.exit(a or b)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env=_clean_env("TF_CPP_MIN_LOG_LEVEL", "ABSL_MIN_LOG_LEVEL"),
    )
    assert result.returncode == 0, result.stderr
    assert "output holds" in result.stdout  # card's report is its result: stdout
    assert (tmp_path / "exp" / "saved_model.pb").is_file()
    noise = [ln for ln in result.stderr.splitlines() if not ln.startswith("wrote ")]
    assert noise == [], f"unexpected stderr lines: {noise}"
