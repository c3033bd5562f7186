"""The model registry: find, validate and load the bundled (and extra) text classifiers.

A *model root* is a directory whose immediate subdirectories are models
(:func:`cls_core.paths.model_roots`: the project's ``models/`` plus the ``CLS_MODEL_DIRS``
roots). A model directory holds a SavedModel at its root (``saved_model.pb``,
``variables/``) with the signatures ``serving_default`` and ``classification``, and a
``model_card.json`` describing it (:class:`ModelCard`). The model's name is its directory
name, and the card's ``name`` must match it.

*Own models* (any other text-classifier SavedModel) are called through an adapter
(:mod:`cls_core.modelio.adapters`): a card with an ``adapter`` object says which signature,
input and output to use; every other field of such a card is optional, and what it leaves
out is inferred (:mod:`cls_core.modelio.inspect`). A model directory with no card at all is
listed with an inferred card (``ModelCard.inferred``). Inference imports TensorFlow and runs
the model on probe texts, once per model version (memoized on the files' stamps); Keras
``.keras`` files and pickles are never loaded.

:func:`list_models` only reads cards and checks files (it never imports TensorFlow, so a
sidebar can call it on every rerun). :func:`load_model` loads the SavedModel and returns a
:class:`LoadedModel` whose :meth:`LoadedModel.predict` calls the ``serving_default``
signature directly: no Keras, thread-safe, chunked for long lists.

Input texts longer than :data:`MAX_TEXT_CHARS` characters are truncated to that length
before scoring (the result says which ones); ``None`` or non-``str`` items raise
``TypeError`` naming the position; empty and whitespace-only strings are valid input.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cls_core import paths
from cls_core.errors import ModelLoadError

if TYPE_CHECKING:
    from cls_core.modelio.adapters import AdapterSpec

__all__ = [
    "CARD_FILENAME",
    "MAX_TEXT_CHARS",
    "PREDICT_CHUNK_SIZE",
    "BrokenModel",
    "LoadedModel",
    "ModelCard",
    "ModelListing",
    "Prediction",
    "list_models",
    "load_model",
]

CARD_FILENAME = "model_card.json"
#: Longest text scored as is; longer texts are cut to their first ``MAX_TEXT_CHARS``
#: characters (Python ``str`` characters, i.e. code points). Models were trained on texts
#: far shorter (GoEmotions comments are capped near 500 characters), so the cut changes
#: nothing useful and keeps one request's cost bounded.
MAX_TEXT_CHARS = 5000
#: Texts per call of the signature in :meth:`LoadedModel.predict`.
PREDICT_CHUNK_SIZE = 1024

#: Largest ``model_card.json`` read (bytes); the listing re-reads every card every few
#: seconds, so a bigger file is reported as broken instead of being parsed.
MAX_CARD_BYTES = 8 * 1024 * 1024
#: Deepest nesting of arrays/objects accepted in a card (the shipped cards use 4).
MAX_CARD_DEPTH = 32
#: Most files and directories walked in one model directory (see :func:`_check_files`).
MAX_MODEL_FILES = 10_000

_TASK_ACTIVATION = {"multi-class": "softmax", "multi-label": "sigmoid"}
_DATASET_KEYS = ("name", "source", "license", "attribution")
_TRAINING_KEYS = ("command", "date", "seed")


# --------------------------------------------------------------------------------------
# Model cards


def _card_error(path: Path, message: str) -> ValueError:
    return ValueError(f"invalid model card {path}: {message}")


def _str_tuple(raw: Any, key: str, path: Path, *, allow_empty: bool = False) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise _card_error(path, f"`{key}` must be a list of strings; got {raw!r:.80}")
    if not allow_empty and not raw:
        raise _card_error(path, f"`{key}` must not be empty")
    return tuple(raw)


def _probability(raw: Any, key: str, path: Path) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise _card_error(path, f"`{key}` must be a number in [0, 1]; got {raw!r:.80}")
    # Compare before converting: float(10**400) raises OverflowError.
    if isinstance(raw, float) and not math.isfinite(raw):
        raise _card_error(path, f"`{key}` must be a number in [0, 1]; got {raw!r}")
    if not 0 <= raw <= 1:
        raise _card_error(path, f"`{key}` must be in [0, 1]; got {_preview(raw)}")
    return float(raw)


def _preview(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, with the full length when cut."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def _nesting_depth_exceeds(raw: Any, limit: int) -> bool:
    """Whether arrays/objects in ``raw`` nest deeper than ``limit`` (iterative walk)."""
    stack: list[tuple[Any, int]] = [(raw, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return False


def _example_labels(
    raw: Any, examples: tuple[str, ...], labels: tuple[str, ...], task: str, path: Path
) -> tuple[tuple[str, ...], ...] | None:
    """Validate the optional ``example_labels`` (one list of known labels per example).

    An empty list marks an example that no label fits (shown to make the model unsure).
    """
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) != len(examples):
        raise _card_error(
            path,
            f"`example_labels` must be a list with one entry per example ({len(examples)}); "
            f"got {raw!r:.80}",
        )
    known = set(labels)
    out = []
    for i, entry in enumerate(raw):
        intended = _str_tuple(entry, f"example_labels[{i}]", path, allow_empty=True)
        if task == "multi-class" and len(intended) > 1:
            raise _card_error(
                path,
                f"`example_labels[{i}]` must name at most one label for a multi-class "
                f"model; got {list(intended)}",
            )
        unknown = [label for label in intended if label not in known]
        if unknown:
            raise _card_error(path, f"`example_labels[{i}]` names unknown label(s) {unknown}")
        out.append(intended)
    return tuple(out)


@dataclass(frozen=True, kw_only=True)
class ModelCard:
    """The validated contents of a ``model_card.json``.

    Attributes
    ----------
    name : str
        Model name (equals the directory name).
    title : str
        Human-readable title.
    task : {"multi-class", "multi-label"}
    activation : {"softmax", "sigmoid"}
        Softmax for multi-class, sigmoid for multi-label.
    labels : tuple of str
        Class names in class-id order (unique, non-empty).
    thresholds : tuple of float or None
        Multi-label: one threshold per class; a class fires when ``score >= threshold``.
        None for multi-class.
    reject_threshold : float or None
        Multi-class: abstain when the top score is below it (None: never abstain).
        Always None for multi-label.
    examples : tuple of str
        Demo texts written by the project.
    example_labels : tuple of tuple of str, or None
        The intended labels of each example (same order as ``examples``): one label for
        a multi-class model, one or more for a multi-label model; empty when no label
        fits. Optional in the JSON (``"example_labels"``; older cards lack it): None
        when absent.
    dataset : dict
        At least ``name``, ``source``, ``license``, ``attribution``.
    metrics : dict
        Test metrics written by the training run.
    training : dict
        At least ``command``, ``date``, ``seed``.
    path : Path
        The model directory.
    raw : dict
        The whole JSON document.
    adapter : AdapterSpec or None
        Own models: how to call the SavedModel (the card's ``adapter`` object). None for
        bundled models, which export ``serving_default`` (logits, scores) themselves.
    inferred : bool
        True when the model directory has no card and this one was inferred.

    A *binary* model (:attr:`binary`) is a two-class multi-class model decided with one
    threshold on the positive class's score (``labels[1]`` when ``p >= t``, see
    :func:`cls_core.scoring.decisions.binary_decide`): an own model with one sigmoid
    column (``adapter.binary``), or any card with a ``binary`` object
    ``{"positive_label": labels[1], "threshold": t}`` (an export of a binary model writes
    one; ``t`` is the default threshold, :attr:`binary_threshold`).
    """

    name: str
    title: str
    task: str
    activation: str
    labels: tuple[str, ...]
    thresholds: tuple[float, ...] | None
    reject_threshold: float | None
    examples: tuple[str, ...]
    dataset: dict[str, Any]
    metrics: dict[str, Any]
    training: dict[str, Any]
    path: Path
    raw: dict[str, Any]
    example_labels: tuple[tuple[str, ...], ...] | None = None
    adapter: AdapterSpec | None = None
    inferred: bool = False

    @property
    def n_classes(self) -> int:
        """Number of classes (``len(labels)``)."""
        return len(self.labels)

    @property
    def binary(self) -> bool:
        """True for a binary model: two classes, one threshold on the positive class."""
        if self.adapter is not None and self.adapter.binary:
            return True
        return isinstance(self.raw.get("binary"), dict)

    @property
    def binary_threshold(self) -> float:
        """The binary rule's starting threshold: the card's ``binary.threshold``, else 0.5."""
        block = self.raw.get("binary")
        if isinstance(block, dict) and isinstance(block.get("threshold"), int | float):
            return float(block["threshold"])
        return 0.5

    @property
    def summary(self) -> str:
        """One line saying what the model is (for own models: how it is read)."""
        if self.adapter is None:
            return f"{self.task} · {self.activation} · {len(self.labels)} labels"
        spec = self.adapter
        kind = "logits" if spec.output_kind == "logits" else f"{spec.output_kind} probabilities"
        shape = "binary" if spec.binary else f"{len(self.labels)} labels"
        return f"{spec.signature} → {spec.output} ({kind}) · {self.task} · {shape}"

    @classmethod
    def from_dict(cls, raw: Any, *, path: Path) -> ModelCard:
        """Validate a parsed card; ``path`` is the model directory (for messages).

        Raises
        ------
        ValueError
            A field is missing, of the wrong kind, or inconsistent (the message names it).
        """
        card_path = Path(path) / CARD_FILENAME
        if not isinstance(raw, dict):
            raise _card_error(card_path, f"expected a JSON object; got {type(raw).__name__}")
        required = (
            "name",
            "title",
            "task",
            "activation",
            "labels",
            "thresholds",
            "reject_threshold",
            "examples",
            "dataset",
            "metrics",
            "training",
        )
        missing = [key for key in required if key not in raw]
        if missing and "adapter" in raw:
            raise _PartialCardError(raw)
        if missing:
            raise _card_error(card_path, f"missing field(s) {', '.join(missing)}")
        for key in ("name", "title"):
            if not isinstance(raw[key], str) or not raw[key].strip():
                raise _card_error(card_path, f"`{key}` must be a non-empty string")
        name, task, activation = raw["name"], raw["task"], raw["activation"]
        if name != Path(path).name:
            raise _card_error(
                card_path,
                f"`name` {_preview(name)} does not match the directory name {Path(path).name!r}",
            )
        if not isinstance(task, str) or task not in _TASK_ACTIVATION:
            raise _card_error(
                card_path, f"`task` must be 'multi-class' or 'multi-label'; got {_preview(task)}"
            )
        if activation != _TASK_ACTIVATION[task]:
            raise _card_error(
                card_path,
                f"`activation` must be {_TASK_ACTIVATION[task]!r} for a {task} model; "
                f"got {_preview(activation)}",
            )
        labels = _str_tuple(raw["labels"], "labels", card_path)
        if any(not label for label in labels):
            raise _card_error(card_path, "`labels` must not contain empty strings")
        counts = Counter(labels)  # linear: cards may list tens of thousands of labels
        if len(counts) != len(labels):
            dupes = sorted(label for label, count in counts.items() if count > 1)
            shown = _preview(dupes[:10], limit=200)
            more = f" and {len(dupes) - 10:,} more" if len(dupes) > 10 else ""
            raise _card_error(card_path, f"`labels` must be unique; repeated: {shown}{more}")

        thresholds: tuple[float, ...] | None = None
        reject: float | None = None
        if task == "multi-label":
            raw_th = raw["thresholds"]
            if not isinstance(raw_th, list) or len(raw_th) != len(labels):
                raise _card_error(
                    card_path,
                    f"`thresholds` must be a list of {len(labels)} numbers (one per label) "
                    f"for a multi-label model; got {raw_th!r:.80}",
                )
            thresholds = tuple(
                _probability(t, f"thresholds[{i}]", card_path) for i, t in enumerate(raw_th)
            )
            if raw["reject_threshold"] is not None:
                raise _card_error(card_path, "`reject_threshold` must be null for multi-label")
        else:
            if raw["thresholds"] is not None:
                raise _card_error(card_path, "`thresholds` must be null for a multi-class model")
            if raw["reject_threshold"] is not None:
                reject = _probability(raw["reject_threshold"], "reject_threshold", card_path)

        examples = _str_tuple(raw["examples"], "examples", card_path, allow_empty=True)
        example_labels = _example_labels(
            raw.get("example_labels"), examples, labels, task, card_path
        )
        for key, keys in (("dataset", _DATASET_KEYS), ("training", _TRAINING_KEYS)):
            if not isinstance(raw[key], dict):
                raise _card_error(card_path, f"`{key}` must be an object")
            absent = [k for k in keys if k not in raw[key]]
            if absent:
                raise _card_error(card_path, f"`{key}` lacks {', '.join(absent)}")
        if not isinstance(raw["metrics"], dict):
            raise _card_error(card_path, "`metrics` must be an object")
        if "binary" in raw:
            _check_binary_block(raw["binary"], task, labels, card_path)
        return cls(
            name=name,
            title=raw["title"],
            task=task,
            activation=activation,
            labels=labels,
            thresholds=thresholds,
            reject_threshold=reject,
            examples=examples,
            dataset=dict(raw["dataset"]),
            metrics=dict(raw["metrics"]),
            training=dict(raw["training"]),
            path=Path(path),
            raw=raw,
            example_labels=example_labels,
            adapter=_adapter(raw, card_path),
        )

    @classmethod
    def from_dir(cls, path: Path) -> ModelCard:
        """Read and validate ``<path>/model_card.json``.

        Raises
        ------
        FileNotFoundError
            The card file does not exist.
        ValueError
            The file cannot be read, is larger than :data:`MAX_CARD_BYTES`, is not valid
            UTF-8 JSON (including numbers Python refuses and nesting too deep to parse),
            nests deeper than :data:`MAX_CARD_DEPTH`, or a field is invalid (named in the
            message).
        """
        path = Path(path)
        card_path = path / CARD_FILENAME
        if not card_path.is_file():
            raise FileNotFoundError(f"no {CARD_FILENAME} in {path}")
        try:
            with card_path.open("rb") as handle:
                data = handle.read(MAX_CARD_BYTES + 1)
        except OSError as exc:
            raise _card_error(card_path, f"cannot be read ({exc.strerror or exc})") from exc
        if len(data) > MAX_CARD_BYTES:
            raise _card_error(card_path, f"larger than {MAX_CARD_BYTES:,} bytes")
        try:
            raw = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise _card_error(card_path, f"not valid UTF-8 (byte {exc.start})") from exc
        except json.JSONDecodeError as exc:
            raise _card_error(card_path, f"not valid JSON ({exc})") from exc
        except RecursionError as exc:
            raise _card_error(
                card_path, f"not valid JSON (nested deeper than {MAX_CARD_DEPTH} levels)"
            ) from exc
        except ValueError as exc:  # e.g. an integer longer than Python's 4300-digit limit
            raise _card_error(card_path, f"not valid JSON ({str(exc)[:200]})") from exc
        if _nesting_depth_exceeds(raw, MAX_CARD_DEPTH):
            raise _card_error(card_path, f"arrays/objects nested deeper than {MAX_CARD_DEPTH}")
        return cls.from_dict(raw, path=path)


def _check_binary_block(block: Any, task: str, labels: tuple[str, ...], card_path: Path) -> None:
    """A card's ``binary`` object: ``{"positive_label": labels[1], "threshold": t}``."""
    if task != "multi-class" or len(labels) != 2:
        raise _card_error(
            card_path, "`binary` needs a multi-class model with two labels (negative, positive)"
        )
    if not isinstance(block, dict) or set(block) - {"positive_label", "threshold"}:
        raise _card_error(
            card_path, "`binary` must be an object with `positive_label` and `threshold`"
        )
    if block.get("positive_label", labels[1]) != labels[1]:
        raise _card_error(
            card_path, f"`binary.positive_label` must be the second label {labels[1]!r}"
        )
    if "threshold" in block:
        _probability(block["threshold"], "binary.threshold", card_path)


