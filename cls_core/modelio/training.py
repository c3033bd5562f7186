"""Train, evaluate and export the bundled text classifiers.

Three recipes (:data:`RECIPES`) turn the datasets under ``../shared/data`` into model
directories that :mod:`cls_core.modelio.registry` can load:

- ``banking77``: 77 intents, multi-class, softmax. Upstream has no dev split, so a seeded,
  stratified 10 % of train is held out for early stopping.
- ``ekman``: GoEmotions rows whose labels all map (``ekman_mapping.json``; neutral stays
  neutral) to exactly one of 7 groups; multi-class, softmax.
- ``goemotions``: 28 labels, multi-label, sigmoid; one threshold per class chosen on dev
  (the dev score that maximises that class's F1).

The architecture is deliberately small and CPU-friendly: two TF-IDF bags inside the graph
(word uni+bigrams with punctuation stripped, and character 2–5-grams of the lower-cased
text with punctuation kept), concatenated, dropout, one ReLU hidden layer, then a dense
layer producing one logit per class. Early stopping on dev restores the best weights.

Export (:func:`export_saved_model`) writes one SavedModel at the directory root with two
signatures:

- ``serving_default``: ``text`` (string ``[None]``) → ``logits`` and ``scores``
  (float32 ``[None, C]``; scores are the activation applied to the logits);
- ``classification``: ``inputs`` (serialized ``tf.Example`` with a bytes feature ``text``)
  → ``classes`` (string ``[None, C]``, labels in class-id order) and ``scores``; its method
  name is rewritten to ``tensorflow/serving/classify`` with ``MethodNameUpdater``.

The run then writes ``model_card.json`` (labels, thresholds, test metrics, the exact
command, date and seed, dataset credit and demo examples). TensorFlow is imported lazily.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from cls_core.modelio.datasets import (
    TrainingData,
    load_banking77,
    load_ekman,
    load_goemotions,
)

if TYPE_CHECKING:
    import keras

__all__ = [
    "RECIPES",
    "Recipe",
    "TrainedModel",
    "TrainingConfig",
    "best_f1_thresholds",
    "evaluate_scores",
    "export_saved_model",
    "run_recipe",
    "train_model",
]

Task = Literal["multi-class", "multi-label"]
CARD_FILENAME = "model_card.json"


# --------------------------------------------------------------------------------------
# Metrics (numpy only: training runs without scikit-learn)


def _f1_per_class(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Per-column F1 of boolean ``[n, C]`` indicators (0 where precision+recall is 0)."""
    tp = np.sum(y_true & y_pred, axis=0).astype(np.float64)
    fp = np.sum(~y_true & y_pred, axis=0).astype(np.float64)
    fn = np.sum(y_true & ~y_pred, axis=0).astype(np.float64)
    denom = 2 * tp + fp + fn
    return np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)


def evaluate_scores(
    scores: np.ndarray,
    targets: np.ndarray,
    *,
    task: Task,
    thresholds: np.ndarray | None = None,
) -> dict[str, float]:
    """Test metrics as written in the model card.

    Parameters
    ----------
    scores : ndarray of shape (n, C)
        Model scores (softmax or sigmoid outputs).
    targets : ndarray
        Class ids ``[n]`` (multi-class) or multi-hot ``[n, C]`` (multi-label).
    task : {"multi-class", "multi-label"}
        Multi-class: the predicted class is the arg-max. Multi-label: a class fires when
        ``score >= threshold``.
    thresholds : ndarray of shape (C,), optional
        Per-class thresholds (multi-label only). Metrics at 0.5 are always reported.

    Returns
    -------
    dict
        Multi-class: ``accuracy``, ``macro_f1``. Multi-label: ``micro_f1``, ``macro_f1``
        at ``thresholds`` (when given) and ``micro_f1_at_0.5``, ``macro_f1_at_0.5``.
    """
    scores = np.asarray(scores)
    n_classes = scores.shape[1]
    if task == "multi-class":
        pred = np.argmax(scores, axis=1)
        eye = np.eye(n_classes, dtype=bool)
        return {
            "accuracy": float(np.mean(pred == targets)),
            "macro_f1": float(np.mean(_f1_per_class(eye[targets], eye[pred]))),
        }
    truth = np.asarray(targets) > 0.5

    def at(th: np.ndarray) -> tuple[float, float]:
        pred = scores >= th
        tp = float(np.sum(truth & pred))
        denom = 2 * tp + float(np.sum(truth ^ pred))
        micro = 2 * tp / denom if denom > 0 else 0.0
        return micro, float(np.mean(_f1_per_class(truth, pred)))

    out: dict[str, float] = {}
    if thresholds is not None:
        out["micro_f1"], out["macro_f1"] = at(np.asarray(thresholds))
    out["micro_f1_at_0.5"], out["macro_f1_at_0.5"] = at(np.full(n_classes, 0.5))
    return out


