"""Sentence embeddings with an on-disk cache keyed by content hash.

Every text is embedded once per (model, precision): re-runs, other thresholds and later stages
(contamination checks) read vectors back instead of re-embedding. Vectors are L2-normalised, so
a dot product is the cosine similarity.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Sequence
from contextlib import closing, nullcontext
from pathlib import Path

import numpy as np

from platypus.hashing import bytes_sha256, file_sha256
from platypus.models.minilm import resolve_embedder
from platypus.paths import cache_dir

PRECISIONS = ("fp32", "bf16")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def model_fingerprint(model_name: str | None, precision: str) -> str:
    """Identifies the vectors a model produces, as a file name: the model's name plus the hash
    of its weights when they are local (so a changed local model never reuses stale vectors),
    else the hash of its hub id or location (which may hold "/")."""
    resolved = resolve_embedder(model_name)
    weights = Path(resolved) / "model.safetensors"
    if weights.is_file():
        tag = file_sha256(weights)[:16]
    else:
        tag = bytes_sha256(resolved.encode("utf-8"))[:16]
    return f"{_UNSAFE.sub('_', Path(resolved).name)}-{tag}-{precision}"


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class EmbeddingCache:
    """A sqlite file of sha256(text) -> float32 vector, one file per model fingerprint."""

    def __init__(self, fingerprint: str, root: Path | None = None):
        root = root or cache_dir() / "embeddings"
        root.mkdir(parents=True, exist_ok=True)
        self.path = root / f"{fingerprint}.sqlite"
        with closing(self._connect()) as db, db:
            db.execute("CREATE TABLE IF NOT EXISTS vec (key BLOB PRIMARY KEY, v BLOB NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60)

    def get(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        with closing(self._connect()) as db:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                for key, blob in db.execute(
                    f"SELECT key, v FROM vec WHERE key IN ({marks})", chunk
                ):
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put(self, items: dict[bytes, np.ndarray]) -> None:
        rows = [(k, np.ascontiguousarray(v, dtype=np.float32).tobytes()) for k, v in items.items()]
        with closing(self._connect()) as db, db:
            db.executemany("INSERT OR REPLACE INTO vec (key, v) VALUES (?, ?)", rows)


class Embedder:
    """Embeds texts with a sentence-transformers model, reading and filling the cache."""

    def __init__(
        self,
        model_name: str | None = None,
        precision: str = "fp32",
        batch_size: int = 16,
        use_cache: bool = True,
        cache_root: Path | None = None,
        show_progress: bool | None = None,
        compute=None,
    ):
        """`compute`: a `ComputeSettings` or `platypus.compute.Policy` whose device embeds
        (None: the CPU)."""
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.model_name = model_name
        self.precision = precision
        self.batch_size = batch_size
        self.fingerprint = model_fingerprint(model_name, precision)
        self.cache = EmbeddingCache(self.fingerprint, cache_root) if use_cache else None
        self.show_progress = show_progress
        self.device = "cpu"
        if compute is not None:
            from platypus.compute import resolve

            self.device = resolve(compute).device
        self._model = None
        self.computed = 0  # texts embedded (not read from the cache) by this instance

    @property
    def model(self):
        if self._model is None:
            from platypus.models.minilm import load_embedder

            self._model = load_embedder(self.model_name, device=self.device)
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, L2-normalised, in the order given."""
        keys = [text_key(t) for t in texts]
        unique = dict.fromkeys(keys)
        cached = self.cache.get(list(unique)) if self.cache else {}
        todo = [k for k in unique if k not in cached]
        if todo:
            by_key = {k: t for k, t in zip(keys, texts, strict=True)}
            fresh = self._embed([by_key[k] for k in todo])
            new = dict(zip(todo, fresh, strict=True))
            if self.cache:
                self.cache.put(new)
            cached.update(new)
            self.computed += len(todo)
        if not keys:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([cached[k] for k in keys]).astype(np.float32, copy=False)

    @property
    def dimension(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    def _embed(self, texts: list[str]) -> np.ndarray:
        import torch

        # Texts go in a fixed order (sorted by content) so that batch composition, and with it
        # any rounding, does not depend on the order rows arrive in.
        order = sorted(range(len(texts)), key=lambda i: (len(texts[i]), texts[i]))
        bf16 = self.precision == "bf16"
        autocast = torch.autocast(self.device, dtype=torch.bfloat16) if bf16 else nullcontext()
        show = self.show_progress if self.show_progress is not None else len(texts) > 2000
        with torch.inference_mode(), autocast:
            vectors = self.model.encode(
                [texts[i] for i in order],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=show,
            ).astype(np.float32)
        out = np.empty_like(vectors)
        out[order] = vectors
        return out