class _PartialCardError(ValueError):
    """An own model's card that leaves fields to inference (it has an ``adapter`` object)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        super().__init__("partial own-model card")
        self.raw = raw


def _adapter(raw: dict[str, Any], card_path: Path) -> AdapterSpec | None:
    if "adapter" not in raw:
        return None
    from cls_core.modelio.adapters import AdapterSpec

    try:
        return AdapterSpec.from_dict(raw["adapter"])
    except ValueError as exc:
        raise _card_error(card_path, str(exc)) from exc


#: Inferred cards by (model directory, stamp of its files and card overrides); a model that
#: could not be understood keeps its reason, so a listing every few seconds does not load
#: and probe it again until its files change.
_INFERRED: dict[tuple[str, str], ModelCard | str] = {}
_INFERRED_MAX = 64
_REFUSED_SUFFIXES = (".keras", ".h5", ".hdf5", ".pkl", ".pickle", ".joblib")


def _inference_stamp(path: Path, overrides: dict[str, Any] | None) -> str:
    parts = [json.dumps(overrides, sort_keys=True, default=str)]
    for name in ("saved_model.pb", "labels.txt", "labels.json", "variables/variables.index"):
        try:
            stat = (path / name).stat()
            parts.append(f"{name}:{stat.st_mtime_ns}:{stat.st_size}")
        except OSError:
            parts.append(f"{name}:-")
    return "|".join(parts)


def _own_card(path: Path, root: Path, overrides: dict[str, Any] | None) -> ModelCard:
    """The card of an own model: inferred, with a partial card's fields winning.

    Raises ValueError naming what could not be understood and how to resolve it.
    """
    key = (str(path.resolve()), _inference_stamp(path, overrides))
    cached = _INFERRED.get(key)
    if cached is None:
        try:
            cached = _infer_own_card(path, root, overrides)
        except ValueError as exc:
            cached = str(exc)
        if len(_INFERRED) >= _INFERRED_MAX:
            _INFERRED.clear()
        _INFERRED[key] = cached
    if isinstance(cached, str):
        raise ValueError(cached)
    return cached


def _infer_own_card(path: Path, root: Path, overrides: dict[str, Any] | None) -> ModelCard:
    from cls_core.modelio.inspect import InferenceError, infer_model

    given = dict(overrides or {})
    adapter = given.get("adapter", {})
    if not isinstance(adapter, dict):
        raise _card_error(path / CARD_FILENAME, "`adapter` must be an object")
    labels = given.get("labels")
    hints: dict[str, Any] = {
        "signature": adapter.get("signature"),
        "input_key": adapter.get("input"),
        "feature": adapter.get("feature"),
        "output": adapter.get("output"),
        "output_kind": adapter.get("output_kind"),
        "task": given.get("task") if isinstance(given.get("task"), str) else None,
        "labels": tuple(labels) if isinstance(labels, list) else None,
    }
    try:
        inference = infer_model(path, root=root, **hints)
    except InferenceError as exc:
        where = "the card's adapter" if overrides else "no model_card.json"
        raise ValueError(
            f"{where}, and the model could not be understood: {exc} "
            f"(`cls-explorer card {path}` writes a card; see README → Use your own model)"
        ) from exc
    raw = inference.card_dict(path.name)
    raw.update({k: v for k, v in given.items() if k != "adapter"})
    raw["adapter"] = {**raw["adapter"], **adapter}
    card = ModelCard.from_dict(raw, path=path)
    if overrides is None:
        card = replace(card, inferred=True)
    return card


# --------------------------------------------------------------------------------------
# Listing


@dataclass(frozen=True)
class BrokenModel:
    """A model directory that cannot be used, and why."""

    name: str
    path: Path
    reason: str


@dataclass(frozen=True)
class ModelListing:
    """Valid model cards (sorted by name) and broken model directories."""

    cards: tuple[ModelCard, ...]
    broken: tuple[BrokenModel, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the valid models, in listing order."""
        return tuple(card.name for card in self.cards)

    def get(self, name: str) -> ModelCard | None:
        """The card named ``name``, or None."""
        return next((card for card in self.cards if card.name == name), None)


