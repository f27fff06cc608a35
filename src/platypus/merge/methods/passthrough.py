"""passthrough: one model's tensors as they are, each times the model's `scale` where one is
set (mergekit's `passthrough`). With `slices` it stacks layer ranges of models, one source per
slice (a "frankenmerge"; `platypus.merge.slices`); with `models`, it copies the one model."""

from __future__ import annotations

from typing import Any

from platypus.merge.methods.base import Parameter, TensorMerge, work


class Passthrough(TensorMerge):
    name = "passthrough"
    summary = "one model's tensors (times scale); stacks layer slices"
    min_models = max_models = 1
    parameters = (Parameter("scale", None, per_model=True, help="multiply the tensors by this"),)

    def merge_tensor(self, name, base, tensors, settings: dict[str, Any]):
        (scale,) = settings["scale"]
        return tensors[0] if scale is None else work(tensors[0]) * float(scale)


PASSTHROUGH = Passthrough()
