"""The datasets the bundled models are trained and evaluated on, read from ``../shared/data``.

Readers only (TensorFlow-free): training (:mod:`cls_core.modelio.training`),
the bundled evaluation splits of the threshold-tuning page
(:mod:`cls_core.evaluation.demo_data`) and the tests read the same rows through these
functions, so the page evaluates on exactly the rows the model cards report.

- Banking77 (``banking77/train.csv``, ``test.csv``): 77 intents, multi-class.
- GoEmotions (``goemotions/{train,dev,test}.tsv``, ``categories.json``): 28 labels,
  multi-label; ``ekman_mapping.json`` groups them into Ekman's 6 + neutral.

Both are CC BY 4.0; see each folder's SOURCE.md.
"""

from __future__ import annotations

import csv
import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from cls_core.paths import data_dir

__all__ = [
    "EKMAN_LABELS",
    "TrainingData",
    "bundled_eval_splits",
    "ekman_group_of",
    "load_banking77",
    "load_ekman",
    "load_goemotions",
    "read_banking77_csv",
    "read_goemotions_split",
]

Task = Literal["multi-class", "multi-label"]
EKMAN_LABELS: tuple[str, ...] = (
    "anger",
    "disgust",
    "fear",
    "joy",
    "sadness",
    "surprise",
    "neutral",
)


# --------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True, kw_only=True)
class TrainingData:
    """Texts and targets for one task, already split.

    Targets are class ids (int64 ``[n]``) for multi-class tasks and multi-hot indicators
    (float32 ``[n, C]``) for multi-label tasks; ``labels`` gives the class-id order.
    """

    name: str
    task: Task
    labels: tuple[str, ...]
    train_texts: tuple[str, ...]
    train_targets: np.ndarray
    dev_texts: tuple[str, ...]
    dev_targets: np.ndarray
    test_texts: tuple[str, ...]
    test_targets: np.ndarray
    notes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in ("multi-class", "multi-label"):
            raise ValueError(f"`task` must be 'multi-class' or 'multi-label'; got {self.task!r}")
        n_classes = len(self.labels)
        for split in ("train", "dev", "test"):
            texts = getattr(self, f"{split}_texts")
            targets = getattr(self, f"{split}_targets")
            want = (len(texts),) if self.task == "multi-class" else (len(texts), n_classes)
            if targets.shape != want:
                raise ValueError(
                    f"`{split}_targets` must have shape {want} for {len(texts)} texts; "
                    f"got {targets.shape}"
                )


def read_banking77_csv(path: Path) -> tuple[list[str], list[str]]:
    """Texts (stripped: some start with a newline) and categories of a Banking77 CSV."""
    texts: list[str] = []
    categories: list[str] = []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            texts.append(row["text"].strip())
            categories.append(row["category"].strip())
    return texts, categories


def _require(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"dataset file not found: {path}")
    return path


def load_banking77(data_dir: Path, *, seed: int = 0, dev_fraction: float = 0.1) -> TrainingData:
    """Banking77 with a seeded, stratified dev split held out of train.

    Parameters
    ----------
    data_dir : Path
        The directory holding ``banking77/`` (``train.csv``, ``test.csv``,
        ``categories.json``).
    seed : int
        Seed of the dev hold-out.
    dev_fraction : float
        Fraction of each class's training rows held out (at least one row per class).

    Returns
    -------
    TrainingData
        Multi-class targets in ``categories.json`` order.
    """
    root = Path(data_dir) / "banking77"
    labels = tuple(json.loads(_require(root / "categories.json").read_text(encoding="utf-8")))
    index = {label: i for i, label in enumerate(labels)}
    train_texts, train_cats = read_banking77_csv(_require(root / "train.csv"))
    test_texts, test_cats = read_banking77_csv(_require(root / "test.csv"))
    train_y = np.array([index[c] for c in train_cats], dtype=np.int64)
    test_y = np.array([index[c] for c in test_cats], dtype=np.int64)

    rng = np.random.default_rng(seed)
    dev_mask = np.zeros(len(train_y), dtype=bool)
    for c in range(len(labels)):
        rows = np.flatnonzero(train_y == c)
        n_dev = max(1, round(dev_fraction * len(rows)))
        dev_mask[rng.choice(rows, size=n_dev, replace=False)] = True
    all_texts = np.array(train_texts, dtype=object)
    return TrainingData(
        name="banking77",
        task="multi-class",
        labels=labels,
        train_texts=tuple(all_texts[~dev_mask]),
        train_targets=train_y[~dev_mask],
        dev_texts=tuple(all_texts[dev_mask]),
        dev_targets=train_y[dev_mask],
        test_texts=tuple(test_texts),
        test_targets=test_y,
        notes={"dev_split": f"stratified {dev_fraction:.0%} of train per class, seed {seed}"},
    )


def _read_goemotions_tsv(path: Path) -> tuple[list[str], list[list[int]]]:
    texts: list[str] = []
    ids: list[list[int]] = []
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                raise ValueError(f"{path}:{line_no}: expected 3 tab-separated fields")
            texts.append(parts[0])
            ids.append([int(i) for i in parts[1].split(",")])
    return texts, ids


def _goemotions_labels(root: Path) -> tuple[str, ...]:
    text = _require(root / "emotions.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def load_goemotions(data_dir: Path) -> TrainingData:
    """GoEmotions (28 labels, multi-hot) with its upstream train/dev/test splits.

    Texts are kept as written in the TSV (``[NAME]`` masks included).
    """
    root = Path(data_dir) / "goemotions"
    labels = _goemotions_labels(root)
    splits: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}
    for split in ("train", "dev", "test"):
        texts, ids = _read_goemotions_tsv(_require(root / f"{split}.tsv"))
        y = np.zeros((len(texts), len(labels)), dtype=np.float32)
        for row, row_ids in enumerate(ids):
            y[row, row_ids] = 1.0
        splits[split] = (tuple(texts), y)
    return TrainingData(
        name="goemotions",
        task="multi-label",
        labels=labels,
        train_texts=splits["train"][0],
        train_targets=splits["train"][1],
        dev_texts=splits["dev"][0],
        dev_targets=splits["dev"][1],
        test_texts=splits["test"][0],
        test_targets=splits["test"][1],
    )