def _resolve_roots(roots: Sequence[Path] | None) -> list[Path]:
    if roots is None:
        return list(paths.model_roots())
    if isinstance(roots, str | Path):
        raise TypeError(f"`roots` must be a sequence of paths; got a single {type(roots).__name__}")
    return [Path(r) for r in roots]


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _check_files(path: Path, root: Path) -> None:
    """Refuse a model directory holding any entry that resolves outside ``root``.

    TensorFlow opens ``saved_model.pb``, ``fingerprint.pb``, everything under
    ``variables/`` and ``assets/``; checking the directory alone would let a symlinked
    ``saved_model.pb`` or ``variables/`` load a graph from anywhere. Every entry of the
    directory tree is resolved (symlinked subdirectories inside the root are walked too,
    each real directory once), at most :data:`MAX_MODEL_FILES` of them.
    """
    root_real = root.resolve()
    seen_dirs: set[Path] = set()
    pending = [path]
    walked = 0
    while pending:
        directory = pending.pop()
        real_dir = directory.resolve()
        if real_dir in seen_dirs:
            continue
        seen_dirs.add(real_dir)
        try:
            entries = list(os.scandir(directory))
        except OSError as exc:
            raise ValueError(f"cannot list {directory} ({exc.strerror or exc})") from exc
        for entry in entries:
            walked += 1
            if walked > MAX_MODEL_FILES:
                raise ValueError(f"{path} holds more than {MAX_MODEL_FILES:,} files")
            entry_path = Path(entry.path)
            if entry.is_symlink():
                try:
                    target = entry_path.resolve(strict=True)
                except (OSError, RuntimeError) as exc:  # dangling link or symlink loop
                    raise ValueError(f"{entry_path} is a broken symlink") from exc
                if not target.is_relative_to(root_real):
                    raise ValueError(
                        f"{entry_path} resolves to {target}, outside the model root {root}"
                    )
            if entry.is_dir():  # follows symlinks (already checked to stay inside)
                pending.append(entry_path)


