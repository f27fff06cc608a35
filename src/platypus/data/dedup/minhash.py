"""MinHash-LSH near duplicates (datasketch): a cheap first pass for millions of rows.

Each row's compared text (the same text the embedding sees, normalised as the exact stage
normalises it) becomes a set of shingles, character or word n-grams; a MinHash of `num_perm`
permutations (seeded, so runs are deterministic) estimates the Jaccard similarity of two rows'
sets, and datasketch's `MinHashLSH` (bands chosen for `minhash_threshold`) proposes candidate
pairs without comparing every pair. A candidate is a pair when its estimated Jaccard is >= the
threshold. MinHash sees wording: it finds copies with a few words changed, not paraphrases
(`benchmarks/minhash.py` measures its recall against the embedding pairs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from platypus.data.compare import normalise
from platypus.progress import progress
from platypus.similarity.pairs import Neighbours

if TYPE_CHECKING:
    from platypus.data.dedup.config import DedupConfig


def shingles(text: str, size: int, unit: str = "char") -> set[bytes]:
    """The normalised text's n-grams of `size` characters or words (the whole text when it is
    shorter than one n-gram)."""
    text = normalise(text)
    tokens: Sequence[str] = text.split() if unit == "word" else text
    joiner = " " if unit == "word" else ""
    last = max(1, len(tokens) - size + 1)
    return {joiner.join(tokens[i : i + size]).encode("utf-8") for i in range(last)}


def signatures(texts: Sequence[str], config: DedupConfig) -> tuple[np.ndarray, str]:
    """(rows, num_perm) MinHash values of the texts' shingle sets, and datasketch's hashing
    scheme that made them."""
    from datasketch import MinHash

    sets = (shingles(t, config.minhash_shingle, config.minhash_unit) for t in texts)
    rows = progress(sets, total=len(texts), desc="minhash", unit=" rows", disable=None)
    template = MinHash(num_perm=config.minhash_num_perm, seed=config.seed)
    out = np.empty((len(texts), config.minhash_num_perm), dtype=template.hashvalues.dtype)
    for i, m in enumerate(MinHash.generator(rows, num_perm=template.num_perm,
                                            seed=config.seed)):  # fmt: skip
        out[i] = m.hashvalues
    return out, template.scheme


def lsh_pairs(
    sig: np.ndarray, scheme: str, config: DedupConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, estimated Jaccard) of the LSH candidates with a < b and estimated Jaccard >= the
    threshold, sorted by (a, b)."""
    from datasketch import LeanMinHash, MinHashLSH

    def lean(i: int) -> LeanMinHash:
        return LeanMinHash(seed=config.seed, hashvalues=sig[i], scheme=scheme)

    lsh = MinHashLSH(threshold=config.minhash_threshold, num_perm=sig.shape[1])
    with lsh.insertion_session() as session:
        for i in range(len(sig)):
            session.insert(i, lean(i), check_duplication=False)
    a, b = [], []
    for i in progress(range(len(sig)), desc="lsh", unit=" rows", disable=None):
        for j in lsh.query(lean(i)):
            if j > i:
                a.append(i)
                b.append(j)
    a_, b_ = np.array(a, dtype=np.int64), np.array(b, dtype=np.int64)
    jac = (sig[a_] == sig[b_]).mean(axis=1, dtype=np.float64)
    # LSH proposes candidates; a pair is one whose estimated Jaccard reaches the threshold
    keep = jac >= config.minhash_threshold
    a_, b_, jac = a_[keep], b_[keep], jac[keep].astype(np.float32)
    order = np.lexsort((b_, a_))
    return a_[order], b_[order], jac[order]


def as_neighbours(n: int, a: np.ndarray, b: np.ndarray, sim: np.ndarray) -> Neighbours:
    """Pairs (a < b) as `Neighbours` over n rows: each pair stored at both ends, sorted by id;
    every row's nearest row among its pairs (-1 and NaN when it has none)."""
    rows = np.concatenate([a, b]).astype(np.int64)
    ids = np.concatenate([b, a]).astype(np.int64)
    sims = np.concatenate([sim, sim]).astype(np.float32)
    order = np.lexsort((ids, rows))
    rows, ids, sims = rows[order], ids[order], sims[order]
    lims = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))]).astype(np.int64)
    nn_idx = np.full(n, -1, dtype=np.int64)
    nn_sim = np.full(n, np.nan, dtype=np.float32)
    # the most similar neighbour of each row, ties to the smaller id
    best = np.lexsort((ids, -sims, rows))
    first = np.ones(len(best), dtype=bool)
    first[1:] = rows[best][1:] != rows[best][:-1]
    pick = best[first]
    nn_idx[rows[pick]] = ids[pick]
    nn_sim[rows[pick]] = sims[pick]
    return Neighbours(lims, ids, sims, nn_idx, nn_sim)


def minhash_candidates(
    texts: Sequence[str], config: DedupConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, estimated Jaccard) of the texts' MinHash-LSH pairs (a < b) at estimated Jaccard
    >= minhash_threshold, sorted."""
    if len(texts) < 2:
        none = np.zeros(0, np.int64)
        return none, none, np.zeros(0, np.float32)
    return lsh_pairs(*signatures(texts, config), config)
