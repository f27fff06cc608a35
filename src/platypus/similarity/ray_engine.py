"""Embedding and the pair search on Ray: embedding with Ray Data actors, pair search as Ray tasks
over query blocks. Locally this starts a Ray on this machine; on a cluster set `ray_address`
("auto" on a cluster node, or "ray://head:10001") and the same command fans out over its nodes.
Results are identical to the local engine: rows are re-ordered by index, and each query block
is searched against the full index.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from platypus.errors import PlatypusError
from platypus.similarity.embed import Embedder, text_key
from platypus.similarity.pairs import Neighbours, build_index, concat, query_block

if TYPE_CHECKING:
    from platypus.settings import EmbeddingSettings
    from platypus.similarity.pairs import SearchSettings


def _ray(config: EmbeddingSettings):
    try:
        import ray
    except ImportError:
        raise PlatypusError("--engine ray needs Ray: pip install 'ray[data]'") from None
    if not ray.is_initialized():
        ray.init(address=config.ray_address, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)  # fmt: skip
    return ray


class _EmbedActor:
    def __init__(self, model, precision, batch_size, cache, backend="torch"):
        self.embedder = Embedder(model, precision, batch_size, cache, show_progress=False,
                                 backend=backend)  # fmt: skip

    def __call__(self, batch: dict) -> dict:
        return {"i": batch["i"], "vec": self.embedder.encode([str(t) for t in batch["text"]])}


def ray_embed(
    texts: list[str], config: EmbeddingSettings, precision: str, backend: str = "torch"
) -> tuple[np.ndarray, int]:
    ray = _ray(config)
    # Count what the cache lacks before the workers fill it.
    probe = Embedder(config.model, precision, config.batch_size, config.cache, backend=backend)
    keys = list(dict.fromkeys(text_key(t) for t in texts))
    missing = len(keys) - (len(probe.cache.get(keys)) if probe.cache else 0)
    ds = ray.data.from_items([{"i": i, "text": t} for i, t in enumerate(texts)])
    out = ds.map_batches(
        _EmbedActor,
        fn_constructor_args=(config.model, precision, config.batch_size, config.cache, backend),
        batch_size=max(config.batch_size * 4, 256),
        batch_format="numpy",
        concurrency=max(1, int(ray.available_resources().get("CPU", 1)) // 2),
    )
    x = None
    for batch in out.iter_batches(batch_format="numpy", batch_size=None):
        if x is None:
            x = np.zeros((len(texts), batch["vec"].shape[1]), dtype=np.float32)
        x[batch["i"]] = batch["vec"]
    return x, missing


def ray_neighbours(x: np.ndarray, threshold: float, config: SearchSettings) -> Neighbours:
    ray = _ray(config)
    import faiss

    index = build_index(x, config.search, config.ivf_nlist, config.ivf_nprobe, config.seed)
    index_ref = ray.put(faiss.serialize_index(index))
    x_ref = ray.put(np.ascontiguousarray(x, dtype=np.float32))

    @ray.remote
    def search(index_bytes, vectors, start, stop):
        import faiss

        return query_block(faiss.deserialize_index(index_bytes), vectors, threshold, start, stop)

    step = -(-len(x) // config.ray_blocks)
    bounds = [(s, min(s + step, len(x))) for s in range(0, len(x), step)]
    return concat(ray.get([search.remote(index_ref, x_ref, a, b) for a, b in bounds]))