def _check_dir(path: Path, root: Path) -> ModelCard:
    """Validate one model directory without TensorFlow; raise ValueError with the reason."""
    if not _inside(path, root):
        raise ValueError(f"{path} resolves to {path.resolve()}, outside the model root {root}")
    if not path.is_dir():
        raise ValueError(f"{path} is not a directory")
    if not (path / "saved_model.pb").is_file():
        refused = sorted(p.name for p in path.iterdir() if p.suffix.lower() in _REFUSED_SUFFIXES)
        if refused:
            raise ValueError(
                f"no saved_model.pb in {path} (found {', '.join(refused)}: Keras and pickle "
                "files are never loaded, they can run code; export a SavedModel with "
                "model.export(DIR))"
            )
        raise ValueError(f"no saved_model.pb in {path}")
    _check_files(path, root)
    try:
        return ModelCard.from_dir(path)
    except FileNotFoundError as exc:
        card_path = path / CARD_FILENAME
        if card_path.exists() or card_path.is_symlink():  # a directory, a dangling link
            raise ValueError(str(exc)) from exc
        return _own_card(path, root, None)
    except _PartialCardError as partial:
        return _own_card(path, root, partial.raw)


def _candidate_dirs(root: Path) -> Iterable[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if not p.name.startswith((".", "_")) and (p.is_dir()))


