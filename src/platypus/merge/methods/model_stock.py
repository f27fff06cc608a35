"""model_stock: the fine-tunes' average pulled towards the base by how much their deltas agree
(Model Stock, arXiv 2403.19522), with mergekit's definition.

With k fine-tunes and cos(theta) the mean pairwise cosine of their deltas from the base,
t = k cos / (1 + (k - 1) cos) and the merge is t * mean(W_i) + (1 - t) * W_0; where the
denominator vanishes the base is kept. Per tensor, or per row (`filter_wise`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from platypus.merge.methods.base import Parameter, TensorMerge, by_chunks, work

if TYPE_CHECKING:
    from collections.abc import Sequence

    import torch


def model_stock(
    base: torch.Tensor, tensors: Sequence[torch.Tensor], filter_wise: bool = False
) -> torch.Tensor:
    import torch

    w0, ws = work(base), [work(t) for t in tensors]
    shape = w0.shape
    if filter_wise:
        if w0.dim() == 1:
            w0, ws = w0.unsqueeze(0), [w.unsqueeze(0) for w in ws]
    else:
        w0, ws = w0.reshape(-1), [w.reshape(-1) for w in ws]
    offsets = [w - w0 for w in ws]
    cosines = []
    for i, a in enumerate(offsets):
        for b in offsets[i + 1 :]:
            norms = (a.norm(dim=-1) * b.norm(dim=-1)).clamp(min=1e-6)
            # a * b slice by slice into one tensor (the same bits), summed whole as mergekit
            products = by_chunks(lambda x, y: x * y, a, b)
            cosines.append((products.sum(dim=-1) / norms).clamp(-1, 1))
            del products
    cos = torch.stack(cosines).mean(dim=0).unsqueeze(-1)
    k = len(ws)
    denominator = 1 + (k - 1) * cos
    # Opposed deltas (cos -> -1/(k-1)) give no finite estimate: keep the base there.
    singular = denominator.abs() < 1e-6
    t = torch.where(
        singular,
        torch.zeros_like(cos),
        k * cos / torch.where(singular, torch.ones_like(denominator), denominator),
    )
    del offsets
    if filter_wise:
        average = sum(ws) / k
        return (t * average + (1 - t) * w0).reshape(shape)
    # One scalar t: the combination entry by entry, slice by slice (the same bits, without
    # the average and the two products as whole-tensor temporaries).
    t = t.reshape(())
    return by_chunks(lambda b, *ms: t * (sum(ms) / k) + (1 - t) * b, w0, *ws).reshape(shape)


class ModelStock(TensorMerge):
    name = "model_stock"
    summary = "average of the fine-tunes pulled towards the base by their deltas' agreement"
    needs_base = True
    min_models = 2
    parameters = (
        Parameter("filter_wise", False, help="one interpolation per row, not per tensor"),
    )

    def merge_tensor(self, name, base, tensors, settings: dict[str, Any]):
        return model_stock(base, tensors, settings["filter_wise"])


MODEL_STOCK = ModelStock()
