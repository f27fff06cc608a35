"""The one switch between this machine and Ray: embedding, and the pair search within a set.
Both engines give the same vectors and pairs."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import numpy as np

from platypus.similarity.embed import Embedder
from platypus.similarity.pairs import Neighbours, neighbours
from platypus.similarity.ray_engine import ray_embed, ray_neighbours

if TYPE_CHECKING:
    from platypus.settings import EmbeddingSettings
    from platypus.similarity.pairs import SearchSettings


# What `precision: auto` becomes on the backends that do not consult the probe: ONNX Runtime's
# int8 is its fastest (re-scored in fp32, so the kept set is fp32's); OpenVINO runs fp32 only.
AUTO_PRECISION = {"onnx": "int8", "openvino": "fp32"}

S = TypeVar("S", bound="EmbeddingSettings")


def resolve_embedding(settings: S) -> S:
    """`settings` made concrete for this host, as the stage outputs record them. `precision:
    auto`: on torch, bf16 on a GPU and on a CPU whose bf16 matmuls the probe finds fast enough
    (the rule that decides eval and training autocast, platypus.compute), fp32 elsewhere; per
    AUTO_PRECISION on the other backends. `compute.device: auto`: the device that embeds (the
    CPU for onnx and openvino)."""
    if settings.embed_backend in AUTO_PRECISION:
        device = "cpu"
        precision = AUTO_PRECISION[settings.embed_backend]
    else:
        from platypus.compute import resolve

        # The probe only runs (once per host, cached) where precision is left to it.
        policy = resolve(settings.compute, allow_bf16=True, probe=settings.precision == "auto")
        device = policy.device
        fast = policy.device != "cpu" or policy.autocast is not None
        precision = "bf16" if fast else "fp32"
    if settings.precision != "auto":
        precision = settings.precision
    compute = settings.compute.model_copy(update={"device": device})
    return settings.model_copy(update={"precision": precision, "compute": compute})


def embed_texts(
    texts: list[str], settings: EmbeddingSettings, precision: str, backend: str | None = None
) -> tuple[np.ndarray, int]:
    """Vectors for `texts` under `settings` (in `precision`, on `backend`, default the
    settings' `embed_backend`), on this machine or on Ray; also returns how many had to be
    computed rather than read from the cache."""
    backend = backend or settings.embed_backend
    if settings.engine == "ray":
        return ray_embed(texts, settings, precision, backend)
    embedder = Embedder(settings.model, precision, settings.batch_size, settings.cache,
                        compute=settings.compute, backend=backend)  # fmt: skip
    return embedder.encode(texts), embedder.computed


def find_neighbours(x: np.ndarray, threshold: float, config: SearchSettings) -> Neighbours:
    """Pairs >= threshold among the rows of `x`, with the search the config names."""
    if config.engine == "ray":
        return ray_neighbours(x, threshold, config)
    return neighbours(x, threshold, config.search, config.ivf_nlist, config.ivf_nprobe,
                      config.seed)  # fmt: skip