def list_models(roots: Sequence[Path] | None = None) -> ModelListing:
    """Cards of every valid model under the roots, plus the broken directories.

    Reads cards and checks files only: TensorFlow is imported only for a directory whose
    card is missing or partial (its card is inferred once per version). A name found under
    several roots is taken from the first root; later copies are reported as broken
    ("shadowed"). Hidden directories (``.x``, ``_x``) and plain files are ignored.

    Parameters
    ----------
    roots : sequence of Path, optional
        Model roots in search order (default :func:`cls_core.paths.model_roots`).
        Missing roots are skipped.

    Returns
    -------
    ModelListing
    """
    cards: dict[str, ModelCard] = {}
    broken: list[BrokenModel] = []
    for root in _resolve_roots(roots):
        for path in _candidate_dirs(root):
            if path.name in cards:
                broken.append(
                    BrokenModel(
                        path.name, path, f"shadowed by {cards[path.name].path} (earlier root)"
                    )
                )
                continue
            try:
                cards[path.name] = _check_dir(path, root)
            except ValueError as exc:
                broken.append(BrokenModel(path.name, path, str(exc)))
            except Exception as exc:  # one bad directory must not hide the others
                broken.append(
                    BrokenModel(path.name, path, f"cannot be read ({type(exc).__name__})")
                )
    return ModelListing(
        cards=tuple(cards[name] for name in sorted(cards)),
        broken=tuple(broken),
    )


