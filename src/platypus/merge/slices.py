"""Layer slices (mergekit's `slices`): the output's decoder layers are each slice's layers in
turn, so ranges of models can be stacked ("frankenmerges", with `passthrough`) or merged range
by range with any tensor method.

As mergekit 0.1.5 plans them (`mergekit.plan`: plan_module, plan_slice, plan_layer):
- a slice takes the same number of layers from each source; its output layer k is layer a+k of
  every source (renamed to the output's index), merged by the method at layer fraction
  t = k / (n - 1) for a slice of n layers (1 when n is 1);
- the tensors outside the layers: the embeddings ("pre-weights") are merged from the first
  slice's sources, the final norm and head ("post-weights") from the last slice's, at t = 0
  with that slice's parameters;
- parameters: a source's own, then its slice's, then the merge's; the first of these whose
  setting gives a value for the tensor wins (a filter list that matches nothing falls through to
  the next), else the method's default. A source's own are resolved against its tensor's name
  (its layer index), the shared ones against the output's;
- a method that merges onto a base (slerp, task arithmetic ...; nuslerp and multislerp when
  `base_model` is set) finds `base_model` among each slice's sources; any other merges all of a
  slice's sources alike;
- the output's config is the base's (else the first source's) with `num_hidden_layers` the
  stacked count. Per-layer lists (`layer_types`, `no_rope_layers`) are stacked from the
  sources' configs as the layers are; mergekit 0.1.5 leaves them at the source's length, a
  config transformers refuses (its run_merge fails saving it).
Tensors are `<prefix>.layers.<i>.<rest>` (one stack of layers per model); outside them, names
with `embed` (not `embed_out`), `wte`, `wpe` or `position_ids`/`inv_freq` are pre-weights, the
rest post-weights.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from platypus.errors import PlatypusError

if TYPE_CHECKING:
    from platypus.merge.config import MergeConfig, MergeSlice
    from platypus.merge.methods.base import MergeMethod, Parameter, TensorMerge
    from platypus.merge.tensors import Checkpoint

_LAYER = re.compile(r"^(.+?\.layers)\.(\d+)\.(.+)$")
_PRE = re.compile(r"embed(?!_out)|(^|\.)(wte|wpe)\.|position_ids|inv_freq")
PER_LAYER_KEYS = ("layer_types", "no_rope_layers")  # config lists with one entry per layer


def validate_slices(method: MergeMethod, config: MergeConfig) -> None:
    """What can be checked without reading the models: a tensor method, no `models` beside the
    slices, and each slice as the method takes inputs (its count, its base, the parameters'
    names), in one line naming the slice."""
    from platypus.merge.config import MergeInput
    from platypus.merge.methods.base import TensorMerge

    if config.models:
        raise PlatypusError("slices and models: give one of them (the models of a merge, or "
                            "the layers of the output slice by slice)")  # fmt: skip
    if not isinstance(method, TensorMerge):
        raise PlatypusError(f"merge method {method.name!r} does not merge slices (passthrough, "
                            "linear, slerp and the other model merges do)")  # fmt: skip
    allowed = {n for p in method.parameters if p.per_model for n in (p.name, p.mergekit_name)}
    for i, piece in enumerate(config.slices):
        where = f"slices[{i}]"
        refs = [s.model for s in piece.sources]
        twice = next((r for n, r in enumerate(refs) if r in refs[:n]), None)
        if twice is not None:
            raise PlatypusError(f"{where}: {twice} is a source twice")
        for j, s in enumerate(piece.sources):
            _in_range(s.model, s.layer_range, f"{where}.sources[{j}]", _local_layers(s.model))
        base, others = _split(method, config, piece, where)
        if base is not None:
            for name in piece.sources[base].parameters:
                if name not in allowed:
                    raise PlatypusError(f"merge method {method.name!r}: {where}.sources[{base}]"
                                        f".parameters has no parameter {name!r}")  # fmt: skip
        n, low, high = len(others), method.min_models, method.max_models
        if n < low or (high is not None and n > high):
            arity = method._arity().replace("model", "source")
            raise PlatypusError(f"{where}: merge method {method.name!r} merges {arity} per "
                                f"slice; got {n}")  # fmt: skip
        view = config.model_copy(update={
            "slices": [],
            "models": [MergeInput(model=piece.sources[j].model,
                                  parameters=piece.sources[j].parameters) for j in others],
            "parameters": {**config.parameters, **piece.parameters},
        })  # fmt: skip
        try:
            method.validate(view)
        except PlatypusError as exc:
            raise PlatypusError(_renamed(str(exc), where, others)) from None


def _renamed(text: str, where: str, others: list[int]) -> str:
    """A method's message about its `models` as one about a slice's sources."""
    text = re.sub(r"models\[(\d+)\]", lambda m: f"{where}.sources[{others[int(m[1])]}]", text)
    return text if "slices[" in text else f"{where}: {text}"


def _split(
    method: MergeMethod, config: MergeConfig, piece: MergeSlice, where: str
) -> tuple[int | None, list[int]]:
    """(the base's index among the slice's sources, or None; the others' indices). A method
    whose base is optional (nuslerp, multislerp) has one when `base_model` is set."""
    indices = list(range(len(piece.sources)))
    if not method.reads_base(config):
        return None, indices
    found = [j for j in indices if piece.sources[j].model == config.base_model]
    if config.base_model is None or not found:
        raise PlatypusError(f"{where}: merge method {method.name!r} merges onto base_model, which "
                            "is to be one of each slice's sources")  # fmt: skip
    return found[0], [j for j in indices if j != found[0]]


def _local_layers(ref: str) -> int | None:
    """The layer count of a local model folder's config; None when it is not one (a hub id is
    checked once it is read)."""
    from platypus.merge.methods.base import num_layers

    path = Path(ref).expanduser()
    if not (path / "config.json").is_file():
        return None
    return num_layers(path, ()) or None


def _in_range(ref: str, layer_range: tuple[int, int], where: str, count: int | None) -> None:
    a, b = layer_range
    if count is not None and b > count:
        raise PlatypusError(f"{where}: layer_range [{a}, {b}] is past the {count} layers of "
                            f"{ref} (0 to {count})")  # fmt: skip


@dataclass
class _Stack:
    """One model's tensors: its layers (index -> names in file order) and the rest."""

    ckpt: Checkpoint
    prefix: str
    layers: dict[int, list[str]]
    outside: list[str]


