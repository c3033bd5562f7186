"""Build the five kinds of "own model" SavedModels of issue 10 at test time (small, fast).

Each builder writes one SavedModel directory and returns nothing; :func:`build_all` writes
every kind under one model root (about 10 s on 2 cores, most of it Keras). The models are
tiny hashing bag-of-words classifiers with fixed weights: what matters is the *shape* of
each export, not its quality.

1. ``keras_probs``: Keras 3 ``model.export`` of a model with a ``TextVectorization`` layer,
   softmax in the model; ``serving_default`` with one Keras-named string input and one
   float output ``output_0`` (probabilities).
2. ``module_logits``: ``tf.saved_model.save`` of a ``tf.Module``: signature ``predict_intent``
   with input ``sentence`` and outputs ``intent_logits`` (logits), ``embedding`` [N, 8] and
   ``class_ids`` (int64); a vocabulary asset ``labels.txt`` holds the class names.
3. ``estimator_classify``: a TF1/Estimator-style export: only useful signature is
   ``serving_default`` with method ``tensorflow/serving/classify``, input ``inputs``
   (serialized tf.Example, text in the bytes feature ``review``), outputs ``classes``
   (string) and ``scores``.
4. ``binary_sigmoid``: one sigmoid output of shape [N, 1] (``probability``).
5. ``multi_output``: two classifier heads (``topic_scores`` softmax over 4, ``tone_logits``
   over 2) and nothing in the names to say which one the user wants.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

KERAS_LABELS = ("sports", "politics", "tech")
MODULE_LABELS = ("billing", "delivery", "refund", "other")
ESTIMATOR_LABELS = ("neg", "neu", "pos")
ESTIMATOR_FEATURE = "review"
TOPIC_WIDTH = 4
TONE_WIDTH = 2
HASH_BUCKETS = 64

KINDS = ("keras_probs", "module_logits", "estimator_classify", "binary_sigmoid", "multi_output")


def _weights(rows: int, cols: int, seed: int) -> Any:
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 1.5, size=(rows, cols)).astype("float32")


def _bag(text: Any) -> Any:
    """[N] strings → [N, HASH_BUCKETS] float32 bag of hashed lower-cased words."""
    import tensorflow as tf

    words = tf.strings.split(tf.strings.lower(text))
    ids = tf.strings.to_hash_bucket_fast(words, HASH_BUCKETS)
    counts = tf.math.bincount(
        tf.cast(ids, tf.int32), minlength=HASH_BUCKETS, maxlength=HASH_BUCKETS, axis=-1
    )
    bag = tf.cast(counts, tf.float32)
    bag.set_shape([None, HASH_BUCKETS])  # bincount loses the static shape
    return bag


def build_keras_probs(path: Path) -> None:
    import keras
    import numpy as np
    import tensorflow as tf

    vectorize = keras.layers.TextVectorization(max_tokens=40, output_mode="count")
    vectorize.adapt(
        tf.constant(["the match was won", "the vote in parliament", "a new phone chip"])
    )
    inputs = keras.Input(shape=(), dtype="string", name="review_text")
    hidden = vectorize(inputs)
    outputs = keras.layers.Dense(len(KERAS_LABELS), activation="softmax")(hidden)
    model = keras.Model(inputs, outputs)
    dense = model.layers[-1]
    dense.set_weights(
        [_weights(dense.kernel.shape[0], len(KERAS_LABELS), 1), np.zeros(3, "float32")]
    )
    model.export(str(path), verbose=False)


def build_module_logits(path: Path) -> None:
    import tensorflow as tf

    class IntentModule(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = tf.Variable(_weights(HASH_BUCKETS, 8, 2))
            self.head = tf.Variable(_weights(8, len(MODULE_LABELS), 3))
            labels_file = path.parent / f"_{path.name}_assets" / "labels.txt"
            labels_file.parent.mkdir(exist_ok=True)
            labels_file.write_text("\n".join(MODULE_LABELS) + "\n")
            self.vocab = tf.saved_model.Asset(str(labels_file))

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="sentence")])
        def predict_intent(self, sentence: Any) -> dict[str, Any]:
            embedding = tf.tanh(tf.matmul(_bag(sentence), self.embed))
            logits = tf.matmul(embedding, self.head) * 2.0
            return {
                "intent_logits": logits,
                "embedding": embedding,
                "class_ids": tf.argmax(logits, axis=-1),
            }

    module = IntentModule()
    tf.saved_model.save(module, str(path), signatures={"predict_intent": module.predict_intent})
    shutil.rmtree(path.parent / f"_{path.name}_assets")


def build_estimator_classify(path: Path) -> None:
    """The TF1 way: a graph, placeholders, ``classification_signature_def``, a builder."""
    import tensorflow as tf

    v1 = tf.compat.v1
    with tf.Graph().as_default() as graph:
        serialized = v1.placeholder(tf.string, [None], name="input_example_tensor")
        features = tf.io.parse_example(
            serialized, {ESTIMATOR_FEATURE: tf.io.FixedLenFeature([], tf.string, default_value="")}
        )
        weights = v1.get_variable(
            "head", initializer=tf.constant(_weights(HASH_BUCKETS, len(ESTIMATOR_LABELS), 4))
        )
        scores = tf.nn.softmax(tf.matmul(_bag(features[ESTIMATOR_FEATURE]), weights))
        classes = tf.tile(tf.constant([list(ESTIMATOR_LABELS)]), tf.stack([tf.shape(scores)[0], 1]))
        classes.set_shape([None, len(ESTIMATOR_LABELS)])
        signature = v1.saved_model.classification_signature_def(serialized, classes, scores)
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            builder = v1.saved_model.Builder(str(path))
            builder.add_meta_graph_and_variables(
                session, ["serve"], signature_def_map={"serving_default": signature}
            )
            builder.save()


def build_binary_sigmoid(path: Path) -> None:
    import tensorflow as tf

    class Spam(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(_weights(HASH_BUCKETS, 1, 5))

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def serve(self, message: Any) -> dict[str, Any]:
            return {"probability": tf.sigmoid(tf.matmul(_bag(message), self.w))}

    module = Spam()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})


def build_multi_output(path: Path) -> None:
    import tensorflow as tf

    class TwoHeads(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.topic = tf.Variable(_weights(HASH_BUCKETS, TOPIC_WIDTH, 6))
            self.tone = tf.Variable(_weights(HASH_BUCKETS, TONE_WIDTH, 7))

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def serve(self, text: Any) -> dict[str, Any]:
            bag = _bag(text)
            return {
                "topic_scores": tf.nn.softmax(tf.matmul(bag, self.topic)),
                "tone_logits": tf.matmul(bag, self.tone),
            }

    module = TwoHeads()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})


BUILDERS = {
    "keras_probs": build_keras_probs,
    "module_logits": build_module_logits,
    "estimator_classify": build_estimator_classify,
    "binary_sigmoid": build_binary_sigmoid,
    "multi_output": build_multi_output,
}


def build_all(root: Path, kinds: tuple[str, ...] = KINDS) -> Path:
    """Write each kind as ``root/<kind>`` (no model cards); return ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for kind in kinds:
        BUILDERS[kind](root / kind)
    return root
