"""nearswap: the base where it differs from the other model by much, the other model where
the two are near: per entry w = clamp(t / max(|base - other|, 1e-6), 0, 1) and the merge is
w * other + (1 - w) * base (mergekit 0.1.5's `nearswap`). `t` has no default, as in mergekit:
it is the distance below which the other model's value is taken whole (e.g. 0.0001).

A `base_model` listed among `models` is the base, as in mergekit's examples."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from platypus.errors import PlatypusError
from platypus.merge.methods.base import Parameter, TensorMerge, by_chunks, without_base, work

if TYPE_CHECKING:
    from pathlib import Path

    import torch

    from platypus.merge.config import MergeConfig


def nearswap(base: torch.Tensor, other: torch.Tensor, t: float) -> torch.Tensor:
    """Entry by entry, so computed slice by slice (`by_chunks`: the same bits, one output
    instead of seven whole-tensor temporaries)."""

    def swapped(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        weight = (t / (a - b).abs().clamp(min=1e-6)).clamp(min=0, max=1)
        return weight * b + (1 - weight) * a

    return by_chunks(swapped, work(base), work(other))


class NearSwap(TensorMerge):
    name = "nearswap"
    summary = "the other model's values where they lie within t of the base's"
    needs_base = True
    min_models = max_models = 1
    parameters = (
        Parameter("t", None, help="distance below which the other model's value is taken"),
    )

    def validate(self, config: MergeConfig) -> None:
        super().validate(without_base(config))
        if self.parameter("t").setting(config.parameters) is None:
            raise PlatypusError(f"merge method {self.name!r} needs parameters.t (e.g. 0.0001)")

    def run(self, config: MergeConfig, out: Path) -> tuple[Path, dict]:
        return super().run(without_base(config), out)

    def merge_tensor(self, name, base, tensors, settings: dict[str, Any]):
        t = settings["t"]
        if t is None:
            raise PlatypusError(f"nearswap: parameters.t gives no value for {name}")
        if isinstance(t, bool) or not isinstance(t, int | float):
            raise PlatypusError(f"nearswap: parameters.t is a number, got {t!r} for {name}")
        return nearswap(base, tensors[0], t)


NEARSWAP = NearSwap()