def _stack(ref: str, ckpt: Checkpoint) -> _Stack:
    from platypus.merge.methods.base import num_layers

    layers: dict[int, list[str]] = {}
    prefixes, outside = set(), []
    for name in ckpt.names:
        m = _LAYER.match(name)
        if m is None:
            outside.append(name)
            continue
        prefixes.add(m.group(1))
        layers.setdefault(int(m.group(2)), []).append(name)
    if len(prefixes) != 1:
        what = "no tensors named ...layers.<i>..." if not prefixes else (
            f"{len(prefixes)} stacks of layers ({', '.join(sorted(prefixes))})")  # fmt: skip
        raise PlatypusError(f"slices: {ref} has {what}; slices take one stack of layers")
    count = num_layers(ckpt.folder, ckpt.names)
    if sorted(layers) != list(range(count)):
        raise PlatypusError(f"slices: {ref} has tensors of layers {min(layers)} to {max(layers)} "
                            f"but {count} layers in its config")  # fmt: skip
    return _Stack(ckpt, prefixes.pop(), layers, outside)


@dataclass
class _Out:
    """One output tensor: the slice it comes from, the sources' tensor names (in the slice's
    source order) and the layer fraction."""

    name: str
    slice: int
    names: list[str]
    t: float


def _plan(config: MergeConfig, stacks: dict[str, _Stack]) -> list[_Out]:
    """Every output tensor, in order: pre-weights, the layers slice by slice, post-weights;
    checked (ranges within the models, the same tensors and shapes in every source)."""
    plan: list[_Out] = []
    first, last = config.slices[0], config.slices[-1]
    layout = stacks[first.sources[0].model]
    pre = [n for n in layout.outside if _PRE.search(n)]
    post = [n for n in stacks[last.sources[0].model].outside if not _PRE.search(n)]
    plan += [_Out(n, 0, [n] * len(first.sources), 0.0) for n in pre]
    index = 0
    for i, piece in enumerate(config.slices):
        for j, s in enumerate(piece.sources):
            _in_range(
                s.model, s.layer_range, f"slices[{i}].sources[{j}]", len(stacks[s.model].layers)
            )
        n = piece.sources[0].layer_range[1] - piece.sources[0].layer_range[0]
        for k in range(n):
            t = k / (n - 1) if n > 1 else 1.0
            lead = piece.sources[0].model
            head_names = stacks[lead].layers[piece.sources[0].layer_range[0] + k]
            for s in piece.sources[1:]:
                own = len(stacks[s.model].layers[s.layer_range[0] + k])
                if own != len(head_names):  # a tensor the output would lack
                    raise PlatypusError(f"slices[{i}]: a layer of {s.model} has {own} tensors, "
                                        f"one of {lead} {len(head_names)}")  # fmt: skip
            for name in head_names:
                rest = _LAYER.match(name).group(3)
                names = [f"{stacks[s.model].prefix}.{s.layer_range[0] + k}.{rest}"
                         for s in piece.sources]  # fmt: skip
                plan.append(_Out(f"{layout.prefix}.{index}.{rest}", i, names, t))
            index += 1
    plan += [_Out(n, len(config.slices) - 1, [n] * len(last.sources), 0.0) for n in post]
    for out in plan:
        piece = config.slices[out.slice]
        shapes = set()
        for s, name in zip(piece.sources, out.names, strict=True):
            info = stacks[s.model].ckpt.info.get(name)
            if info is None:
                raise PlatypusError(f"slices[{out.slice}]: {s.model} has no tensor {name} "
                                    f"(for {out.name})")  # fmt: skip
            shapes.add(tuple(info.shape))
        if len(shapes) > 1:
            raise PlatypusError(f"slices[{out.slice}]: the sources' tensors for {out.name} "
                                f"differ in shape: {sorted(shapes)}")  # fmt: skip
    return plan


