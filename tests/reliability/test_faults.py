"""Faults: broken model directories at start-up and models that change while the app runs.

Every test points ``CLS_MODEL_DIRS`` at a throw-away root holding copies of
``models/banking77`` (renamed) and broken directories; the project's own ``models/`` root
stays first and untouched.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from cls_core.errors import ModelLoadError
from cls_core.modelio.registry import CARD_FILENAME, list_models, load_model
from tests.reliability.conftest import (
    MODELS_DIR,
    app,
    copy_model,
    edit_card,
    headline,
    needs_banking77,
    no_exception,
    texts_of,
)

pytestmark = [needs_banking77, pytest.mark.usefixtures("fresh_listing")]


def _no_pb(path: Path) -> None:
    (path / "saved_model.pb").unlink()


def _no_variables(path: Path) -> None:
    shutil.rmtree(path / "variables")


def _corrupt_pb(path: Path) -> None:
    (path / "saved_model.pb").write_bytes(b"\x08\x01 not a SavedModel \xff\xfe")


def _corrupt_card(path: Path) -> None:
    (path / CARD_FILENAME).write_text("{ not json", encoding="utf-8")


def _card_for_another_dir(path: Path) -> None:
    edit_card(path, name="someone_else")


def _card_label_count(path: Path) -> None:
    import json

    card = json.loads((path / CARD_FILENAME).read_text(encoding="utf-8"))
    edit_card(path, labels=card["labels"][:-1])


def _keras_only(path: Path) -> None:
    for child in path.iterdir():
        if child.name != CARD_FILENAME:
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    (path / "model.keras").write_bytes(b"PK\x03\x04 a zip a Keras loader would open")


# Broken at start-up. "listed": list_models already sees it (no TensorFlow needed); the
# others look fine on disk and fail only when loaded.
STARTUP_BREAKAGES: list[tuple[str, Callable[[Path], None], bool, str]] = [
    ("nopb", _no_pb, True, r"no saved_model\.pb in"),
    ("corruptcard", _corrupt_card, True, r"invalid model card .*not valid JSON"),
    ("wrongname", _card_for_another_dir, True, r"`name` 'someone_else' does not match"),
    ("kerasonly", _keras_only, True, r"no saved_model\.pb in"),
    ("novariables", _no_variables, False, r"unreadable or corrupt"),
    ("corruptpb", _corrupt_pb, False, r"unreadable or corrupt"),
    ("labelcount", _card_label_count, False, r"card lists 76 labels but the model outputs 77"),
]


@pytest.fixture(scope="module")
def broken_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One root with a good copy (``spare``) and every start-up breakage."""
    root = tmp_path_factory.mktemp("broken_root")
    copy_model(MODELS_DIR / "banking77", root / "spare")
    for name, breakage, _, _ in STARTUP_BREAKAGES:
        breakage(copy_model(MODELS_DIR / "banking77", root / name))
    return root


