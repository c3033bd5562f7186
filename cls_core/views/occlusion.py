"""Word importance by occlusion: how much a class score drops when each word is removed.

Model-agnostic and honest: it runs the real model on the text with each word left out (one
batched call of ``n_words + 1`` texts) and reports ``score(full) - score(without word)``.
Positive values mean the word supports the class.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["MAX_OCCLUSION_WORDS", "WordImportance", "occlusion_texts", "word_importance"]

MAX_OCCLUSION_WORDS = 200


@dataclass(frozen=True, kw_only=True)
class WordImportance:
    """Occlusion result for one text and one class.

    Attributes
    ----------
    tokens : the whitespace-separated words of the text (the first ``MAX_OCCLUSION_WORDS``)
    deltas : ndarray of shape (n_tokens,), ``score(full) - score(without token)``
    class_index : the class explained
    base_score : the class score of the full text
    truncated : True when the text had more words than were explained
    """

    tokens: tuple[str, ...]
    deltas: npt.NDArray[np.float64]
    class_index: int
    base_score: float
    truncated: bool


def occlusion_texts(tokens: Sequence[str]) -> list[str]:
    """The texts with one word left out each, in word order."""
    return [" ".join([*tokens[:i], *tokens[i + 1 :]]) for i in range(len(tokens))]


def word_importance(
    text: str,
    score_texts: Callable[[list[str]], npt.NDArray[np.floating[Any]]],
    *,
    class_index: int,
    max_words: int = MAX_OCCLUSION_WORDS,
) -> WordImportance:
    """Explain ``class_index`` for ``text`` by leaving each word out.

    Parameters
    ----------
    text : str
    score_texts : callable
        Maps a list of texts to scores of shape (n_texts, n_classes), e.g. the model's
        prediction seen through the activation the user is looking at.
    class_index : int
    max_words : int
        Only the first ``max_words`` words are explained (the rest stay in every text).

    Raises
    ------
    TypeError
        ``text`` is not a str.
    ValueError
        ``class_index`` out of range for the scores returned.
    """
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a str; got {type(text).__name__}")
    words = text.split()
    head, tail = words[:max_words], words[max_words:]
    suffix = (" " + " ".join(tail)) if tail else ""
    variants = [" ".join(head) + suffix] + [t + suffix for t in occlusion_texts(head)]
    scores = np.asarray(score_texts(variants), dtype=np.float64)
    if scores.ndim != 2 or scores.shape[0] != len(variants):
        raise ValueError(
            f"`score_texts` must return shape ({len(variants)}, n_classes); got {scores.shape}"
        )
    if not 0 <= class_index < scores.shape[1]:
        raise ValueError(f"`class_index` must be in [0, {scores.shape[1] - 1}]; got {class_index}")
    column = scores[:, class_index]
    return WordImportance(
        tokens=tuple(head),
        deltas=column[0] - column[1:],
        class_index=class_index,
        base_score=float(column[0]),
        truncated=bool(tail),
    )