def ekman_group_of(root: Path, go_labels: Sequence[str]) -> dict[str, str]:
    """GoEmotions label → Ekman group, from ``root/ekman_mapping.json`` (neutral → neutral).

    Raises
    ------
    ValueError
        A GoEmotions label the mapping does not cover.
    """
    mapping = json.loads(_require(root / "ekman_mapping.json").read_text(encoding="utf-8"))
    group_of = {"neutral": "neutral"}
    for group, members in mapping.items():
        for member in members:
            group_of[member] = group
    missing = [label for label in go_labels if label not in group_of]
    if missing:
        raise ValueError(f"ekman_mapping.json does not map {missing}")
    return group_of


def read_goemotions_split(
    root: Path, split: str, *, ekman: bool = False
) -> tuple[list[str], list[tuple[str, ...]]]:
    """Texts and label names of one GoEmotions split, exactly as training reads it.

    With ``ekman=True``, only rows whose labels all map to one Ekman group are kept, each
    labelled with that single group (the ``ekman`` model's data).
    """
    go_labels = _goemotions_labels(root)
    texts, ids = _read_goemotions_tsv(_require(root / f"{split}.tsv"))
    names = [tuple(go_labels[i] for i in row) for row in ids]
    if not ekman:
        return texts, names
    group_of = ekman_group_of(root, go_labels)
    kept_texts: list[str] = []
    kept_names: list[tuple[str, ...]] = []
    for text, row in zip(texts, names, strict=True):
        groups = {group_of[label] for label in row}
        if len(groups) == 1:
            kept_texts.append(text)
            kept_names.append((groups.pop(),))
    return kept_texts, kept_names


def load_ekman(data_dir: Path) -> TrainingData:
    """GoEmotions rows whose labels all fall in exactly one Ekman group (7 classes).

    ``ekman_mapping.json`` maps each of the 27 emotions to one of six groups; ``neutral``
    is its own group. Rows whose labels span two or more groups are dropped.
    """
    root = Path(data_dir) / "goemotions"
    go_labels = _goemotions_labels(root)
    group_of = ekman_group_of(root, go_labels)
    index = {label: i for i, label in enumerate(EKMAN_LABELS)}
    splits: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}
    kept: dict[str, str] = {}
    for split in ("train", "dev", "test"):
        texts, ids = _read_goemotions_tsv(_require(root / f"{split}.tsv"))
        out_texts: list[str] = []
        out_y: list[int] = []
        for text, row_ids in zip(texts, ids, strict=True):
            groups = {group_of[go_labels[i]] for i in row_ids}
            if len(groups) == 1:
                out_texts.append(text)
                out_y.append(index[groups.pop()])
        splits[split] = (tuple(out_texts), np.array(out_y, dtype=np.int64))
        kept[split] = f"{len(out_texts)} of {len(texts)} rows"
    return TrainingData(
        name="ekman",
        task="multi-class",
        labels=EKMAN_LABELS,
        train_texts=splits["train"][0],
        train_targets=splits["train"][1],
        dev_texts=splits["dev"][0],
        dev_targets=splits["dev"][1],
        test_texts=splits["test"][0],
        test_targets=splits["test"][1],
        notes={"rows_kept": kept, "rule": "all labels map to exactly one Ekman group"},
    )


# --------------------------------------------------------------------------------------
# The bundled models' evaluation splits, as the threshold-tuning page offers them


def _goemotions_split(path: Path, *, ekman: bool) -> pd.DataFrame:
    # the very reader and Ekman rule the training run used, so the page evaluates on the
    # same rows the model card reports
    texts, names = read_goemotions_split(path.parent, path.stem, ekman=ekman)
    return pd.DataFrame({"text": texts, "label": [";".join(row) for row in names]})


def _banking77_split(path: Path) -> pd.DataFrame:
    texts, categories = read_banking77_csv(path)
    return pd.DataFrame({"text": texts, "label": categories})


def bundled_eval_splits(model_name: str) -> dict[str, Callable[[], pd.DataFrame]]:
    """Loaders for the real evaluation splits of a bundled model's dataset, when present.

    Returns
    -------
    dict
        Split name → a zero-argument loader returning a DataFrame with ``text`` and
        ``label`` (``;``-joined for goemotions). Empty when the dataset directory lacks the
        files. goemotions/ekman: "dev" and "test" (ekman keeps rows whose GoEmotions labels
        map to exactly one Ekman group, neutral included); banking77: "test".
    """
    root = data_dir()
    out: dict[str, Callable[[], pd.DataFrame]] = {}
    if model_name in ("goemotions", "ekman"):
        base = root / "goemotions"
        needed = ["emotions.txt"] + (["ekman_mapping.json"] if model_name == "ekman" else [])
        if all((base / n).is_file() for n in needed):
            for split in ("dev", "test"):
                path = base / f"{split}.tsv"
                if path.is_file():
                    out[split] = functools.partial(
                        _goemotions_split, path, ekman=model_name == "ekman"
                    )
    elif model_name == "banking77":
        path = root / "banking77" / "test.csv"
        if path.is_file():
            out["test"] = functools.partial(_banking77_split, path)
    else:
        raise ValueError(
            f"`model_name` must be one of banking77, ekman, goemotions; got {model_name!r}"
        )
    return out