# --------------------------------------------------------------------------------------
# Loading and prediction


@dataclass(frozen=True, kw_only=True)
class Prediction:
    """Outputs of :meth:`LoadedModel.predict` for ``n`` texts and ``C`` classes.

    Attributes
    ----------
    logits : ndarray of shape (n, C), float32
    scores : ndarray of shape (n, C), float32
        The model's activation applied to the logits (softmax rows sum to 1; sigmoid
        scores are independent per class).
    truncated : tuple of int
        Positions of the texts cut to :data:`MAX_TEXT_CHARS` characters.
    """

    logits: np.ndarray
    scores: np.ndarray
    truncated: tuple[int, ...] = ()


def _validate_texts(texts: Sequence[str]) -> tuple[list[str], tuple[int, ...]]:
    if isinstance(texts, str | bytes):
        raise TypeError(
            f"`texts` must be a sequence of str, not a single {type(texts).__name__}; "
            "wrap one text in a list"
        )
    if not isinstance(texts, Sequence) and not isinstance(texts, np.ndarray):
        raise TypeError(f"`texts` must be a sequence of str; got {type(texts).__name__}")
    out: list[str] = []
    truncated: list[int] = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"`texts[{i}]` must be str; got {type(text).__name__}")
        if len(text) > MAX_TEXT_CHARS:
            text = text[:MAX_TEXT_CHARS]
            truncated.append(i)
        out.append(text)
    return out, tuple(truncated)


