"""Adapters: call any text-classifier SavedModel signature as if it were a bundled model.

A bundled model exports ``serving_default`` (``text`` → ``logits``, ``scores``). Real
exports differ: another signature name, a Keras-chosen input name, one ``output_0`` holding
probabilities, a classify signature fed serialized ``tf.Example`` protos, a binary model
with one sigmoid column. An :class:`AdapterSpec` says how to call one of them, and
:class:`AdaptedModel` does it, returning the same :class:`~cls_core.modelio.registry.Prediction`
(``logits`` and ``scores``, ``[n, C]``) as a bundled model.

How the chosen output becomes logits and scores (``output_kind``):

- ``"logits"``: the output is the logits; scores are ``softmax`` (multi-class) or
  ``sigmoid`` (multi-label) of them.
- ``"softmax"``: the output is probabilities summing to 1; they are the scores, exactly,
  and the logits are *recovered* as ``log(p)`` (softmax logits are defined up to a
  constant per row, so this loses nothing).
- ``"sigmoid"``: independent probabilities; they are the scores, exactly, and the logits
  are recovered as ``log(p / (1 - p))``.
- A binary model (``binary=True``: one column, ``[n, 1]``) is shown as two classes
  ``(negative, positive)``: scores ``[1 - p, p]`` and logits ``[0, z]`` (``z`` the model's
  logit, or ``log(p / (1 - p))``), so ``softmax(logits) == scores``.

Clipping: before taking logs, probabilities are clipped to ``[PROB_CLIP, 1 - PROB_CLIP]``
(``PROB_CLIP = 1e-7``, about the float32 resolution near 1), so recovered logits stay
finite: ``|z| <= 16.12`` for sigmoid, ``log p >= -16.12`` for softmax. Only the recovered
logits are clipped; ``scores`` are the model's own values.

The API the rest of the package (and exporters built on it) rely on: a loaded model
(:class:`AdaptedModel`, like the bundled :class:`~cls_core.modelio.registry.LoadedModel`)
exposes ``labels``, ``task``, ``activation``, ``predict(texts) -> Prediction`` and
``signature`` (the underlying callable concrete function), plus ``adapter`` (the spec).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np

from cls_core.errors import ModelLoadError
from cls_core.modelio.registry import (
    PREDICT_CHUNK_SIZE,
    LoadedModel,
    ModelCard,
    Prediction,
    _validate_texts,
)
from cls_core.scoring.activations import sigmoid, softmax

__all__ = [
    "OUTPUT_KINDS",
    "PROB_CLIP",
    "AdaptedModel",
    "AdapterSpec",
    "logits_and_scores",
    "run_signature",
    "serialize_examples",
]

OutputKind = Literal["logits", "softmax", "sigmoid"]
#: What the chosen output holds.
OUTPUT_KINDS: Final[tuple[str, ...]] = ("logits", "softmax", "sigmoid")
#: Probabilities are clipped to [PROB_CLIP, 1 - PROB_CLIP] before logits are recovered.
PROB_CLIP: Final = 1e-7


@dataclass(frozen=True, kw_only=True)
class AdapterSpec:
    """How to call one signature of a SavedModel as a text classifier.

    Stored as the ``adapter`` object of a ``model_card.json``; :meth:`to_dict` and
    :meth:`from_dict` convert.

    Attributes
    ----------
    signature : str
        The signature key (e.g. ``"serving_default"``).
    input : str
        The signature's input key that receives the texts (DT_STRING).
    feature : str or None
        For signatures fed serialized ``tf.Example`` protos: the bytes feature holding the
        text. None when the input takes raw strings.
    output : str
        The output key holding the classifier's logits or probabilities.
    output_kind : {"logits", "softmax", "sigmoid"}
        What ``output`` holds (see the module docstring).
    binary : bool
        ``output`` has one column (``[n, 1]`` or ``[n]``): shown as two classes.
    multi_label : bool
        Logits only: scores are ``sigmoid`` (independent classes) instead of ``softmax``.
    classes_output : str or None
        A classify signature's string ``classes`` output (read for the labels), or None.
    evidence : tuple of str
        How each choice was made, in words (shown by ``cls-explorer card`` and the app).
    notes : tuple of str
        Things the user should know (recovered logits, placeholder labels, ...).
    """

    signature: str
    input: str
    feature: str | None
    output: str
    output_kind: str
    binary: bool = False
    multi_label: bool = False
    classes_output: str | None = None
    evidence: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for key in ("signature", "input", "output"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value:
                raise ValueError(f"adapter `{key}` must be a non-empty string; got {value!r}")
        for key in ("feature", "classes_output"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"adapter `{key}` must be a non-empty string or null")
        if self.output_kind not in OUTPUT_KINDS:
            raise ValueError(
                f"adapter `output_kind` must be one of {', '.join(OUTPUT_KINDS)}; "
                f"got {self.output_kind!r}"
            )
        for key in ("binary", "multi_label"):
            if not isinstance(getattr(self, key), bool):
                raise ValueError(f"adapter `{key}` must be true or false")
        if self.multi_label and (self.binary or self.output_kind == "softmax"):
            raise ValueError(
                "adapter `multi_label` needs several independent columns: not with "
                "softmax probabilities or a binary output"
            )

    @property
    def task(self) -> str:
        """``"multi-label"`` (sigmoid scores over several columns) or ``"multi-class"``."""
        if self.binary:
            return "multi-class"
        if self.output_kind == "sigmoid" or self.multi_label:
            return "multi-label"
        return "multi-class"

    @property
    def activation(self) -> str:
        """``"softmax"`` for multi-class (binary included), ``"sigmoid"`` for multi-label."""
        return "sigmoid" if self.task == "multi-label" else "softmax"

    @property
    def recovered_logits(self) -> bool:
        """True when the model returns probabilities and the logits are recovered."""
        return self.output_kind != "logits"

    def to_dict(self) -> dict[str, Any]:
        """The JSON object stored under ``adapter`` in a model card."""
        return {
            "signature": self.signature,
            "input": self.input,
            "feature": self.feature,
            "output": self.output,
            "output_kind": self.output_kind,
            "binary": self.binary,
            "multi_label": self.multi_label,
            "classes_output": self.classes_output,
            "evidence": list(self.evidence),
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, raw: Any) -> AdapterSpec:
        """Validate a card's ``adapter`` object.

        Raises
        ------
        ValueError
            Not an object, a required key (``signature``, ``input``, ``output``,
            ``output_kind``) missing, or a value of the wrong kind (named in the message).
        """
        if not isinstance(raw, dict):
            raise ValueError(f"`adapter` must be an object; got {type(raw).__name__}")
        missing = [k for k in ("signature", "input", "output", "output_kind") if k not in raw]
        if missing:
            raise ValueError(f"`adapter` lacks {', '.join(missing)}")
        unknown = sorted(set(raw) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"`adapter` has unknown key(s) {', '.join(unknown)}")
        texts: dict[str, tuple[str, ...]] = {}
        for key in ("evidence", "notes"):
            value = raw.get(key, [])
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                raise ValueError(f"adapter `{key}` must be a list of strings")
            texts[key] = tuple(value)
        return cls(
            signature=raw["signature"],
            input=raw["input"],
            feature=raw.get("feature"),
            output=raw["output"],
            output_kind=raw["output_kind"],
            binary=raw.get("binary", False),
            multi_label=raw.get("multi_label", False),
            classes_output=raw.get("classes_output"),
            evidence=texts["evidence"],
            notes=texts["notes"],
        )


def serialize_examples(texts: Sequence[str], feature: str) -> list[bytes]:
    """Each text as a serialized ``tf.train.Example`` with one bytes feature ``feature``."""
    from tensorflow.core.example import example_pb2

    out: list[bytes] = []
    for text in texts:
        example = example_pb2.Example()
        example.features.feature[feature].bytes_list.value.append(text.encode("utf-8"))
        out.append(example.SerializeToString())
    return out


def run_signature(signature: Any, spec: AdapterSpec, texts: Sequence[str]) -> dict[str, Any]:
    """Call ``signature`` on ``texts`` as ``spec`` says; return every output as numpy.

    Raw strings go to ``spec.input`` as a ``[n]`` DT_STRING tensor; with ``spec.feature``
    set, each text is first wrapped in a serialized ``tf.Example``. Nothing is converted:
    the outputs are exactly what the signature returns.
    """
    import tensorflow as tf

    items: Sequence[str] | list[bytes] = texts
    if spec.feature is not None:
        items = serialize_examples(texts, spec.feature)
    out = signature(**{spec.input: tf.constant(list(items), dtype=tf.string)})
    return {key: value.numpy() for key, value in out.items()}


def _clip(p: np.ndarray) -> np.ndarray:
    return np.clip(p.astype(np.float64), PROB_CLIP, 1.0 - PROB_CLIP)


def logits_and_scores(raw: Any, spec: AdapterSpec) -> tuple[np.ndarray, np.ndarray]:
    """The chosen output → (logits, scores), each float32 ``[n, C]`` (see module docstring).

    Parameters
    ----------
    raw : array-like of shape (n, C), (n, 1) or (n,)
        The signature's ``spec.output`` as returned.
    spec : AdapterSpec

    Raises
    ------
    ValueError
        ``raw`` is not 1-D or 2-D, or a binary spec gets more than one column.
    """
    values = np.asarray(raw)
    if values.ndim == 1:
        values = values[:, np.newaxis]
    if values.ndim != 2:
        raise ValueError(f"output `{spec.output}` must have shape (n, C); got shape {values.shape}")
    if spec.binary:
        if values.shape[1] != 1:
            raise ValueError(
                f"output `{spec.output}` is marked binary but has {values.shape[1]} columns"
            )
        column = values[:, 0].astype(np.float64)
        if spec.output_kind == "logits":
            z = column
            p = sigmoid(z)
        else:
            p = column
            clipped = _clip(p)
            z = np.log(clipped / (1.0 - clipped))
        logits = np.stack([np.zeros_like(z), z], axis=1)
        scores = np.stack([1.0 - p, p], axis=1)
        return logits.astype(np.float32), scores.astype(np.float32)
    if spec.output_kind == "logits":
        logits = values.astype(np.float32)
        scores = sigmoid(logits) if spec.multi_label else softmax(logits)
        return logits, np.asarray(scores, dtype=np.float32)
    scores = values.astype(np.float32)
    clipped = _clip(values)
    if spec.output_kind == "softmax":
        recovered = np.log(clipped)
    else:
        recovered = np.log(clipped / (1.0 - clipped))
    return recovered.astype(np.float32), scores


class AdaptedModel(LoadedModel):
    """A SavedModel of any layout, called through its :class:`AdapterSpec`.

    Same interface as :class:`~cls_core.modelio.registry.LoadedModel` (``card``,
    ``labels``, ``task``, ``activation``, ``thresholds``, ``predict``), plus:

    - ``adapter``: the :class:`AdapterSpec` (which signature, input, output, and how its
      values become logits and scores);
    - ``signature``: the concrete function called (the callable an exporter wraps);
    - ``recovered_logits``: True when the logits are recovered from probabilities.

    Obtain one with :func:`cls_core.modelio.registry.load_model`; it holds no mutable state
    and may be called from several threads.
    """

    def __init__(self, card: ModelCard, saved_model: Any) -> None:
        if card.adapter is None:
            raise ValueError("`card` must have an adapter to build an AdaptedModel")
        spec: AdapterSpec = card.adapter
        self._card = card
        self._saved_model = saved_model
        signatures = saved_model.signatures
        if spec.signature not in signatures:
            raise ModelLoadError(
                f"cannot load model {card.name!r}: the card's adapter names signature "
                f"{spec.signature!r}; the SavedModel has {', '.join(sorted(signatures))}"
            )
        self._signature = signatures[spec.signature]
        self._serving = self._signature
        self._classify = None
        self._spec = spec
        _, kwargs = self._signature.structured_input_signature
        outputs = self._signature.structured_outputs
        for what, key, keys in (
            ("input", spec.input, sorted(kwargs)),
            ("output", spec.output, sorted(outputs)),
        ):
            if key not in keys:
                raise ModelLoadError(
                    f"cannot load model {card.name!r}: signature {spec.signature!r} has no "
                    f"{what} {key!r}; its {what}s are {', '.join(keys)}"
                )

    @property
    def adapter(self) -> AdapterSpec:
        """How the signature is called and read."""
        return self._spec

    @property
    def signature(self) -> Any:
        """The underlying concrete function (``saved_model.signatures[adapter.signature]``)."""
        return self._signature

    @property
    def recovered_logits(self) -> bool:
        """True when the model returns probabilities and the logits are recovered."""
        return self._spec.recovered_logits

    def run(self, texts: Sequence[str]) -> dict[str, Any]:
        """Every output of the signature for ``texts``, unconverted (see :func:`run_signature`)."""
        clean, _ = _validate_texts(texts)
        return run_signature(self._signature, self._spec, clean)

    def predict(self, texts: Sequence[str]) -> Prediction:
        """Logits and scores for each text through the adapter (see the module docstring).

        ``scores`` are the model's own values (binary: ``[1 - p, p]``) when it returns
        probabilities; ``logits`` are recovered from them (clipped at :data:`PROB_CLIP`).
        Same input rules as :meth:`LoadedModel.predict`.
        """
        clean, truncated = _validate_texts(texts)
        n_classes = len(self._card.labels)
        if not clean:
            empty = np.zeros((0, n_classes), dtype=np.float32)
            return Prediction(logits=empty, scores=empty.copy(), truncated=())
        logits: list[np.ndarray] = []
        scores: list[np.ndarray] = []
        for start in range(0, len(clean), PREDICT_CHUNK_SIZE):
            out = run_signature(
                self._signature, self._spec, clean[start : start + PREDICT_CHUNK_SIZE]
            )
            chunk_logits, chunk_scores = logits_and_scores(out[self._spec.output], self._spec)
            logits.append(chunk_logits)
            scores.append(chunk_scores)
        return Prediction(
            logits=np.concatenate(logits), scores=np.concatenate(scores), truncated=truncated
        )

    def classify_serialized(
        self, serialized_examples: Sequence[bytes]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Run a classify-style signature (``feature`` set) on serialized tf.Examples.

        Returns ``(classes, scores)`` as the signature gives them (``classes`` from
        ``classes_output``, or the card's labels tiled when there is none).

        Raises
        ------
        ValueError
            The signature takes raw strings (no tf.Example input), or an item does not
            parse.
        TypeError
            An item is not ``bytes``.
        """
        import tensorflow as tf

        if self._spec.feature is None:
            raise ValueError(
                f"signature {self._spec.signature!r} takes raw strings, not serialized "
                "tf.Examples: this model has no classify signature"
            )
        items = list(serialized_examples)
        for i, item in enumerate(items):
            if not isinstance(item, bytes):
                raise TypeError(
                    f"`serialized_examples[{i}]` must be bytes; got {type(item).__name__}"
                )
        try:
            out = self._signature(**{self._spec.input: tf.constant(items, dtype=tf.string)})
        except tf.errors.InvalidArgumentError as exc:
            raise ValueError(
                "`serialized_examples` could not be parsed as tf.Example protos"
            ) from exc
        scores = out[self._spec.output].numpy()
        if self._spec.classes_output is not None:
            classes = out[self._spec.classes_output].numpy()
        else:
            classes = np.tile(
                np.array([lab.encode() for lab in self.labels], dtype=object), (len(items), 1)
            )
        return classes, scores