@pytest.fixture
def with_broken_root(broken_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLS_MODEL_DIRS", str(broken_root))
    return broken_root


def test_registry_sorts_broken_dirs_from_good_ones(broken_root: Path) -> None:
    listing = list_models([MODELS_DIR, broken_root])
    assert {"banking77", "spare"} <= set(listing.names)
    reasons = {b.name: b.reason for b in listing.broken}
    for name, _, listed, match in STARTUP_BREAKAGES:
        if listed:
            assert name not in listing.names
            assert __import__("re").search(match, reasons[name]), (name, reasons.get(name))
        else:
            assert name in listing.names  # looks fine on disk: fails at load, below


@pytest.mark.parametrize(("name", "match"), [(n, m) for n, _, _, m in STARTUP_BREAKAGES])
def test_every_broken_dir_raises_model_load_error(broken_root: Path, name: str, match: str) -> None:
    with pytest.raises(ModelLoadError, match=rf"cannot load model '{name}': .*{match}"):
        load_model(name, roots=[broken_root])


def test_sidebar_says_why_each_broken_model_is_unavailable(with_broken_root: Path) -> None:
    at = app(text="I lost my card")
    no_exception(at)
    assert headline(at) == "### Predicted class: lost_or_stolen_card"
    warnings = texts_of(at.sidebar.warning)
    for name, _, listed, _ in STARTUP_BREAKAGES:
        if listed:
            assert any(w.startswith(f"Model `{name}` is unavailable:") for w in warnings), (
                name,
                warnings,
            )
    assert any("no saved_model.pb in" in w for w in warnings)


def test_other_models_and_every_page_still_work(with_broken_root: Path) -> None:
    at = app(model="spare", text="I lost my card")
    no_exception(at)
    assert at.selectbox(key="model").value == "spare"
    assert headline(at) == "### Predicted class: lost_or_stolen_card"
    for page in ("pages/lesson.py", "pages/signature.py", "pages/playground.py"):
        at.switch_page(page).run()
        no_exception(at)
        assert not at.error, (page, texts_of(at.error))


@pytest.mark.parametrize("name", [n for n, _, listed, _ in STARTUP_BREAKAGES if not listed])
def test_choosing_a_model_that_fails_to_load_shows_why(with_broken_root: Path, name: str) -> None:
    at = app(text="I lost my card")
    at.selectbox(key="model").set_value(name).run()
    no_exception(at)
    errors = texts_of(at.error)
    assert any(
        e.startswith(f"This model cannot be used right now: cannot load model '{name}'")
        for e in errors
    ), errors
    # the text survives, and going back to a good model works
    assert at.text_area(key="text").value == "I lost my card"
    at.selectbox(key="model").set_value("banking77").run()
    no_exception(at)
    assert headline(at) == "### Predicted class: lost_or_stolen_card"


@pytest.mark.parametrize("name", [n for n, _, listed, _ in STARTUP_BREAKAGES if not listed])
def test_signature_page_of_a_model_that_fails_to_load(with_broken_root: Path, name: str) -> None:
    at = app(model=name)
    at.switch_page("pages/signature.py").run()
    no_exception(at)


# --------------------------------------------------------------------------------------
# While the app runs


@pytest.fixture
def live_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "live_root"
    root.mkdir()
    copy_model(MODELS_DIR / "banking77", root / "live")
    monkeypatch.setenv("CLS_MODEL_DIRS", str(root))
    return root


def _remove(path: Path) -> None:
    shutil.rmtree(path)


def _truncate_pb(path: Path) -> None:
    pb = path / "saved_model.pb"
    data = pb.read_bytes()
    pb.write_bytes(data[: len(data) // 3])
    stamp = pb.stat().st_mtime + 5  # coarse file-system clocks: make the change visible
    os.utime(pb, (stamp, stamp))


def _delete_variables(path: Path) -> None:
    shutil.rmtree(path / "variables")
    pb = path / "saved_model.pb"
    stamp = pb.stat().st_mtime + 5
    os.utime(pb, (stamp, stamp))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # the refreshed listing no longer has it: the sidebar says so and falls back
        (_remove, "There is no model called “live”. Available models: banking77"),
        (_truncate_pb, "cannot load model 'live'"),
    ],
    ids=["removed", "truncated-pb"],
)
def test_model_changed_while_running_gives_clear_message_on_next_use(
    live_root: Path, change: Callable[[Path], None], message: str
) -> None:
    from pages import _shared

    at = app(model="live", text="I lost my card")
    no_exception(at)
    assert headline(at) == "### Predicted class: lost_or_stolen_card"
    other = app(model="banking77", text="my card payment was declined")  # another session
    no_exception(other)

    change(live_root / "live")
    _shared.model_listing.clear()  # as if the listing's 10 s TTL had passed
    at.text_area(key="text").set_value("why was I charged a fee at the ATM").run()
    no_exception(at)
    errors = texts_of(at.error)
    assert any(message in e for e in errors), errors
    assert at.text_area(key="text").value == "why was I charged a fee at the ATM"

    # the other session is unaffected and keeps working
    other.text_area(key="text").set_value("I want a refund").run()
    no_exception(other)
    assert headline(other).startswith("### Predicted class:")


def test_model_changed_before_listing_refresh(live_root: Path) -> None:
    """Within the listing's TTL the card is still listed; the model itself must not load."""
    at = app(model="live", text="I lost my card")
    assert headline(at) == "### Predicted class: lost_or_stolen_card"
    _delete_variables(live_root / "live")
    at.text_area(key="text").set_value("my card was stolen yesterday").run()
    no_exception(at)
    errors = texts_of(at.error)
    assert any("This model cannot be used right now: cannot load model 'live'" in e for e in errors)


def test_card_changed_while_running_is_not_mixed_with_the_old_model(live_root: Path) -> None:
    """A card whose labels no longer match the loaded SavedModel: message, not a crash."""
    from pages import _shared

    at = app(model="live", text="I lost my card")
    assert headline(at) == "### Predicted class: lost_or_stolen_card"
    _card_label_count(live_root / "live")
    _shared.model_listing.clear()
    at.text_area(key="text").set_value("my card was stolen yesterday").run()
    no_exception(at)
    errors = texts_of(at.error)
    assert any("card lists 76 labels but the model outputs 77" in e for e in errors), errors


# --------------------------------------------------------------------------------------
# Only SavedModels under the roots are ever loaded


def test_pickle_and_keras_files_are_never_opened(tmp_path: Path) -> None:
    """A model dir with a booby-trapped pickle and .keras next to the SavedModel loads the
    SavedModel only: the pickle's payload (which writes a file) never runs."""
    import pickle

    root = tmp_path / "root"
    root.mkdir()
    model_dir = copy_model(MODELS_DIR / "banking77", root / "trap")
    witness = tmp_path / "pickle-was-loaded"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str, str]]:
            return (Path.write_text, (str(witness), "x"))  # type: ignore[return-value]

    for filename in ("model.pkl", "model.pickle", "model.joblib", "thresholds.pkl"):
        (model_dir / filename).write_bytes(pickle.dumps(Payload()))
    (model_dir / "model.keras").write_bytes(b"PK\x03\x04 not opened")
    model = load_model("trap", roots=[root])
    model.predict(["I lost my card"])
    list_models([root])
    assert not witness.exists()


def test_a_keras_only_model_is_reported_broken(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    _keras_only(copy_model(MODELS_DIR / "banking77", root / "kerasonly"))
    listing = list_models([root])
    assert listing.names == ()
    (broken,) = listing.broken
    assert broken.name == "kerasonly"
    assert "no saved_model.pb in" in broken.reason
    with pytest.raises(ModelLoadError, match=r"cannot load model 'kerasonly': no saved_model\.pb"):
        load_model("kerasonly", roots=[root])


def test_nothing_outside_the_roots_loads(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = copy_model(MODELS_DIR / "banking77", tmp_path / "outside")
    (root / "link").symlink_to(outside, target_is_directory=True)
    for name in ("../outside", str(outside), "link/../../outside", "link"):
        with pytest.raises(ModelLoadError, match=r"cannot load model"):
            load_model(name, roots=[root])
    assert list_models([root]).names == ()