def _value(p: Parameter, scopes: list[dict[str, Any]], tensor: str, t: float) -> Any:
    """mergekit's resolve_parameter: the first scope whose setting gives a value, else the
    default."""
    from platypus.merge.parameters import resolve

    for scope in scopes:
        key = next((k for k in (p.name, p.mergekit_name) if scope.get(k) is not None), None)
        if key is None:
            continue
        v = scope[key] if p.is_list else resolve(scope[key], tensor, t)
        if v is None:
            continue
        if isinstance(p.default, float) and isinstance(v, int) and not isinstance(v, bool):
            return float(v)
        return v
    return p.default


def _settings(method: MergeMethod, config: MergeConfig, out: _Out, others: list[int]) -> dict:
    piece = config.slices[out.slice]
    values: dict[str, Any] = {}
    for p in method.parameters:
        if p.per_model:
            values[p.name] = [
                _value(p, [piece.sources[j].parameters, piece.parameters, config.parameters],
                       out.names[j], out.t) for j in others
            ]  # fmt: skip
        else:
            values[p.name] = _value(p, [piece.parameters, config.parameters], out.name, out.t)
    return values


def run_slices(method: TensorMerge, config: MergeConfig, out: Path) -> tuple[Path, dict]:
    """Write the sliced merge into `out`; (the folder whose config and tokenizer the output
    takes, the card's inputs)."""
    from platypus.merge.folders import out_dtype, prepare_output, weight_hashes
    from platypus.merge.methods.base import checked_merge
    from platypus.merge.references import describe, open_model
    from platypus.merge.tensor_writer import StreamWriter
    from platypus.merge.tensors import TensorInfo
    from platypus.progress import progress

    refs = list(dict.fromkeys(s.model for piece in config.slices for s in piece.sources))
    # local and stage folders, hub ids through the hub cache (platypus.merge.references)
    stacks = {r: _stack(r, open_model(r, "slices")) for r in refs}
    folders = {r: stacks[r].ckpt.folder for r in refs}
    layout = _layout(config, folders)
    plan = _plan(config, stacks)
    splits = [_split(method, config, piece, f"slices[{i}]")
              for i, piece in enumerate(config.slices)]  # fmt: skip
    prepare_output(out)
    entries = []
    for o in plan:
        info = stacks[config.slices[o.slice].sources[0].model].ckpt.info[o.names[0]]
        entries.append(TensorInfo(o.name, out_dtype(config.dtype, info), info.shape))
    writer = StreamWriter(out, entries, config.max_shard_bytes)
    for o, e in progress(list(zip(plan, entries, strict=True)), desc=f"merge ({method.name})",
                         unit=" tensors", disable=None):  # fmt: skip
        piece = config.slices[o.slice]
        tensors = [stacks[s.model].ckpt.get(n) for s, n in zip(piece.sources, o.names, strict=True)]
        base, others = splits[o.slice]
        if not tensors[0].is_floating_point():
            merged = tensors[0]
        else:
            base_t = tensors[base] if base is not None else None
            models = [tensors[j] for j in others]
            del tensors  # the method may free each model's tensor once it has read it
            merged = checked_merge(o.name, method.merge_tensor(
                o.name, base_t, models, _settings(method, config, o, others)), e.dtype)  # fmt: skip
        writer.write(o.name, merged.to(e.dtype))
    writer.close()
    uses: dict[str, list] = {r: [] for r in refs}
    for i, piece in enumerate(config.slices):
        for s in piece.sources:
            uses[s.model].append({"slice": i, "layer_range": list(s.layer_range)})
    base_ref = config.base_model if method.reads_base(config) else None
    inputs = [{"role": "base" if r == base_ref else "model", "path": str(folders[r]),
               **describe(stacks[r].ckpt), "slices": uses[r],
               "sha256": weight_hashes(folders[r], stacks[r].ckpt)}
              for r in refs]  # fmt: skip
    if config.base_model is not None and config.base_model not in folders:
        inputs.insert(0, {"role": "config", "path": str(layout),
                          "sha256": weight_hashes(layout)})  # fmt: skip
    # the output's hashes were taken from its bytes as they were written
    return layout, {"inputs": inputs, "layers": len(_layer_sources(config)),
                    "output": writer.digests}  # fmt: skip


