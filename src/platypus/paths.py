"""Where data, caches and outputs live. Everything is overridable; nothing is fetched."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DATA_ROOT = "../shared/data"


def data_root(explicit: str | Path | None = None) -> Path:
    """The source/benchmark data folder: explicit, else $PLATYPUS_DATA, else ../shared/data."""
    return Path(explicit or os.environ.get("PLATYPUS_DATA") or DEFAULT_DATA_ROOT)


def cache_dir() -> Path:
    """Cache for converted models and embeddings: $PLATYPUS_CACHE, else ~/.cache/platypus."""
    root = os.environ.get("PLATYPUS_CACHE") or Path.home() / ".cache" / "platypus"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path
