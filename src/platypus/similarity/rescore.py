"""Make bf16 (or int8, or another runtime's) embeddings give the torch fp32 answer.

bf16 moves a pair's cosine by a few thousandths at most (int8 by a few hundredths, fp32 on ONNX
Runtime or OpenVINO by under 1e-5), so only pairs whose score lies within `margin` of the
threshold can land on the other side of it in torch fp32. The search runs at threshold - margin
on the fast vectors; the borderline pairs' rows are embedded again in torch fp32 and re-scored;
pairs clearly above or below keep their fast decision. The pair set is then the fp32 one, at
roughly the fast vectors' cost. The same code serves pairs within one set (dedup) and pairs
across two sets (training rows x benchmark items).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from platypus.similarity.engine import embed_texts
from platypus.similarity.pairs import CrossPairs, Neighbours, pair_dots

if TYPE_CHECKING:
    from platypus.settings import EmbeddingSettings

Found = TypeVar("Found", Neighbours, CrossPairs)
Vectors = Callable[[np.ndarray], np.ndarray]

# The lowest score the widened search goes down to.
LOWEST = 1e-6


def rescore(
    found: Found,
    threshold: float,
    margin: float,
    fp32: Vectors,
    fp32_right: Vectors | None = None,
) -> tuple[Found, int]:
    """`found` must hold every pair scoring >= threshold - margin. `fp32(rows)` returns fp32
    vectors of those rows (sorted ids) of the first set; `fp32_right` those of the second set,
    or None when both ends are rows of one set (each row is then embedded once). Returns the
    pairs >= threshold and how many rows were embedded again."""
    left, right, sims = found.ends()
    sims = sims.copy()
    border = sims < threshold + margin
    if fp32_right is None:
        need_left = need_right = np.unique(np.concatenate([left[border], right[border]]))
        rows = len(need_left)
    else:
        need_left, need_right = np.unique(left[border]), np.unique(right[border])
        rows = len(need_left) + len(need_right)
    if border.any():
        x = fp32(need_left)
        y = x if fp32_right is None else fp32_right(need_right)
        where = np.searchsorted(need_left, left[border]), np.searchsorted(need_right, right[border])
        sims[border] = pair_dots(x, where[0], y, where[1])
    return found.subset(sims >= threshold, sims), rows


def search_rescored(
    search: Callable[[float], Found],
    threshold: float,
    settings: EmbeddingSettings,
    texts: Sequence[str],
    other: Sequence[str] | None = None,
) -> tuple[Found, int, int]:
    """Every pair at or above `threshold` as fp32 vectors score it. `search(t)` returns the pairs
    >= t among the vectors of `texts` in `settings.precision` on `settings.embed_backend` (or
    across `texts` x `other`). Unless that is torch fp32 itself, it searches the margin lower
    and re-scores the borderline pairs in torch fp32. Returns the pairs, how many texts the
    re-scoring had to embed (not read from the cache), and how many rows it re-scored."""
    margin = settings.effective_rescore_margin
    if margin == 0:
        return search(threshold), 0, 0
    found = search(max(threshold - margin, LOWEST))
    embedded = 0

    def fp32_of(pool: Sequence[str]) -> Vectors:
        def vectors(rows: np.ndarray) -> np.ndarray:
            nonlocal embedded
            x, computed = embed_texts([pool[i] for i in rows], settings, "fp32", "torch")
            embedded += computed
            return x

        return vectors

    right = None if other is None else fp32_of(other)
    found, rescored = rescore(found, threshold, margin, fp32_of(texts), right)
    return found, embedded, rescored