def _layout(config: MergeConfig, folders: dict[str, Path]) -> Path:
    """The folder whose config and tokenizer the output takes: the base's, else the first
    source's (mergekit: the base's, else one of the models')."""
    from platypus.merge.folders import model_folder

    if config.base_model is None:
        return folders[config.slices[0].sources[0].model]
    return folders.get(config.base_model) or model_folder(config.base_model, "base_model")


def _layer_sources(config: MergeConfig) -> list[tuple[str, int]]:
    """(the model, its layer) each output layer takes its config entries from: the first
    source of its slice."""
    return [(piece.sources[0].model, layer) for piece in config.slices
            for layer in range(*piece.sources[0].layer_range)]  # fmt: skip


def write_config(config: MergeConfig, out: Path) -> None:
    """The output's config.json (copied from the layout folder) with the stacked layer count,
    and its per-layer lists stacked likewise."""
    from platypus.io.writers import write_bytes
    from platypus.merge.folders import model_config
    from platypus.merge.references import model_folder, parse

    path = out / "config.json"
    if not path.is_file():
        return
    cfg = json.loads(path.read_text())
    holder = _layers_holder(cfg)
    if holder is None:
        return
    layers = _layer_sources(config)
    count = holder["num_hidden_layers"]
    holder["num_hidden_layers"] = len(layers)
    sources: dict[str, dict] = {}
    for key in PER_LAYER_KEYS:
        if not (isinstance(holder.get(key), list) and len(holder[key]) == count):
            continue
        stacked = []
        for ref, layer in layers:
            if ref not in sources:
                model = parse(ref, "slices")  # MODEL+ADAPTER: the model's config
                folder = model_folder(model.model, "slices", model.revision, ref)
                sources[ref] = _layers_holder(model_config(folder)) or {}
            values = sources[ref].get(key)
            if not isinstance(values, list) or layer >= len(values):
                break
            stacked.append(values[layer])
        else:
            holder[key] = stacked
    write_bytes(path, (json.dumps(cfg, indent=2) + "\n").encode("utf-8"))


def _layers_holder(cfg: dict) -> dict | None:
    """The part of a config that holds num_hidden_layers (itself or its text_config)."""
    if isinstance(cfg.get("num_hidden_layers"), int):
        return cfg
    text = cfg.get("text_config")
    if isinstance(text, dict) and isinstance(text.get("num_hidden_layers"), int):
        return text
    return None