def best_f1_thresholds(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per-class threshold maximising F1 on (dev) data, chosen among the observed scores.

    A class fires when ``score >= threshold``. For each class the candidates are its
    distinct scores; ties in F1 go to the highest threshold. A class with no positive
    example gets threshold 1.0.

    Parameters
    ----------
    scores : ndarray of shape (n, C)
    targets : ndarray of shape (n, C)
        Multi-hot indicators.

    Returns
    -------
    ndarray of shape (C,), dtype float32
    """
    scores = np.asarray(scores, dtype=np.float32)
    truth = np.asarray(targets) > 0.5
    out = np.ones(scores.shape[1], dtype=np.float32)
    for c in range(scores.shape[1]):
        n_pos = int(truth[:, c].sum())
        if n_pos == 0:
            continue
        order = np.argsort(-scores[:, c], kind="stable")
        s = scores[order, c]
        tp = np.cumsum(truth[order, c])
        # Only the last index of each run of equal scores is a valid cut (score >= t).
        last = np.r_[s[1:] != s[:-1], True]
        n_pred = np.arange(1, len(s) + 1)
        f1 = 2 * tp / (n_pred + n_pos)
        f1 = np.where(last, f1, -1.0)
        best = np.flatnonzero(f1 == f1.max())[0]
        out[c] = s[best]
    return out


# --------------------------------------------------------------------------------------
# Model


@dataclass(frozen=True, kw_only=True)
class TrainingConfig:
    """Hyperparameters of the TF-IDF → MLP classifier (defaults fit the 10 MB budget)."""

    word_tokens: int = 20_000
    char_tokens: int = 20_000
    char_ngrams: tuple[int, ...] = (2, 3, 4, 5)
    hidden: int = 48
    input_dropout: float = 0.5
    hidden_dropout: float = 0.3
    learning_rate: float = 2e-3
    batch_size: int = 64
    max_epochs: int = 30
    patience: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("word_tokens", "char_tokens", "hidden", "batch_size", "max_epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be >= 1; got {getattr(self, name)}")


@dataclass(frozen=True, kw_only=True)
class TrainedModel:
    """A trained Keras model (text ``[None]`` → logits ``[None, C]``) and its record."""

    model: keras.Model
    labels: tuple[str, ...]
    task: Task
    epochs_run: int
    best_epoch: int
    seconds: float


def _set_seed(seed: int) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def build_model(
    train_texts: Sequence[str], *, n_classes: int, config: TrainingConfig
) -> keras.Model:
    """Build (and adapt the vectorisers of) a text → logits Keras model.

    The input is a rank-1 string tensor; the output is float32 logits ``[None, C]``.
    """
    import keras
    import tensorflow as tf

    texts = tf.constant(list(train_texts), dtype=tf.string)
    words = keras.layers.TextVectorization(
        max_tokens=config.word_tokens, ngrams=2, output_mode="tf_idf", name="word_tfidf"
    )
    chars = keras.layers.TextVectorization(
        max_tokens=config.char_tokens,
        standardize="lower",
        split="character",
        ngrams=config.char_ngrams,
        output_mode="tf_idf",
        name="char_tfidf",
    )
    words.adapt(texts, batch_size=1024)
    chars.adapt(texts, batch_size=1024)

    text_in = keras.Input(shape=(), dtype="string", name="text")
    # Each bag is L2-normalised (as in classic tf-idf pipelines) so long and short texts
    # reach the hidden layer on the same scale.
    features = keras.layers.Concatenate(name="tfidf")(
        [
            keras.layers.UnitNormalization(name="word_l2")(words(text_in)),
            keras.layers.UnitNormalization(name="char_l2")(chars(text_in)),
        ]
    )
    x = keras.layers.Dropout(config.input_dropout, seed=config.seed)(features)
    x = keras.layers.Dense(config.hidden, activation="relu", name="hidden")(x)
    x = keras.layers.Dropout(config.hidden_dropout, seed=config.seed + 1)(x)
    logits = keras.layers.Dense(n_classes, name="logits")(x)
    return keras.Model(text_in, logits, name="tfidf_mlp")


def train_model(
    data: TrainingData,
    *,
    config: TrainingConfig,
    log: Callable[[str], None] = print,
) -> TrainedModel:
    """Fit the model on ``data.train_*`` with early stopping on ``data.dev_*``.

    Multi-class: sparse categorical cross-entropy; multi-label: binary cross-entropy per
    class. The weights of the epoch with the lowest dev loss are restored.
    """
    import keras
    import tensorflow as tf

    _set_seed(config.seed)
    start = time.perf_counter()
    model = build_model(data.train_texts, n_classes=len(data.labels), config=config)
    if data.task == "multi-class":
        loss: keras.losses.Loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    else:
        loss = keras.losses.BinaryCrossentropy(from_logits=True)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=loss)

    def dataset(texts: Sequence[str], targets: np.ndarray, *, shuffle: bool) -> tf.data.Dataset:
        ds = tf.data.Dataset.from_tensor_slices((tf.constant(list(texts)), targets))
        if shuffle:
            ds = ds.shuffle(len(texts), seed=config.seed, reshuffle_each_iteration=True)
        return ds.batch(config.batch_size).prefetch(2)

    stopper = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=config.patience, restore_best_weights=True
    )

    class _Log(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            logs = logs or {}
            log(
                f"epoch {epoch + 1}: loss {logs.get('loss', float('nan')):.4f} "
                f"val_loss {logs.get('val_loss', float('nan')):.4f} "
                f"({time.perf_counter() - start:.0f} s)"
            )

    history = model.fit(
        dataset(data.train_texts, data.train_targets, shuffle=True),
        validation_data=dataset(data.dev_texts, data.dev_targets, shuffle=False),
        epochs=config.max_epochs,
        callbacks=[stopper, _Log()],
        verbose=0,
        shuffle=False,  # the dataset shuffles itself (seeded)
    )
    val_losses = history.history.get("val_loss", [])
    best_epoch = int(np.argmin(val_losses)) + 1 if val_losses else len(val_losses)
    return TrainedModel(
        model=model,
        labels=data.labels,
        task=data.task,
        epochs_run=len(val_losses),
        best_epoch=best_epoch,
        seconds=time.perf_counter() - start,
    )


def predict_logits(model: keras.Model, texts: Sequence[str], *, batch: int = 512) -> np.ndarray:
    """Logits of a Keras text model, by direct calls in batches (no ``Model.predict``)."""
    import tensorflow as tf

    chunks = [
        np.asarray(model(tf.constant(list(texts[i : i + batch])), training=False))
        for i in range(0, len(texts), batch)
    ]
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros((0, 0), np.float32)


def score_saved_model(path: Path, texts: Sequence[str], *, batch: int = 512) -> np.ndarray:
    """Scores ``[n, C]`` from the ``serving_default`` signature of an exported model."""
    import tensorflow as tf

    fn = tf.saved_model.load(str(path)).signatures["serving_default"]
    chunks = [
        fn(text=tf.constant(list(texts[i : i + batch]), dtype=tf.string))["scores"].numpy()
        for i in range(0, len(texts), batch)
    ]
    return np.concatenate(chunks)


def _activation(task: Task) -> Literal["softmax", "sigmoid"]:
    return "softmax" if task == "multi-class" else "sigmoid"


# --------------------------------------------------------------------------------------
# Export


def _idf_weights(layer: Any) -> np.ndarray:
    # Keras keeps the adapted idf vector on the inner lookup layer (no public getter);
    # export_saved_model checks the result against the Keras model, so a change in this
    # private detail fails loudly instead of silently.
    return np.asarray(layer._lookup_layer.idf_weights, dtype=np.float32)


class _SparseGraph:
    """Builds the inference graph of a trained TF-IDF → MLP model with sparse ops.

    The Keras model materialises each text as a dense vector of ~40k TF-IDF features;
    here each text keeps only its non-zero features: token ids → per-text unique ids with
    counts → ``count * idf`` → L2 normalisation per bag → a gather-and-sum of the hidden
    layer's kernel rows. Same numbers, without the dense ``[n, 40k]`` intermediate.
    """

    def __init__(self, model: keras.Model) -> None:
        import keras
        import tensorflow as tf

        self.bags = []
        kernel = np.asarray(model.get_layer("hidden").kernel)
        offset = 0
        for name in ("word_tfidf", "char_tfidf"):
            layer = model.get_layer(name)
            vocab = layer.get_vocabulary()  # index 0 is "[UNK]" in tf_idf mode
            config = layer.get_config()
            config.update(
                output_mode="int",
                ragged=True,
                max_tokens=None,
                pad_to_max_tokens=False,
                vocabulary=None,
                idf_weights=None,
                name=f"{name}_ids",
            )
            ids = keras.layers.TextVectorization.from_config(config)
            ids.set_vocabulary(vocab[1:])  # int mode: 0 = padding, 1 = "[UNK]", 2.. tokens
            size = len(vocab)
            self.bags.append(
                (
                    ids,
                    tf.Variable(_idf_weights(layer), trainable=False, name=f"{name}_idf"),
                    tf.Variable(kernel[offset : offset + size], name=f"{name}_kernel"),
                    size,
                )
            )
            offset += size
        if offset != kernel.shape[0]:
            raise ValueError(f"hidden kernel has {kernel.shape[0]} rows; bags cover {offset}")
        self.hidden_bias = tf.Variable(np.asarray(model.get_layer("hidden").bias), name="b1")
        self.out_kernel = tf.Variable(np.asarray(model.get_layer("logits").kernel), name="w2")
        self.out_bias = tf.Variable(np.asarray(model.get_layer("logits").bias), name="b2")

    def trackables(self) -> list[Any]:
        """Everything the SavedModel must hold."""
        out: list[Any] = [self.hidden_bias, self.out_kernel, self.out_bias]
        for ids, idf, kernel, _ in self.bags:
            out += [ids, idf, kernel]
        return out

    def logits(self, text: Any) -> Any:
        """Float32 logits ``[n, C]`` for a rank-1 string tensor (traced inside tf.function)."""
        import tensorflow as tf

        n = tf.shape(text)[0]
        hidden = tf.zeros([n, tf.shape(self.hidden_bias)[0]], tf.float32) + self.hidden_bias
        for ids, idf, kernel, size in self.bags:
            ragged = ids(text)
            index = ragged.flat_values - 1  # tf_idf index (0 = "[UNK]")
            rows = tf.cast(ragged.value_rowids(), tf.int64)
            keys, position = tf.unique(rows * size + tf.cast(index, tf.int64))
            counts = tf.math.unsorted_segment_sum(
                tf.ones_like(position, tf.float32), position, tf.shape(keys)[0]
            )
            key_rows, key_cols = keys // size, keys % size
            values = counts * tf.gather(idf, key_cols)
            norms = tf.sqrt(tf.math.unsorted_segment_sum(values * values, key_rows, n))
            values = values / tf.gather(tf.maximum(norms, 1e-12), key_rows)
            hidden += tf.math.unsorted_segment_sum(
                tf.gather(kernel, key_cols) * values[:, tf.newaxis], key_rows, n
            )
        return tf.matmul(tf.nn.relu(hidden), self.out_kernel) + self.out_bias


def export_saved_model(
    model: keras.Model,
    out_dir: Path,
    *,
    labels: Sequence[str],
    task: Task,
    check_texts: Sequence[str] = (),
) -> None:
    """Write a SavedModel with ``serving_default`` and ``classification`` signatures.

    The exported graph computes the same logits as ``model`` with sparse ops
    (see :class:`_SparseGraph`); it is checked against the Keras model on
    ``check_texts`` plus a few edge cases (empty, whitespace, unknown words).

    Parameters
    ----------
    model : keras.Model
        A model from :func:`build_model`: text ``[None]`` (string) → logits ``[None, C]``.
    out_dir : Path
        Created (must not exist yet); the SavedModel sits at its root.
    labels : sequence of str
        Class names in class-id order; ``classes`` output of ``classification``.
    task : {"multi-class", "multi-label"}
        Softmax scores for multi-class, sigmoid for multi-label.
    check_texts : sequence of str
        Extra texts for the equality check.

    Raises
    ------
    FileExistsError
        ``out_dir`` exists.
    RuntimeError
        The exported graph's logits differ from the Keras model's by more than 1e-4.
    """
    import tensorflow as tf

    out_dir = Path(out_dir)
    if out_dir.exists():
        raise FileExistsError(f"export directory already exists: {out_dir}")
    labels = [str(label) for label in labels]
    activation = tf.nn.softmax if task == "multi-class" else tf.math.sigmoid
    class_names = tf.constant(labels, dtype=tf.string)
    graph = _SparseGraph(model)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")], autograph=False)
    def serving_default(text: tf.Tensor) -> dict[str, tf.Tensor]:
        logits = graph.logits(text)
        return {"logits": logits, "scores": activation(logits)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")], autograph=False)
    def classification(inputs: tf.Tensor) -> dict[str, tf.Tensor]:
        parsed = tf.io.parse_example(
            inputs, {"text": tf.io.FixedLenFeature([], tf.string, default_value="")}
        )
        scores = activation(graph.logits(parsed["text"]))
        classes = tf.tile(class_names[tf.newaxis, :], [tf.shape(scores)[0], 1])
        return {"classes": classes, "scores": scores}

    probe = [*check_texts, "", "   ", "zzzqx vvvkw", "Hello! How are you?", "a " * 300]
    want = predict_logits(model, probe)
    got = serving_default(tf.constant(probe))["logits"].numpy()
    if not np.allclose(got, want, atol=1e-4, rtol=1e-4):
        raise RuntimeError(
            "exported graph disagrees with the Keras model: max |Δlogit| = "
            f"{np.max(np.abs(got - want)):.3g}"
        )

    # A plain tf.Module (not keras.export.ExportArchive, which stores every weight twice).
    module = tf.Module()
    module.parts = graph.trackables()
    module.serving_default = serving_default
    module.classification = classification
    tf.saved_model.save(
        module,
        str(out_dir),
        signatures={"serving_default": serving_default, "classification": classification},
    )

    # tf.saved_model.save always writes tensorflow/serving/predict; TF Serving's classify
    # API needs the classify method name on this signature. Rewrite it in place.
    updater = tf.compat.v1.saved_model.signature_def_utils.MethodNameUpdater(str(out_dir))
    updater.replace_method_name(
        signature_key="classification",
        method_name=tf.saved_model.CLASSIFY_METHOD_NAME,
        tags="serve",
    )
    updater.save()


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# --------------------------------------------------------------------------------------
# Recipes

_GOEMOTIONS_CREDIT = {
    "name": "GoEmotions",
    "source": "https://github.com/google-research/google-research/tree/master/goemotions",
    "license": "CC BY 4.0",
    "attribution": (
        "Demszky, Movshovitz-Attias, Ko, Cowen, Nemade, Ravi. GoEmotions: A Dataset of "
        "Fine-Grained Emotions. ACL 2020."
    ),
}

# Written by the project for the app's presets (not taken from the datasets). The two
# emotion models share them so the app can compare softmax and sigmoid on one text.
_EMOTION_EXAMPLES = (
    "Thank you so much, this is exactly what I needed today!",
    "I can't believe they cancelled the show again. This is so frustrating.",
    "Wow, I had no idea octopuses have three hearts!",
    "I'm really nervous about my exam tomorrow.",
    "I miss my grandmother every single day.",
    "Congratulations on the new job, I'm so proud of you, but I'll miss working with you.",
    "The meeting has been moved to 3pm on Thursday.",
    "That smell in the fridge is absolutely revolting.",
)

_BANKING_EXAMPLES = (
    "I ordered my new card two weeks ago and it still hasn't arrived.",
    "Why was I charged a fee for withdrawing cash at the ATM?",
    "My top-up didn't go through, what happened?",
    "I think someone has stolen my card and is using it.",
    "How do I change the PIN on my card?",
    "What exchange rate do you use when I pay in euros?",
    "I want to close my account.",
    "Hello, can you help me?",
)


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """How to train one bundled model."""

    name: str
    title: str
    load: Callable[[Path, int], TrainingData]
    dataset: dict[str, str]
    examples: tuple[str, ...]
    config: TrainingConfig
    description: str


RECIPES: dict[str, Recipe] = {
    "banking77": Recipe(
        name="banking77",
        title="Banking77 intents (softmax, 77 classes)",
        load=lambda data_dir, seed: load_banking77(data_dir, seed=seed),
        dataset={
            "name": "Banking77",
            "source": "https://github.com/PolyAI-LDN/task-specific-datasets",
            "license": "CC BY 4.0",
            "attribution": (
                "Casanueva, Temčinas, Gerz, Henderson, Vulić. Efficient Intent Detection "
                "with Dual Sentence Encoders. NLP4ConvAI workshop, ACL 2020."
            ),
        },
        examples=_BANKING_EXAMPLES,
        config=TrainingConfig(),
        description="Online-banking customer queries → one of 77 intents.",
    ),
    "ekman": Recipe(
        name="ekman",
        title="Ekman emotions (softmax, 7 classes)",
        load=lambda data_dir, seed: load_ekman(data_dir),
        dataset=dict(_GOEMOTIONS_CREDIT, name="GoEmotions (Ekman grouping)"),
        examples=_EMOTION_EXAMPLES,
        config=TrainingConfig(),
        description=(
            "Reddit comments → one of 6 Ekman emotions or neutral; rows whose labels span "
            "several groups are left out."
        ),
    ),
    "goemotions": Recipe(
        name="goemotions",
        title="GoEmotions (sigmoid, 28 labels)",
        load=lambda data_dir, seed: load_goemotions(data_dir),
        dataset=_GOEMOTIONS_CREDIT,
        examples=_EMOTION_EXAMPLES,
        config=TrainingConfig(),
        description="Reddit comments → any of 27 emotions plus neutral (multi-label).",
    ),
}


def run_recipe(
    name: str,
    *,
    data_dir: Path,
    out_dir: Path,
    seed: int = 0,
    command: str,
    config: TrainingConfig | None = None,
    overwrite: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train, evaluate, export one recipe and write its model card; return the card.

    The export goes to a sibling temporary directory first and replaces ``out_dir`` only
    once the SavedModel and the card are complete.

    Raises
    ------
    KeyError
        ``name`` is not a recipe.
    FileNotFoundError
        A dataset file is missing.
    FileExistsError
        ``out_dir`` exists and ``overwrite`` is False.
    """
    if name not in RECIPES:
        raise KeyError(f"unknown model {name!r}; choose from {sorted(RECIPES)}")
    recipe = RECIPES[name]
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise FileExistsError(f"output directory already exists: {out_dir}")
    config = config or recipe.config
    if config.seed != seed:
        config = TrainingConfig(**{**asdict(config), "seed": seed})

    data = recipe.load(Path(data_dir), seed)
    log(
        f"{name}: {len(data.train_texts)} train / {len(data.dev_texts)} dev / "
        f"{len(data.test_texts)} test, {len(data.labels)} classes"
    )
    trained = train_model(data, config=config, log=log)

    tmp_dir = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")
    if tmp_dir.exists():
        shutil.rmtree(tmp_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        export_saved_model(
            trained.model,
            tmp_dir,
            labels=data.labels,
            task=data.task,
            check_texts=data.dev_texts[:256],
        )
        # Thresholds and metrics come from the exported signature itself, so the card
        # describes exactly what `cls_core.modelio.registry.load_model` will serve.
        dev_scores = score_saved_model(tmp_dir, data.dev_texts)
        test_scores = score_saved_model(tmp_dir, data.test_texts)
        activation = _activation(data.task)
        thresholds = (
            None if data.task == "multi-class" else best_f1_thresholds(dev_scores, data.dev_targets)
        )
        test_metrics = evaluate_scores(
            test_scores, data.test_targets, task=data.task, thresholds=thresholds
        )
        dev_metrics = evaluate_scores(
            dev_scores, data.dev_targets, task=data.task, thresholds=thresholds
        )
        log(f"{name}: dev {dev_metrics}")
        log(f"{name}: test {test_metrics}")
        card: dict[str, Any] = {
            "name": name,
            "title": recipe.title,
            "description": recipe.description,
            "task": data.task,
            "activation": activation,
            "labels": list(data.labels),
            "thresholds": None if thresholds is None else [float(t) for t in thresholds],
            "threshold_rule": (
                "a class fires when score >= its threshold; thresholds maximise each "
                "class's F1 on the dev split"
                if thresholds is not None
                else None
            ),
            "reject_threshold": None,
            "examples": list(recipe.examples),
            "dataset": dict(recipe.dataset, splits=_split_note(data)),
            "metrics": {
                "split": "test",
                "n_examples": len(data.test_texts),
                **test_metrics,
                "dev": dev_metrics,
            },
            "training": {
                "command": command,
                "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                "seed": seed,
                "seconds": round(trained.seconds, 1),
                "epochs_run": trained.epochs_run,
                "best_epoch": trained.best_epoch,
                "architecture": (
                    "word uni+bigram TF-IDF ⊕ char n-gram TF-IDF → dropout → "
                    "dense ReLU → dense logits"
                ),
                "config": {
                    k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()
                },
                "tensorflow": _versions(),
                "platform": platform.platform(),
            },
            "signatures": {
                "serving_default": "text (string [None]) → logits, scores (float32 [None, C])",
                "classification": (
                    "inputs (serialized tf.Example, bytes feature 'text') → classes "
                    "(string [None, C]), scores (float32 [None, C]); method "
                    "tensorflow/serving/classify"
                ),
            },
        }
        # Size of the SavedModel itself (the card adds a few kB).
        size_bytes = _dir_bytes(tmp_dir)
        card["size_bytes"] = size_bytes
        (tmp_dir / CARD_FILENAME).write_text(
            json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp_dir.rename(out_dir)
    finally:
        if tmp_dir.exists():
            shutil.rmtree(tmp_dir)
    log(f"{name}: wrote {out_dir} ({size_bytes / 1e6:.1f} MB)")
    return card


def _split_note(data: TrainingData) -> dict[str, Any]:
    return {
        "train": len(data.train_texts),
        "dev": len(data.dev_texts),
        "test": len(data.test_texts),
        **data.notes,
    }


def _versions() -> dict[str, str]:
    import keras
    import tensorflow as tf

    return {"tensorflow": tf.__version__, "keras": keras.__version__}