class LoadedModel:
    """A loaded SavedModel and its card; call :meth:`predict` from any thread.

    Obtain one with :func:`load_model`. ``predict`` calls the ``serving_default``
    concrete function of the loaded SavedModel (no Keras), which TensorFlow runs safely
    from concurrent threads; the object holds no mutable state after construction.
    """

    def __init__(self, card: ModelCard, saved_model: Any) -> None:
        self._card = card
        self._saved_model = saved_model  # keeps the variables alive
        self._serving = saved_model.signatures["serving_default"]
        self._classify = saved_model.signatures["classification"]

    # -- card shortcuts --------------------------------------------------------------
    @property
    def card(self) -> ModelCard:
        """The validated model card."""
        return self._card

    @property
    def name(self) -> str:
        """Model name (the directory name)."""
        return self._card.name

    @property
    def labels(self) -> tuple[str, ...]:
        """Class names in class-id order."""
        return self._card.labels

    @property
    def task(self) -> str:
        """``"multi-class"`` or ``"multi-label"``."""
        return self._card.task

    @property
    def activation(self) -> str:
        """``"softmax"`` or ``"sigmoid"``."""
        return self._card.activation

    @property
    def thresholds(self) -> tuple[float, ...] | None:
        """Per-class thresholds (multi-label) or None."""
        return self._card.thresholds

    @property
    def reject_threshold(self) -> float | None:
        """Multi-class reject threshold or None."""
        return self._card.reject_threshold

    @property
    def path(self) -> Path:
        """The model directory."""
        return self._card.path

    @property
    def signature(self) -> Any:
        """The concrete function :meth:`predict` calls (here ``serving_default``)."""
        return self._serving

    @property
    def adapter(self) -> AdapterSpec | None:
        """How the signature is read: None for a bundled model (see ``AdaptedModel``)."""
        return None

    @property
    def recovered_logits(self) -> bool:
        """True when logits are recovered from probabilities (never for bundled models)."""
        return False

    def __repr__(self) -> str:
        return f"LoadedModel(name={self.name!r}, task={self.task!r}, n_classes={len(self.labels)})"

    # -- inference -------------------------------------------------------------------
    def predict(self, texts: Sequence[str]) -> Prediction:
        """Logits and scores for each text, from the ``serving_default`` signature.

        Parameters
        ----------
        texts : sequence of str
            Any number of texts (empty and whitespace-only strings are valid). Texts
            longer than :data:`MAX_TEXT_CHARS` characters are truncated to that length.
            Long lists are scored in chunks of :data:`PREDICT_CHUNK_SIZE`.

        Returns
        -------
        Prediction
            ``logits`` and ``scores`` float32 ``[len(texts), C]``; ``truncated`` lists the
            positions of truncated texts.

        Raises
        ------
        TypeError
            ``texts`` is a single string, or an item is not ``str`` (the message gives its
            position).

        Examples
        --------
        >>> model = load_model("banking77")  # doctest: +SKIP
        >>> model.predict(["My card has not arrived yet"]).scores.shape  # doctest: +SKIP
        (1, 77)
        """
        import tensorflow as tf

        clean, truncated = _validate_texts(texts)
        n_classes = len(self._card.labels)
        if not clean:
            empty = np.zeros((0, n_classes), dtype=np.float32)
            return Prediction(logits=empty, scores=empty.copy(), truncated=())
        logits: list[np.ndarray] = []
        scores: list[np.ndarray] = []
        for start in range(0, len(clean), PREDICT_CHUNK_SIZE):
            out = self._serving(text=tf.constant(clean[start : start + PREDICT_CHUNK_SIZE]))
            logits.append(out["logits"].numpy())
            scores.append(out["scores"].numpy())
        if len(logits) == 1:
            return Prediction(logits=logits[0], scores=scores[0], truncated=truncated)
        return Prediction(
            logits=np.concatenate(logits), scores=np.concatenate(scores), truncated=truncated
        )

    def classify_serialized(
        self, serialized_examples: Sequence[bytes]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Run the ``classification`` signature on serialized ``tf.Example`` protos.

        Parameters
        ----------
        serialized_examples : sequence of bytes
            Each a serialized ``tf.train.Example`` with a bytes feature ``text`` (missing
            → empty text).

        Returns
        -------
        classes : ndarray of shape (n, C), dtype object (bytes)
            The labels in class-id order, repeated for each example.
        scores : ndarray of shape (n, C), float32

        Raises
        ------
        TypeError
            An item is not ``bytes`` (the message gives its position).
        ValueError
            An item is not a parseable ``tf.Example``.
        """
        import tensorflow as tf

        if isinstance(serialized_examples, bytes | str):
            raise TypeError("`serialized_examples` must be a sequence of bytes, not one item")
        items = list(serialized_examples)
        for i, item in enumerate(items):
            if not isinstance(item, bytes):
                raise TypeError(
                    f"`serialized_examples[{i}]` must be bytes; got {type(item).__name__}"
                )
        n_classes = len(self._card.labels)
        if not items:
            return np.zeros((0, n_classes), dtype=object), np.zeros((0, n_classes), np.float32)
        try:
            out = self._classify(inputs=tf.constant(items, dtype=tf.string))
        except (tf.errors.InvalidArgumentError, UnicodeDecodeError) as exc:
            # TF's own message echoes the raw bytes (and may itself fail to decode).
            raise ValueError(
                "`serialized_examples` could not be parsed as tf.Example protos "
                "(each item must be a serialized tf.train.Example)"
            ) from exc
        return out["classes"].numpy(), out["scores"].numpy()


def _check_name(name: str, roots: list[Path]) -> None:
    if not isinstance(name, str):
        raise TypeError(f"`name` must be str; got {type(name).__name__}")
    bad = (
        not name.strip()
        or name in (".", "..")
        or "/" in name
        or "\\" in name
        or "\x00" in name
        or Path(name).is_absolute()
        or name.startswith((".", "_"))
    )
    if bad:
        raise ModelLoadError(
            f"cannot load model {name!r}: a model name is a plain directory name under a "
            f"model root (no path separators, '..' or absolute paths). "
            f"{_available(roots)}"
        )


def _available(roots: list[Path]) -> str:
    names = list_models(roots).names
    return f"Available models: {', '.join(names) if names else '(none)'}."


def load_model(name: str, *, roots: Sequence[Path] | None = None) -> LoadedModel:
    """Load the model named ``name`` from the first model root that has it.

    Parameters
    ----------
    name : str
        A model directory name (e.g. ``"banking77"``); never a path.
    roots : sequence of Path, optional
        Model roots in search order (default :func:`cls_core.paths.model_roots`).

    Returns
    -------
    LoadedModel

    Raises
    ------
    ModelLoadError
        Unknown name (the message lists the available models); a name that is a path
        (``..``, separators, absolute); a directory, or any file or directory in it
        (``saved_model.pb``, ``variables/``, ...), that is a symlink resolving outside its
        root; no ``saved_model.pb``; an unreadable or corrupt SavedModel; a missing or
        invalid card; missing signatures; a card whose label count differs from the
        model's output width.
    TypeError
        ``name`` is not a str.
    """
    root_list = _resolve_roots(roots)
    _check_name(name, root_list)
    found = next(
        ((root, root / name) for root in root_list if (root / name).exists()),
        None,
    )
    if found is None:
        raise ModelLoadError(
            f"unknown model {name!r}: no directory of that name under "
            f"{', '.join(str(r) for r in root_list)}. {_available(root_list)}"
        )
    root, path = found
    try:
        card = _check_dir(path, root)
    except ValueError as exc:
        raise ModelLoadError(f"cannot load model {name!r}: {exc}") from exc
    except Exception as exc:  # as list_models: a broken directory is a load error
        raise ModelLoadError(
            f"cannot load model {name!r}: {path} cannot be read ({type(exc).__name__})"
        ) from exc

    import tensorflow as tf

    try:
        saved_model = tf.saved_model.load(str(path))
    except Exception as exc:  # TF raises many kinds for corrupt protos/variables
        raise ModelLoadError(
            f"cannot load model {name!r}: the SavedModel in {path} is unreadable or corrupt "
            f"({type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''})"
        ) from exc
    if card.adapter is not None:
        return _load_adapted(card, saved_model)
    missing = [
        key for key in ("serving_default", "classification") if key not in saved_model.signatures
    ]
    if missing:
        raise ModelLoadError(
            f"cannot load model {name!r}: the SavedModel in {path} lacks signature(s) "
            f"{', '.join(missing)}"
        )
    serving = saved_model.signatures["serving_default"]
    outputs = serving.structured_outputs
    if not isinstance(outputs, dict) or not {"logits", "scores"} <= set(outputs):
        raise ModelLoadError(
            f"cannot load model {name!r}: serving_default must output 'logits' and 'scores'; "
            f"got {sorted(outputs) if isinstance(outputs, dict) else type(outputs).__name__}"
        )
    width = outputs["scores"].shape[-1] if outputs["scores"].shape.rank else None
    if width is None:
        width = int(serving(text=tf.constant([""]))["scores"].shape[-1])
    if width != len(card.labels):
        raise ModelLoadError(
            f"cannot load model {name!r}: the card lists {len(card.labels)} labels but the "
            f"model outputs {width} scores per text"
        )
    return LoadedModel(card, saved_model)


def _load_adapted(card: ModelCard, saved_model: Any) -> LoadedModel:
    """An own model through its adapter, checked against the card on one empty text."""
    from cls_core.modelio.adapters import AdaptedModel

    model = AdaptedModel(card, saved_model)
    try:
        width = model.predict([""]).scores.shape[1]
    except (ValueError, TypeError) as exc:
        raise ModelLoadError(f"cannot load model {card.name!r}: {exc}") from exc
    except Exception as exc:  # the model's own failure, e.g. a wrong feature name
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ModelLoadError(
            f"cannot load model {card.name!r}: calling signature {card.adapter.signature!r} "  # type: ignore[union-attr]
            f"failed ({type(exc).__name__}: {first})"
        ) from exc
    if width != len(card.labels):
        raise ModelLoadError(
            f"cannot load model {card.name!r}: the card lists {len(card.labels)} labels but "
            f"the model outputs {width} scores per text"
        )
    return model
