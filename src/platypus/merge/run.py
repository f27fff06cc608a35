"""`platypus merge`: adapter into base, adapter transplant, or a merge of several models.

Every method streams: tensors are read from the inputs' safetensors one name at a time, merged
in float32, cast and written before the next is read. The output folder holds the weights, the
config and tokenizer of the model the weights follow (base or target), and a merge card.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from platypus import __version__
from platypus.config import MergeConfig
from platypus.errors import PlatypusError
from platypus.hashing import file_sha256
from platypus.memory import peak_mb, reset_peak
from platypus.merge import methods
from platypus.merge.lora import check, load_adapter
from platypus.merge.tensors import Checkpoint, StreamWriter, TensorInfo
from platypus.models import resolve_causal_lm

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".index.json")


@dataclass
class MergeResult:
    output_dir: Path
    card: dict


def _folder(name: str | None, what: str) -> Path:
    path = Path(resolve_causal_lm(name))
    if not path.is_dir():
        raise PlatypusError(f"{what} {name!r}: not a local model folder (download it first)")
    return path


def _config(folder: Path) -> dict:
    path = folder / "config.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _out_dtype(config: MergeConfig, info: TensorInfo) -> torch.dtype:
    if not info.dtype.is_floating_point:
        return info.dtype
    return DTYPES[config.dtype] if config.dtype else info.dtype


def _copy_side_files(source: Path, out: Path, dtype: str | None) -> None:
    """Config, generation config and tokenizer from the model whose layout the output has."""
    for f in source.iterdir():
        if f.is_file() and not f.name.endswith(WEIGHT_SUFFIXES) and f.name != "README.md":
            shutil.copy2(f, out / f.name)
    if dtype and (out / "config.json").is_file():
        cfg = json.loads((out / "config.json").read_text())
        for key in ("torch_dtype", "dtype"):
            if key in cfg:
                cfg[key] = dtype
        (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")


def _hashes(folder: Path, ckpt: Checkpoint | None = None) -> dict:
    files = ckpt.files_on_disk() if ckpt else sorted(folder.glob("*.safetensors"))
    return {f.name: file_sha256(f) for f in files}


def merge(config: MergeConfig) -> MergeResult:
    out = Path(config.output_dir)
    reset_peak()
    t0 = time.perf_counter()
    if config.method in ("adapter", "transplant"):
        source, card = _apply_adapter(config, out)
    else:
        source, card = _merge_models(config, out)
    _copy_side_files(source, out, config.dtype)
    card |= {
        "method": config.method,
        "parameters": config.model_dump(exclude={"output_dir", "overlap"}),
        "output": _hashes(out),
        "seconds": round(time.perf_counter() - t0, 2),
        "peak_rss_mb": round(peak_mb(), 1),
        "version": __version__,
    }
    if config.overlap:
        from platypus.config import DedupConfig
        from platypus.merge.overlap import overlap_markdown, overlap_report

        rows = overlap_report(config.overlap, DedupConfig(), config.overlap_threshold)
        card["data_overlap"] = rows
        (out / "overlap.md").write_text(overlap_markdown(rows) + "\n")
    (out / "merge.json").write_text(json.dumps(card, indent=1) + "\n")
    (out / "README.md").write_text(merge_card(card))
    return MergeResult(out, card)


def _prepare_out(out: Path) -> None:
    if out.exists():
        # A stale shard from an earlier merge must not sit beside the new weights.
        for f in out.glob("*.safetensors"):
            f.unlink()
        (out / "model.safetensors.index.json").unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def _apply_adapter(config: MergeConfig, out: Path) -> tuple[Path, dict]:
    if not config.adapter:
        raise PlatypusError(f"merge method {config.method!r} needs `adapter`")
    adapter = load_adapter(config.adapter)
    base_name = config.base_model or adapter.config.get("base_model_name_or_path")
    if config.method == "transplant":
        if not config.target_model:
            raise PlatypusError(
                "merge method 'transplant' needs `target_model` (the fine-tune "
                "the adapter is moved onto)"
            )
        target_folder = _folder(config.target_model, "target_model")
        base_folder = Path(resolve_causal_lm(base_name)) if base_name else None
        base_config = _config(base_folder) if base_folder and base_folder.is_dir() else None
    else:
        target_folder = _folder(base_name, "base_model")
        base_config = None
    target = Checkpoint(target_folder)
    # The size limit guards transplants; an adapter on its own base is what it was trained as.
    limit = config.max_delta_ratio if config.method == "transplant" else float("inf")
    compat = check(adapter, target, _config(target_folder), base_config, limit)
    if not compat.ok and not config.force:
        raise PlatypusError(
            f"refusing to apply {adapter.folder} to {target_folder}: "
            + "; ".join(compat.problems)
            + " (force: true applies it anyway)"
        )
    _prepare_out(out)
    entries = [TensorInfo(n, _out_dtype(config, i), i.shape) for n, i in target.info.items()]
    writer = StreamWriter(out, entries, config.max_shard_bytes)
    for e in tqdm(entries, desc=f"merge ({config.method})", unit=" tensors", disable=None):
        t = target.get(e.name)
        if e.name in adapter.deltas:
            t = t.float() + adapter.delta(e.name)
        writer.write(e.name, t.to(e.dtype))
    writer.close()
    card = {
        "inputs": [
            {
                "role": "adapter",
                "path": str(adapter.folder),
                "sha256": {
                    "adapter_model.safetensors": file_sha256(
                        adapter.folder / "adapter_model.safetensors"
                    )
                },
            },
            {
                "role": "target" if config.method == "transplant" else "base",
                "path": str(target_folder),
                "sha256": _hashes(target_folder, target),
            },
        ],
        "adapter": {
            "r": adapter.config["r"],
            "alpha": adapter.config["lora_alpha"],
            "scale": adapter.scale,
            "modules": len(adapter.deltas),
            "base": base_name,
        },
        "compatibility": compat.summary(),
    }
    return target_folder, card


def _merge_models(config: MergeConfig, out: Path) -> tuple[Path, dict]:
    method = config.method
    if not config.models:
        raise PlatypusError(f"merge method {method!r} needs `models`")
    if method == "slerp" and len(config.models) != 1:
        raise PlatypusError("slerp merges the base with exactly one other model")
    base_folder = _folder(config.base_model, "base_model") if method in methods.NEEDS_BASE else None
    folders = [_folder(m.model, "models") for m in config.models]
    base = Checkpoint(base_folder) if base_folder else None
    inputs = [Checkpoint(f) for f in folders]
    layout = base or inputs[0]
    for ckpt in ([base] if base else []) + inputs:
        if ckpt.info.keys() != layout.info.keys():
            diff = sorted(set(ckpt.info) ^ set(layout.info))
            raise PlatypusError(
                f"{ckpt.folder} and {layout.folder} differ in tensors, e.g. {diff[0]}"
            )
        bad = [n for n, i in ckpt.info.items() if i.shape != layout.info[n].shape]
        if bad:
            raise PlatypusError(
                f"{ckpt.folder}: {bad[0]} has shape {ckpt.info[bad[0]].shape}, "
                f"{layout.folder} has {layout.info[bad[0]].shape}"
            )
    _prepare_out(out)
    entries = [TensorInfo(n, _out_dtype(config, i), i.shape) for n, i in layout.info.items()]
    writer = StreamWriter(out, entries, config.max_shard_bytes)
    weights = [m.weight for m in config.models]
    densities = [m.density for m in config.models]
    for e in tqdm(entries, desc=f"merge ({method})", unit=" tensors", disable=None):
        tensors = [c.get(e.name) for c in inputs]
        if not tensors[0].is_floating_point():
            merged = (base or inputs[0]).get(e.name)
        elif method == "linear":
            merged = methods.linear(tensors, weights, config.normalize is not False)
        elif method == "slerp":
            merged = methods.slerp(base.get(e.name), tensors[0], config.t)
        else:
            merged = methods.task_arithmetic(
                method,
                base.get(e.name),
                tensors,
                weights,
                densities,
                normalize=config.normalize,
                rescale=config.rescale,
                scale=config.scale,
                seed=config.seed,
                name=e.name,
            )
        if not methods.finite(merged):
            raise PlatypusError(f"merge produced non-finite values in {e.name}")
        writer.write(e.name, merged.to(e.dtype))
    writer.close()
    card = {
        "inputs": (
            [{"role": "base", "path": str(base_folder), "sha256": _hashes(base_folder, base)}]
            if base
            else []
        )
        + [
            {
                "role": "model",
                "path": str(f),
                "weight": m.weight,
                "density": m.density,
                "sha256": _hashes(f, c),
            }
            for f, m, c in zip(folders, config.models, inputs, strict=True)
        ],
    }
    return layout.folder, card


def merge_card(card: dict) -> str:
    lines = [
        f"# Merged model ({card['method']})",
        "",
        f"Made with platypus {card['version']} in {card['seconds']} s "
        f"(peak RSS {card['peak_rss_mb']:,.0f} MB).",
        "",
        "## Inputs",
        "",
        "| role | path | weight | density | sha256 (first file) |",
        "|---|---|---:|---:|---|",
    ]
    for i in card["inputs"]:
        first = next(iter(i["sha256"].values()), "")[:16]
        lines.append(
            f"| {i['role']} | {i['path']} | {i.get('weight', '')} | "
            f"{i.get('density', '')} | {first} |"
        )
    lines += ["", "## Parameters", "", "```json", json.dumps(card["parameters"], indent=1), "```"]
    if "compatibility" in card:
        c = card["compatibility"]
        lines += [
            "",
            "## Adapter compatibility",
            "",
            f"{c['modules']} weights adapted; ||delta||/||W|| median "
            f"{c['delta_ratio_median']:.4f}, max {c['delta_ratio_max']:.4f}.",
            *(f"- problem (forced): {p}" for p in c["problems"]),
        ]
    if "data_overlap" in card:
        from platypus.merge.overlap import overlap_markdown

        lines += ["", "## Fine-tuning data overlap", "", overlap_markdown(card["data_overlap"])]
    lines += ["", "## Output", "", *(f"- {k}: {v}" for k, v in card["output"].items()), ""]
    return "\n".join(lines)
