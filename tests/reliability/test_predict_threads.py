"""The cached model is shared by every session: predict from many threads, no locks, same results."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from cls_core.modelio.registry import MAX_TEXT_CHARS, LoadedModel, load_model
from tests.reliability.conftest import needs_banking77

pytestmark = needs_banking77

N_THREADS = 16


@pytest.fixture(scope="module")
def banking77() -> LoadedModel:
    return load_model("banking77")


def _batches() -> list[list[str]]:
    """One batch per thread, of very different text lengths (empty to truncated) and sizes."""
    rng = np.random.default_rng(7)
    words = [
        "my",
        "card",
        "payment",
        "was",
        "declined",
        "refund",
        "top",
        "up",
        "atm",
        "cash",
        "pin",
        "transfer",
        "fee",
        "euro",
    ]
    batches = []
    for i in range(N_THREADS):
        n_texts = [1, 2, 7, 40, 200][i % 5]
        length = [0, 3, 30, 300, MAX_TEXT_CHARS // 5 + 100][(i + i // 5) % 5]
        batch = [
            " ".join(rng.choice(words, size=length).tolist()) + f" #{i}-{j}" for j in range(n_texts)
        ]
        batches.append(batch)
    return batches


def test_predict_from_16_threads_equals_sequential(banking77: LoadedModel) -> None:
    batches = _batches()
    sequential = [banking77.predict(b) for b in batches]
    results: dict[int, list[np.ndarray]] = {i: [] for i in range(N_THREADS)}
    errors: list[BaseException] = []
    barrier = threading.Barrier(N_THREADS)

    def work(i: int) -> None:
        try:
            barrier.wait()
            for _ in range(3):
                results[i].append(banking77.predict(batches[i]).logits)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(N_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for i in range(N_THREADS):
        assert len(results[i]) == 3
        for logits in results[i]:
            np.testing.assert_allclose(logits, sequential[i].logits, rtol=1e-5, atol=1e-5)
    # the longest texts were truncated the same way in every thread
    assert any(s.truncated for s in sequential)
