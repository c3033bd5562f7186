"""TensorFlow's ``ClassificationOutput``, in our package, and friendlier where TF is not.

TF ships the class privately as
``tensorflow.python.saved_model.model_utils.export_output.ClassificationOutput`` (it was
``tf.estimator.export.ClassificationOutput`` until Estimator went away). This module mirrors
it exactly: everything TF refuses is refused with the same exception type and the same
message text up to TF's ``"; got ..."`` part, and ``as_signature_def`` returns the same
``SignatureDef`` proto. On top of that:

- numpy arrays are accepted where TF wants a ``tf.Tensor`` (float arrays act as float
  tensors; ``str``/``bytes``/object-of-``str`` arrays as string tensors), so the class
  can be used, and its errors shown, without importing TensorFlow at all;
- ``as_signature_def`` also works from ordinary eager code (TF's raises ``RuntimeError``
  there): the proto is built in a private ``tf.Graph``;
- ``interpretation``, ``describe()`` and ``to_rows()`` say how a client reads the outputs,
  and what TF Serving's classify API returns for them.

TensorFlow is imported lazily, only when a ``tf.Tensor`` is involved or a SignatureDef is
built. Constructing from numpy values, ``describe()`` and ``to_rows()`` on numpy values never
import it.
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

import numpy as np

__all__ = [
    "CLASSIFY_METHOD_NAME",
    "ClassificationOutput",
    "Interpretation",
]

CLASSIFY_METHOD_NAME: Final = "tensorflow/serving/classify"

Interpretation = Literal["scores_only", "classes_only", "zipped"]

# TF's own messages (tensorflow/python/saved_model/model_utils/export_output.py), up to
# the "; got ..." part, which we write ourselves.
_SCORES_MESSAGE: Final = "Classification scores must be a float32 Tensor"
_CLASSES_MESSAGE: Final = "Classification classes must be a string Tensor"
_EMPTY_MESSAGE: Final = (
    "Cannot create a ClassificationOutput with empty arguments. "
    "At least one of `scores` and `classes` must be defined."
)
_RECEIVER_MESSAGE: Final = (
    "Classification signatures can only accept a single tensor input of "
    "type tf.string. Please check to make sure that you have structured "
    "the serving_input_receiver_fn so that it creates a single string "
    "placeholder. If your model function expects multiple inputs, then "
    "use `tf.io.parse_example()` to parse the string into multiple "
    "tensors."
)

# Names of the placeholders that stand in for eager tensors / numpy arrays in the private
# graph. "input_example_tensor" is the name Estimator's parsing receiver gave its input.
_RECEIVER_PLACEHOLDER: Final = "input_example_tensor"
_SCORES_PLACEHOLDER: Final = "scores"
_CLASSES_PLACEHOLDER: Final = "classes"

# Floating dtypes TF's `dtype.is_floating` accepts, by numpy name (bfloat16 via ml_dtypes).
_NUMPY_FLOAT_NAMES: Final = frozenset({"float16", "float32", "float64", "bfloat16"})

_DESCRIPTIONS: Final[dict[Interpretation, str]] = {
    "scores_only": (
        "Scores only: each row holds one score per class, in class-id order (column c is "
        'the score of class c). There are no labels: TF Serving returns the label "" for '
        "every entry, so the client must name the classes itself, by position, from the "
        "model's label vocabulary."
    ),
    "classes_only": (
        "Classes only: each row holds predicted class labels, to be read as the top-k "
        "classes in descending order (the most likely first). There are no scores: TF "
        "Serving returns the score 0.0 for every entry."
    ),
    "zipped": (
        "Classes and scores: read them as zipped pairs, scores[i, c] belongs to "
        "classes[i, c]. Clients must not rely on the order of the pairs (it may be "
        "class-id order, sorted, or anything else): look a class up by its label."
    ),
}


def _tf_tensor_type() -> type | None:
    """``tf.Tensor`` if TensorFlow is already imported, else None (then nothing is one)."""
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return None
    tensor_type = getattr(tf, "Tensor", None)
    return tensor_type if isinstance(tensor_type, type) else None


def _is_tf_tensor(value: object) -> bool:
    tensor_type = _tf_tensor_type()
    return tensor_type is not None and isinstance(value, tensor_type)


def _is_symbolic(value: object) -> bool:
    """A graph tensor: it has no value, only a name, a dtype and a static shape."""
    if not _is_tf_tensor(value):
        return False
    return bool(sys.modules["tensorflow"].is_symbolic_tensor(value))


def _is_numpy_float(array: np.ndarray) -> bool:
    return array.dtype.name in _NUMPY_FLOAT_NAMES


def _is_numpy_string(array: np.ndarray) -> bool:
    if array.dtype.kind in "US":
        return True
    if array.dtype.kind == "O":
        return all(isinstance(item, str | bytes) for item in array.flat)
    return False


def _describe_value(value: object) -> str:
    """The "; got ..." part of an error message."""
    if isinstance(value, np.ndarray):
        return f"a numpy array of dtype {value.dtype} and shape {value.shape}"
    if _is_tf_tensor(value):
        # TF prints the tensor itself; so do we.
        return str(value)
    text = repr(value)
    if len(text) > 200:
        text = text[:200] + "..."
    return f"{type(value).__name__} {text}"


def _read_only_copy(array: np.ndarray) -> np.ndarray:
    copy = np.array(array, copy=True)
    copy.flags.writeable = False
    return copy


def _python_to_array(value: object, name: str) -> np.ndarray:
    """``value`` as the numpy array ``tf.constant(value)`` would make (same dtype rules).

    Python floats become float32, ints int32 (int64 when out of range), bools bool,
    ``str``/``bytes`` a string (object) array. Mixed kinds, ragged lists and unsupported
    leaves are refused with TF's own ``ValueError`` text, followed by the argument name.
    """
    try:
        array = np.array(value, dtype=object)
    except ValueError as exc:  # numpy could not even build an object array
        raise ValueError(
            f"Can't convert non-rectangular Python sequence to Tensor (`{name}`)."
        ) from exc
    leaves = list(array.flat)
    kinds: set[str] = set()
    for leaf in leaves:
        if isinstance(leaf, list | tuple):
            raise ValueError(f"Can't convert non-rectangular Python sequence to Tensor (`{name}`).")
        if isinstance(leaf, bool | np.bool_):
            kinds.add("bool")
        elif isinstance(leaf, str | bytes):
            kinds.add("string")
        elif isinstance(leaf, numbers.Integral):
            kinds.add("int")
        elif isinstance(leaf, numbers.Real):
            kinds.add("float")
        else:
            raise ValueError(
                f"Attempt to convert a value ({leaf!r}) with an unsupported type "
                f"({type(leaf)}) to a Tensor (`{name}`)."
            )
    if kinds == {"int", "float"}:
        kinds = {"float"}
    if len(kinds) > 1:
        raise ValueError(f"Can't convert Python sequence with mixed types to Tensor (`{name}`).")
    kind = kinds.pop() if kinds else "float"  # tf.constant([]) is float32
    if kind == "string":
        return array
    if kind == "bool":
        return array.astype(np.bool_)
    if kind == "float":
        return array.astype(np.float32)
    as_int64 = array.astype(np.int64)
    info = np.iinfo(np.int32)
    in_int32 = as_int64.size == 0 or (as_int64.min() >= info.min and as_int64.max() <= info.max)
    return as_int64.astype(np.int32) if in_int32 else as_int64


def _as_numpy_values(value: Any, name: str) -> np.ndarray:
    """The values of a numpy array or an eager tensor, for ``to_rows``."""
    if isinstance(value, np.ndarray):
        return value
    if _is_symbolic(value):
        raise TypeError(
            f"`{name}` is a symbolic (graph) tensor, {value.name}: it has no values to read; "
            "pass numpy arrays or eager tensors to read rows"
        )
    return np.asarray(value.numpy())


def _label_text(label: object) -> str:
    if isinstance(label, bytes):
        return label.decode("utf-8", errors="replace")
    return str(label)


class ClassificationOutput:
    """The output of a classification head: scores, classes, or both.

    Mirrors TensorFlow's ``ClassificationOutput``: validation happens once, here, and the
    object is read-only afterwards. Either ``scores`` or ``classes`` or both must be set.
    ``classes`` must hold string labels, never integer class ids. How a client reads them
    depends on which are set (see ``interpretation`` and ``describe()``):

    - classes only: top-k labels in descending order;
    - scores only: one score per class, in class-id order;
    - both: zipped pairs, ``scores[i, c]`` belongs to ``classes[i, c]``; clients should not
      depend on the order of the pairs.

    Parameters
    ----------
    scores : tf.Tensor or numpy.ndarray, optional
        Floating scores, usually of shape (batch_size, num_classes). Any floating dtype
        (float16, bfloat16, float32, float64) passes, as in TF, but ``as_signature_def``
        and TF Serving accept only float32.
    classes : tf.Tensor or numpy.ndarray, optional
        String labels (``tf.string``; numpy ``str``, ``bytes`` or object arrays of
        ``str``/``bytes``), usually of shape (batch_size, num_classes).

    Raises
    ------
    ValueError
        As TF, checked in this order: ``scores`` is not a floating tensor/array
        ("Classification scores must be a float32 Tensor; got ..."); ``classes`` is not a
        string tensor/array ("Classification classes must be a string Tensor; got ...");
        neither is set ("Cannot create a ClassificationOutput with empty arguments. ...").
        Python lists are not tensors and are refused like TF refuses them; use
        ``from_values`` to convert plain Python values first.

    Examples
    --------
    >>> out = ClassificationOutput(scores=np.array([[0.1, 0.9]], dtype=np.float32))
    >>> out.interpretation
    'scores_only'
    >>> out.to_rows(label_vocab=["ham", "spam"])
    [[('ham', 0.10000000149011612), ('spam', 0.8999999761581421)]]
    """

    __slots__ = ("_classes", "_scores")

    _scores: Any
    _classes: Any

    def __init__(self, scores: Any = None, classes: Any = None) -> None:
        if scores is not None and not self._is_floating(scores):
            raise ValueError(f"{_SCORES_MESSAGE}; got {_describe_value(scores)}")
        if classes is not None and not self._is_string(classes):
            raise ValueError(f"{_CLASSES_MESSAGE}; got {_describe_value(classes)}")
        if scores is None and classes is None:
            raise ValueError(_EMPTY_MESSAGE)
        if isinstance(scores, np.ndarray):
            scores = _read_only_copy(scores)
        if isinstance(classes, np.ndarray):
            classes = _read_only_copy(classes)
        object.__setattr__(self, "_scores", scores)
        object.__setattr__(self, "_classes", classes)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"ClassificationOutput is read-only; cannot set {name!r}")

    @staticmethod
    def _is_floating(value: object) -> bool:
        if isinstance(value, np.ndarray):
            return _is_numpy_float(value)
        return _is_tf_tensor(value) and bool(value.dtype.is_floating)  # type: ignore[attr-defined]

    @staticmethod
    def _is_string(value: object) -> bool:
        if isinstance(value, np.ndarray):
            return _is_numpy_string(value)
        if not _is_tf_tensor(value):
            return False
        tf = sys.modules["tensorflow"]
        return bool(tf.as_dtype(value.dtype) == tf.string)  # type: ignore[attr-defined]

    @classmethod
    def from_values(cls, *, scores: Any = None, classes: Any = None) -> ClassificationOutput:
        """Build from plain Python values (as a page edits them), numpy arrays or tensors.

        Python values are converted as ``tf.constant`` would convert them (floats →
        float32, ints → int32, bools → bool, ``str``/``bytes`` → string), without importing
        TensorFlow; then the constructor runs, so invalid choices (integer class ids, no
        scores and no classes, ...) raise TF's own errors.

        Parameters
        ----------
        scores, classes : nested lists, scalars, numpy arrays or tf.Tensors, optional
            ``None`` means "not set".

        Returns
        -------
        ClassificationOutput

        Raises
        ------
        ValueError
            TF's conversion errors for ragged lists ("Can't convert non-rectangular Python
            sequence to Tensor"), mixed kinds ("Can't convert Python sequence with mixed
            types to Tensor") or unsupported leaves such as ``None``, each followed by the
            argument name; then every error of the constructor.

        Examples
        --------
        >>> ClassificationOutput.from_values(classes=[[0, 1]])
        Traceback (most recent call last):
        ...
        ValueError: Classification classes must be a string Tensor; got ...
        """

        def convert(value: Any, name: str) -> Any:
            if value is None or isinstance(value, np.ndarray) or _is_tf_tensor(value):
                return value
            return _python_to_array(value, name)

        return cls(scores=convert(scores, "scores"), classes=convert(classes, "classes"))

    @property
    def scores(self) -> Any:
        """The scores as given (a ``tf.Tensor`` or a read-only numpy array), or None."""
        return self._scores

    @property
    def classes(self) -> Any:
        """The classes as given (a ``tf.Tensor`` or a read-only numpy array), or None."""
        return self._classes

    @property
    def interpretation(self) -> Interpretation:
        """``"scores_only"``, ``"classes_only"`` or ``"zipped"`` (both set)."""
        if self._classes is None:
            return "scores_only"
        if self._scores is None:
            return "classes_only"
        return "zipped"

    def describe(self) -> str:
        """How a client must read these outputs, in plain language (one paragraph)."""
        return _DESCRIPTIONS[self.interpretation]

    def __repr__(self) -> str:
        parts = []
        for name, value in (("scores", self._scores), ("classes", self._classes)):
            if value is None:
                continue
            if isinstance(value, np.ndarray):
                parts.append(f"{name}=<numpy {value.dtype} {value.shape}>")
            else:
                parts.append(f"{name}=<tf.Tensor {value.dtype.name} {tuple(value.shape)}>")
        return f"ClassificationOutput({', '.join(parts)})"

    def to_rows(self, *, label_vocab: Sequence[str] | None = None) -> list[list[tuple[str, float]]]:
        """The (label, score) pairs per example, exactly as TF Serving's classify returns them.

        TF Serving copies ``classes[i, c]`` and ``scores[i, c]`` in tensor order: no
        sorting, no top-k. When ``classes`` is absent every label is ``""`` (or, with
        ``label_vocab``, the name of class ``c``); when ``scores`` is absent every score is
        0.0. It refuses what the server refuses (see Raises).

        Parameters
        ----------
        label_vocab : sequence of str, optional
            One name per class id, used to name the columns when ``classes`` is absent
            (the scores-only case). Its length must equal ``num_classes``.

        Returns
        -------
        list (one per example) of lists (one per column) of ``(label, score)``; bytes
        labels are decoded as UTF-8; scores are Python floats of the float32 values.

        Raises
        ------
        ValueError
            ``classes``/``scores`` not of rank 2 ([batch_size, num_classes]); ``scores`` not
            float32 (TF Serving wants DT_FLOAT); different batch sizes or widths;
            ``label_vocab`` given while ``classes`` is set, or of the wrong length.
        TypeError
            Symbolic (graph) tensors, which have no values; ``label_vocab`` not a sequence
            of ``str``.
        """
        classes = None if self._classes is None else _as_numpy_values(self._classes, "classes")
        scores = None if self._scores is None else _as_numpy_values(self._scores, "scores")
        for name, values in (("classes", classes), ("scores", scores)):
            if values is not None and values.ndim != 2:
                raise ValueError(
                    f"`{name}` must have rank 2, [batch_size, num_classes], as TF Serving "
                    f"requires; got shape {values.shape}"
                )
        if scores is not None and scores.dtype != np.float32:
            raise ValueError(
                f"`scores` must be float32: TF Serving expects a scores Tensor of DT_FLOAT; "
                f"got {scores.dtype}"
            )
        if classes is not None and scores is not None:
            if classes.shape[0] != scores.shape[0]:
                raise ValueError(
                    "`classes` and `scores` must have the same batch size; got "
                    f"{classes.shape[0]} vs. {scores.shape[0]}"
                )
            if classes.shape[1] != scores.shape[1]:
                raise ValueError(
                    "`classes` and `scores` must match in dim_size(1), as TF Serving "
                    f"requires; got {classes.shape[1]} vs. {scores.shape[1]}"
                )
        reference = classes if classes is not None else scores
        assert reference is not None  # the constructor guarantees one of them
        n_examples, n_columns = reference.shape
        names: list[str] | None = None
        if label_vocab is not None:
            if classes is not None:
                raise ValueError(
                    "`label_vocab` names classes by id and only applies when `classes` is "
                    "absent; these outputs carry their own labels"
                )
            if isinstance(label_vocab, str) or not all(isinstance(v, str) for v in label_vocab):
                raise TypeError(
                    f"`label_vocab` must be a sequence of str; got {_describe_value(label_vocab)}"
                )
            names = list(label_vocab)
            if len(names) != n_columns:
                raise ValueError(
                    f"`label_vocab` must hold one name per class ({n_columns}); got {len(names)}"
                )
        rows: list[list[tuple[str, float]]] = []
        for i in range(n_examples):
            row: list[tuple[str, float]] = []
            for c in range(n_columns):
                if classes is not None:
                    label = _label_text(classes[i, c])
                elif names is not None:
                    label = names[c]
                else:
                    label = ""
                score = float(scores[i, c]) if scores is not None else 0.0
                row.append((label, score))
            rows.append(row)
        return rows

    def as_signature_def(self, receiver_tensors: Any) -> Any:
        """The classify ``SignatureDef`` proto, the same one TF's class returns.

        Method ``tensorflow/serving/classify``; input key ``inputs`` (the one receiver
        tensor, whatever its key); outputs ``classes`` and/or ``scores``. Graph tensors keep
        their names; eager tensors and numpy arrays are stood in for by placeholders of the
        same dtype and shape, named ``input_example_tensor``, ``scores`` and ``classes``, in
        a private ``tf.Graph`` (so, unlike TF's, this works from eager code).

        Parameters
        ----------
        receiver_tensors : dict
            Exactly one entry whose value is a string tensor or numpy string array (the
            serialized ``tf.Example``s), e.g. ``{"examples": tensor}``.

        Returns
        -------
        tensorflow.core.protobuf.meta_graph_pb2.SignatureDef

        Raises
        ------
        TypeError
            ``receiver_tensors`` is not a dict (a bare tensor: TF fails here with a
            ``TypeError`` from ``len()`` on a symbolic tensor).
        ValueError
            Not exactly one receiver, or it is not a string tensor ("Classification
            signatures can only accept a single tensor input of type tf.string. ...
            Received: ..."); ``scores`` not exactly float32 ("Classification scores must be
            a float Tensor."), as TF's ``classification_signature_def`` refuses float16,
            bfloat16 and float64.
        """
        if not isinstance(receiver_tensors, Mapping):
            raise TypeError(
                "`receiver_tensors` must be a dict holding exactly one tf.string tensor of "
                "serialized tf.Examples, e.g. {'examples': tensor}; got "
                f"{_describe_value(receiver_tensors)}"
            )
        if len(receiver_tensors) != 1:
            raise ValueError(f"{_RECEIVER_MESSAGE}\n Received: {receiver_tensors}")
        ((_, examples),) = receiver_tensors.items()
        if not self._is_string(examples):
            raise ValueError(f"{_RECEIVER_MESSAGE}\n Received: {receiver_tensors}")

        import tensorflow as tf

        with tf.Graph().as_default():
            examples_t = _graph_stand_in(tf, examples, _RECEIVER_PLACEHOLDER)
            classes_t = _graph_stand_in(tf, self._classes, _CLASSES_PLACEHOLDER)
            scores_t = _graph_stand_in(tf, self._scores, _SCORES_PLACEHOLDER)
            return tf.compat.v1.saved_model.classification_signature_def(
                examples_t, classes_t, scores_t
            )


def _graph_stand_in(tf: Any, value: Any, name: str) -> Any:
    """``value`` itself if it is a graph tensor, else a placeholder of its dtype and shape."""
    if value is None or _is_symbolic(value):
        return value
    if isinstance(value, np.ndarray):
        dtype = tf.string if _is_numpy_string(value) else tf.as_dtype(value.dtype)
        shape: Sequence[int | None] = value.shape
    else:
        dtype, shape = value.dtype, value.shape
    return tf.compat.v1.placeholder(dtype, shape=shape, name=name)
