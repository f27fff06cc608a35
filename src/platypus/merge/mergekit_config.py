"""A mergekit configuration (`merge_method:`, `base_model:`, `models: [{model, parameters}]`,
`parameters:`, `dtype:` ...) read as it is, as a merge's configuration.

`platypus merge CONFIG.yml OUT` and a recipe's `merge:` section take mergekit's schema. What
mergekit means and we do the same way is translated; what we do not support is refused in one
line naming the key, never ignored:
- `merge_method` is the method (the registry's names are mergekit's);
- `models`: each `{model, parameters}`; a method that merges onto a base drops the base from
  `models` when it is listed there too (mergekit's slerp lists both, and its task-arithmetic
  family skips the base's own delta);
- `parameters` (the merge's and each model's): values, gradient lists and tensor filters,
  resolved per tensor as mergekit resolves them (`platypus.merge.parameters`);
- `dtype` / `out_dtype`: the output's dtype (`out_dtype` wins). Our arithmetic is float32
  whatever `dtype` says (mergekit computes in `dtype`), so with float32 the two agree;
- `tokenizer_source`: unset or `base` (the output takes the base's tokenizer, as ours does),
  `union` or a model reference (`platypus.merge.tokenizers`; not with `slices`);
- `chat_template`: auto, a mergekit template name or Jinja text, set on the merged tokenizer
  (`platypus.merge.chat_template`);
- `slices` (instead of `models`): each `{sources: [{model, layer_range, parameters}],
  parameters}`, the output's layers stacked slice by slice (`platypus.merge.slices`);
- refused: `modules`, a slice's own `base_model` and `residual_weight`, `tokenizer`, and
  `model+adapter` slice sources;
- a model reference (`models`, `base_model`) is a folder, a stage folder, a hub id
  (`org/name@revision`) or `MODEL+ADAPTER` (`platypus.merge.references`).
"""

from __future__ import annotations

from typing import Any

KNOWN = {"merge_method", "base_model", "models", "parameters", "dtype", "out_dtype",
         "tokenizer_source", "tokenizer", "chat_template", "slices", "modules"}  # fmt: skip
REFUSED = {
    "modules": "per-module definitions are not supported yet",
    "tokenizer": "a tokenizer definition (added tokens, vocabulary union) is not supported yet",
}


def from_mergekit(config: dict[str, Any]) -> dict[str, Any]:
    """Our merge configuration (as a mapping to validate) for a mergekit config; ValueError
    (reported with the key) for anything we would have to ignore."""
    from platypus.merge.config import MergeConfig
    from platypus.merge.methods import METHODS

    # our own settings may sit beside mergekit's keys in a recipe (output_dir, force, ...)
    ours = set(MergeConfig.model_fields) - {"method", "models", "parameters", "base_model",
                                            "dtype", "chat_template", "slices"}  # fmt: skip
    unknown = sorted(set(config) - KNOWN - ours)
    if unknown:
        raise ValueError(f"{unknown[0]}: not a key of mergekit's merge configuration")
    for key, why in REFUSED.items():
        if config.get(key) is not None:
            raise ValueError(f"{key}: {why}")
    method = config["merge_method"]
    base = config.get("base_model")
    models = config.get("models") or []
    if not isinstance(models, list):
        raise ValueError("models: a list of {model, parameters}")
    needs_base = getattr(METHODS.get(method), "needs_base", False)
    inputs = []
    for m in models:
        entry = m if isinstance(m, dict) else {"model": m}
        if needs_base and base is not None and entry.get("model") == base:
            continue  # the base is the method's base, not one of the merged deltas
        inputs.append(
            {"model": entry.get("model"), "parameters": entry.get("parameters") or {}}
            | {k: v for k, v in entry.items() if k not in ("model", "parameters")}
        )
    out: dict[str, Any] = {"method": method, "models": inputs,
                           "parameters": config.get("parameters") or {}}  # fmt: skip
    if config.get("slices") is not None:
        if models:
            raise ValueError("slices: give models or slices, not both")
        out["slices"] = _slices(config["slices"])
    if base is not None:
        out["base_model"] = base
    if config.get("chat_template") is not None:
        out["chat_template"] = config["chat_template"]
    out |= {k: v for k, v in config.items() if k in ours}
    dtype = config.get("out_dtype") or config.get("dtype")
    if dtype is not None:
        out["dtype"] = dtype
    return out


def _slices(slices: Any) -> list:
    """mergekit's `slices` as ours: the same keys, refusing a slice's own base_model and
    residual_weight (mergekit 0.1.5 ignores the latter) and model+adapter sources."""
    if not isinstance(slices, list) or not slices:
        raise ValueError("slices: a list of {sources: [{model, layer_range}], parameters}")
    out = []
    for i, piece in enumerate(slices):
        if not isinstance(piece, dict):
            raise ValueError(f"slices[{i}]: a mapping of sources and parameters")
        for key in ("base_model", "residual_weight"):
            if piece.get(key) is not None:
                raise ValueError(f"slices[{i}].{key}: a slice's own {key} is not supported")
        sources = piece.get("sources")
        for source in sources if isinstance(sources, list) else []:
            ref = source.get("model") if isinstance(source, dict) else None
            if isinstance(ref, str) and "+" in ref:
                raise ValueError(f"{ref}: model+adapter references are not supported yet; "
                                 "merge the adapter first (platypus merge --adapter)")  # fmt: skip
        kept = {k: v for k, v in piece.items() if k not in ("base_model", "residual_weight")}
        if isinstance(sources, list):
            kept["sources"] = [{k: v for k, v in s.items() if not (k == "parameters" and v is None)}
                               if isinstance(s, dict) else s for s in sources]  # fmt: skip
        out.append({k: v for k, v in kept.items() if not (k == "parameters" and v is None)})
    return out
