"""The layout's layers: import contracts (import-linter), lazy TensorFlow, the installed command.

The contracts live in pyproject.toml and run in ``make check``. These tests make sure the
contracts can fail (a copy of the package with one forbidden import breaks them), that the
array-only parts really leave TensorFlow out at run time, and that the ``cls-explorer``
command works from any directory without TensorFlow's log noise.
"""

from __future__ import annotations

import os
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cls_core

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
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    package_copy: Path, tmp_path: Path, module: str, line: str, contract: str
) -> None:
    root = tmp_path / "broken"
    shutil.copytree(package_copy, root)
    target = root / "cls_core" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n\n{line}\n", encoding="utf-8")
    result = _lint(root)
    assert result.returncode != 0, "the contract did not fail"
    broken = [ln for ln in result.stdout.splitlines() if " BROKEN" in ln]
    assert any(contract in ln for ln in broken), result.stdout


# --------------------------------------------------------------------------- installed command


def _scores_file(path: Path) -> None:
    path.write_text(
        "a,b,label\n0.9,0.1,a\n0.8,0.3,a\n0.2,0.7,b\n0.4,0.6,b\n0.6,0.4,a\n0.3,0.9,b\n",
        encoding="utf-8",
    )


@pytest.mark.skipif(not CLS_EXPLORER.exists(), reason="the project is not installed (make test)")
def test_installed_command_tunes_from_another_directory(tmp_path: Path) -> None:
    _scores_file(tmp_path / "s.csv")
    result = subprocess.run(
        [str(CLS_EXPLORER), "tune", "s.csv", "--out", "t.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "t.json").is_file()
    assert result.stdout == ""  # results go to files, progress to stderr
    assert "wrote t.json" in result.stderr


def test_python_dash_m_works_from_another_directory(tmp_path: Path) -> None:
    _scores_file(tmp_path / "s.csv")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "cls_core", "tune", "s.csv", "--out", "t.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "t.json").is_file()


@pytest.mark.slow
@pytest.mark.skipif(not CLS_EXPLORER.exists(), reason="the project is not installed (make test)")
def test_score_prints_no_tensorflow_log_lines(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("text\nmy card was stolen\nwhat is the rate\n", "utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL",)}
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
