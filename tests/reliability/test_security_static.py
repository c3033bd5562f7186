"""Static security guards: no raw-HTML rendering anywhere, safe server settings, no traversal."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from cls_core.errors import ModelLoadError
from cls_core.modelio.registry import load_model
from cls_core.paths import PROJECT_ROOT

# Spelled in pieces so this file does not match its own search.
FORBIDDEN = [
    re.compile(r"unsafe_allow_" + r"html"),
    re.compile(r"\bst\.html\s*\("),
    re.compile(r"\bcomponents\.html\s*\("),
    re.compile(r"\bcomponents\.v1\.html\s*\("),
    re.compile(r"\bcomponents\.iframe\s*\("),
]
SKIP_DIRS = {
    ".venv",
    ".git",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    ".cache",
}


def _python_files() -> list[Path]:
    return sorted(
        p
        for p in PROJECT_ROOT.rglob("*.py")
        if not SKIP_DIRS.intersection(p.relative_to(PROJECT_ROOT).parts)
    )


def test_python_files_are_found() -> None:
    names = {p.relative_to(PROJECT_ROOT).as_posix() for p in _python_files()}
    assert {"app.py", "pages/playground.py", "cls_core/modelio/registry.py"} <= names


# The one vetted exception: presentation mode's static stylesheet. The test below checks
# that the constant is a plain string literal assigned once (no f-string, no formatting),
# so no user text, label or URL value can ever reach it.
ALLOWED_HTML = {("pages/_shared.py", "st." + "html(_PRESENTATION_CSS)")}


def test_no_raw_html_rendering_anywhere() -> None:
    """User text reaches the page only through Streamlit's escaping elements."""
    hits = [
        f"{path.relative_to(PROJECT_ROOT)}:{n}: {line.strip()}"
        for path in _python_files()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if any(p.search(line) for p in FORBIDDEN)
        and (path.relative_to(PROJECT_ROOT).as_posix(), line.strip()) not in ALLOWED_HTML
    ]
    assert hits == [], "raw HTML rendering found:\n" + "\n".join(hits)


def test_the_allowed_html_is_a_static_literal() -> None:
    import ast

    source = (PROJECT_ROOT / "pages" / "_shared.py").read_text(encoding="utf-8")
    assigns = [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign)
        and any(
            isinstance(t, ast.Name) and t.id == "_PRESENTATION_CSS"
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        )
    ]
    assert len(assigns) == 1, "the stylesheet constant must be assigned exactly once"
    value = assigns[0].value
    assert isinstance(value, ast.Constant) and isinstance(value.value, str), (
        "the stylesheet must be a plain string literal (no f-string, no formatting)"
    )
    assert "<script" not in value.value.lower()


@pytest.mark.parametrize(
    "line",
    [
        "st.markdown(x, unsafe_allow_" + "html=True)",
        "st." + "html('<b>x</b>')",
        "components." + "html(body)",
    ],
)
def test_the_guard_catches_each_form(line: str) -> None:
    assert any(p.search(line) for p in FORBIDDEN)


@pytest.fixture(scope="module")
def config() -> dict[str, dict[str, object]]:
    return tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("section", "key", "expected"),
    [
        ("server", "address", "127.0.0.1"),
        ("server", "enableXsrfProtection", True),
        ("server", "headless", True),
        ("server", "runOnSave", False),
        ("browser", "gatherUsageStats", False),
        ("client", "showErrorDetails", "none"),
    ],
)
def test_streamlit_config_is_safe(
    config: dict[str, dict[str, object]], section: str, key: str, expected: object
) -> None:
    assert config[section][key] == expected


def test_upload_and_message_sizes_are_bounded(config: dict[str, dict[str, object]]) -> None:
    upload = config["server"]["maxUploadSize"]
    message = config["server"]["maxMessageSize"]
    assert isinstance(upload, int) and 1 <= upload <= 200
    assert isinstance(message, int) and 1 <= message <= 200


def test_cors_is_not_opened_up(config: dict[str, dict[str, object]]) -> None:
    """enableCORS = true means "protect": Streamlit then rejects cross-origin requests."""
    assert config["server"].get("enableCORS", True) is True
    assert "corsAllowedOrigins" not in config["server"]


@pytest.mark.parametrize(
    "name",
    [
        "..",
        "../models/banking77",
        "../../etc/passwd",
        "/etc/passwd",
        "banking77/../../x",
        "a\\b",
        "banking77\x00",
        ".git",
        "_private",
        " ",
    ],
)
def test_registry_refuses_traversal_names(name: str) -> None:
    with pytest.raises(ModelLoadError, match=r"a model name is a plain directory name"):
        load_model(name)
