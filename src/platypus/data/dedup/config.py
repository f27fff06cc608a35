"""The similarity exclusion stage's configuration."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from platypus.settings import ColumnMapping, EmbeddingSettings, InputPath, Seed, Setting


class DedupConfig(EmbeddingSettings, ColumnMapping):
    """Similarity exclusion. `input` defaults to the build stage's jsonl."""

    input: str | None = InputPath(None)
    output_dir: str = Setting("runs/data/dedup")
    threshold: float = Field(0.8, gt=0.0, le=1.0)
    search: Literal["exact", "ivf"] = "exact"
    ivf_nlist: int | None = Field(None, ge=1)  # None: 4 * sqrt(rows)
    ivf_nprobe: int = Field(16, ge=1)
    ray_blocks: int = Setting(4, ge=1)  # query blocks (tasks) for the Ray pair search
    seed: int = Seed(42)  # IVF's k-means and the MinHash permutations
    # Near duplicates after the exact stage (platypus.data.dedup.minhash):
    # - embedding: every pair at cosine >= threshold;
    # - minhash: MinHash-LSH pairs at estimated Jaccard >= minhash_threshold on shingles of the
    #   compared text; nothing is embedded (lexical copies, not paraphrases);
    # - minhash+embedding: those LSH pairs, each kept only when its cosine is >= threshold too;
    #   only rows in an LSH pair are embedded. Its pairs are the embedding pairs that are also
    #   lexical near-copies.
    method: Literal["embedding", "minhash", "minhash+embedding"] = "embedding"
    minhash_threshold: float = Field(0.7, gt=0.0, le=1.0)  # estimated Jaccard
    minhash_num_perm: int = Field(128, ge=2)
    minhash_shingle: int = Field(5, ge=1)  # shingle size, in minhash_unit
    minhash_unit: Literal["char", "word"] = "char"
