"""Sentence embeddings with an on-disk cache keyed by content hash.

Every text is embedded once per (model, precision, backend): re-runs, other thresholds and later
stages (contamination checks) read vectors back instead of re-embedding. Vectors are
L2-normalised, so a dot product is the cosine similarity.
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
from platypus.settings import EMBED_PRECISIONS

PRECISIONS = EMBED_PRECISIONS  # per backend
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
# Texts embedded between two cache writes: a second process embedding the same texts (two
# recipes, a run and a decontamination) reads what the first wrote before each of its chunks.
CHUNK = 2048


def _model_tag(model_name: str | None) -> tuple[str, str]:
    """(resolved name or path, file-name tag): the model's name plus the hash of its weights
    when they are local (so a changed local model never reuses stale vectors), else the hash of
    its hub id or location (which may hold "/")."""
    resolved = resolve_embedder(model_name)
    weights = Path(resolved) / "model.safetensors"
    if weights.is_file():
        tag = file_sha256(weights)[:16]
    else:
        tag = bytes_sha256(resolved.encode("utf-8"))[:16]
    return resolved, f"{_UNSAFE.sub('_', Path(resolved).name)}-{tag}"


def model_fingerprint(model_name: str | None, precision: str, backend: str = "torch") -> str:
    """Identifies the vectors a model produces, as a file name: the model's tag, the precision
    and, for a backend other than torch, the backend and a hash of its export recipe and
    runtime version (vectors of different backends are never mixed)."""
    check_backend(backend, precision)
    fingerprint = f"{_model_tag(model_name)[1]}-{precision}"
    if backend != "torch":
        from platypus.similarity.onnx_backend import recipe_tag

        fingerprint += f"-{backend}-{recipe_tag(backend)}"
    return fingerprint


def check_backend(backend: str, precision: str) -> None:
    if backend not in PRECISIONS:
        raise ValueError(f"embed_backend must be one of {tuple(PRECISIONS)}, got {backend!r}")
    if precision not in PRECISIONS[backend]:
        raise ValueError(
            f"precision must be one of {PRECISIONS[backend]} with embed_backend {backend}, "
            f"got {precision!r}"
        )


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
        # WAL: readers never wait for a writer, and writers of several processes queue (busy
        # timeout) instead of failing.
        db = sqlite3.connect(self.path, timeout=120)
        db.execute("PRAGMA journal_mode=WAL")
        return db

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
    """Embeds texts with a sentence-transformers model (on torch, ONNX Runtime or OpenVINO),
    reading and filling the cache."""

    def __init__(
        self,
        model_name: str | None = None,
        precision: str = "fp32",
        batch_size: int = 16,
        use_cache: bool = True,
        cache_root: Path | None = None,
        show_progress: bool | None = None,
        compute=None,
        backend: str = "torch",
        chunk_size: int = CHUNK,
    ):
        """`compute`: a `ComputeSettings` or `platypus.compute.Policy` whose device embeds
        (None: the CPU; onnx and openvino run on the CPU). `chunk_size`: texts embedded between
        two cache writes (rounded down to whole batches)."""
        check_backend(backend, precision)
        self.model_name = model_name
        self.precision = precision
        self.backend = backend
        self.batch_size = batch_size
        self.chunk_size = max(batch_size, chunk_size // batch_size * batch_size)
        self.fingerprint = model_fingerprint(model_name, precision, backend)
        self.cache = EmbeddingCache(self.fingerprint, cache_root) if use_cache else None
        self.show_progress = show_progress
        self.device = "cpu"
        if compute is not None and backend == "torch":
            from platypus.compute import resolve

            self.device = resolve(compute).device
        # Code a model folder ships runs only with the opt-in (platypus.models.remote_code).
        self.trust_remote_code = bool(getattr(compute, "trust_remote_code", False))
        self._model = None
        self.computed = 0  # texts embedded (not read from the cache) by this instance

    @property
    def model(self):
        """The SentenceTransformer (torch) or the `OnnxEncoder` (onnx, openvino)."""
        if self._model is None:
            if self.backend == "torch":
                from platypus.models.minilm import load_embedder

                self._model = load_embedder(
                    self.model_name, device=self.device, trust_remote_code=self.trust_remote_code
                )
            else:
                from platypus.similarity.onnx_backend import OnnxEncoder

                resolved, tag = _model_tag(self.model_name)
                self._model = OnnxEncoder(resolved, tag, self.backend, self.precision == "int8",
                                          self.trust_remote_code)  # fmt: skip
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, L2-normalised, in the order given.

        Texts the cache lacks are embedded in one fixed order (see `_embed`), `chunk_size` at a
        time; each chunk is written to the cache when done, and before each chunk the cache is
        read again, so texts another process has embedded meanwhile are read, not recomputed.
        """
        keys = [text_key(t) for t in texts]
        by_key = dict(zip(keys, texts, strict=True))
        found = self.cache.get(list(by_key)) if self.cache else {}
        todo = sorted((k for k in by_key if k not in found), key=lambda k: _order(by_key[k]))
        show = self.show_progress if self.show_progress is not None else len(todo) > 2000
        bar = None
        if show and todo:
            from platypus.progress import progress

            bar = progress(total=len(todo), desc="embedding", unit=" texts")
        start = 0
        while start < len(todo):
            if self.cache and start:
                meanwhile = self.cache.get(todo[start:])
                if meanwhile:
                    found.update(meanwhile)
                    todo = todo[:start] + [k for k in todo[start:] if k not in meanwhile]
                    if bar is not None:
                        bar.update(len(meanwhile))
            chunk = todo[start : start + self.chunk_size]
            if not chunk:
                break
            new = dict(zip(chunk, self._embed([by_key[k] for k in chunk]), strict=True))
            if self.cache:
                self.cache.put(new)
            found.update(new)
            self.computed += len(chunk)
            start += len(chunk)
            if bar is not None:
                bar.update(len(chunk))
        if bar is not None:
            bar.close()
        if not keys:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)

    @property
    def dimension(self) -> int:
        if self.backend != "torch":
            return self.model.dimension
        return int(self.model.get_sentence_embedding_dimension())

    def _embed(self, texts: list[str]) -> np.ndarray:
        # Texts go in a fixed order (sorted by content) so that batch composition, and with it
        # any rounding, does not depend on the order rows arrive in. `encode` hands over chunks
        # of whole batches of this same order, so chunking does not change a batch either.
        order = sorted(range(len(texts)), key=lambda i: _order(texts[i]))
        ordered = [texts[i] for i in order]
        if self.backend != "torch":
            vectors = self.model.encode(ordered, self.batch_size)
        else:
            import torch

            bf16 = self.precision == "bf16"
            autocast = torch.autocast(self.device, dtype=torch.bfloat16) if bf16 else nullcontext()
            # One call per batch: sentence-transformers re-sorts what it is given (by length,
            # unstably), which would make a batch depend on the texts around it.
            bs = self.batch_size
            with torch.inference_mode(), autocast:
                vectors = np.concatenate([
                    self.model.encode(ordered[i : i + bs], batch_size=bs,
                                      normalize_embeddings=True, convert_to_numpy=True,
                                      show_progress_bar=False).astype(np.float32)
                    for i in range(0, len(ordered), bs)
                ])  # fmt: skip
        out = np.empty_like(vectors)
        out[order] = vectors
        return out


def _order(text: str) -> tuple[int, str]:
    return len(text), text
