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
- `tokenizer_source`: unset or `base` (the output takes the base's tokenizer, as ours does);
- `chat_template`: auto, a mergekit template name or Jinja text, set on the merged tokenizer
  (`platypus.merge.chat_template`);
- refused: `slices` and `modules` (layer stacking), `tokenizer_source: union` or a model,
  `tokenizer`, and `model+adapter` references.
"""

from __future__ import annotations

from typing import Any

KNOWN = {"merge_method", "base_model", "models", "parameters", "dtype", "out_dtype",
         "tokenizer_source", "tokenizer", "chat_template", "slices", "modules"}  # fmt: skip
REFUSED = {
    "slices": "layer slices (passthrough stacking) are not supported yet; merge whole models",
    "modules": "per-module definitions are not supported yet",
    "tokenizer": "a tokenizer definition (added tokens, vocabulary union) is not supported yet",
}


def from_mergekit(config: dict[str, Any]) -> dict[str, Any]:
    """Our merge configuration (as a mapping to validate) for a mergekit config; ValueError
    (reported with the key) for anything we would have to ignore."""
    from platypus.config import MergeConfig
    from platypus.merge.methods import METHODS

    # our own settings may sit beside mergekit's keys in a recipe (output_dir, force, ...)
    ours = set(MergeConfig.model_fields) - {"method", "models", "parameters", "base_model",
                                            "dtype", "chat_template"}  # fmt: skip
    unknown = sorted(set(config) - KNOWN - ours)
    if unknown:
        raise ValueError(f"{unknown[0]}: not a key of mergekit's merge configuration")
    for key, why in REFUSED.items():
        if config.get(key) is not None:
            raise ValueError(f"{key}: {why}")
    source = config.get("tokenizer_source")
    if source not in (None, "base"):
        raise ValueError(f"tokenizer_source {source!r}: only the base's tokenizer is supported "
                         "(unset or base)")  # fmt: skip
    method = config["merge_method"]
    base = config.get("base_model")
    models = config.get("models") or []
    if not isinstance(models, list):
        raise ValueError("models: a list of {model, parameters}")
    for ref in [base] + [m.get("model") if isinstance(m, dict) else m for m in models]:
        if isinstance(ref, str) and "+" in ref:
            raise ValueError(f"{ref}: model+adapter references are not supported yet; merge "
                             "the adapter first (platypus merge --adapter)")  # fmt: skip
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
    if base is not None:
        out["base_model"] = base
    if config.get("chat_template") is not None:
        out["chat_template"] = config["chat_template"]
    out |= {k: v for k, v in config.items() if k in ours}
    dtype = config.get("out_dtype") or config.get("dtype")
    if dtype is not None:
        out["dtype"] = dtype
    return out
