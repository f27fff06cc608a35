"""`platypus merge`: adapter into base, adapter transplant, or a merge of several models.

Every method streams: tensors are read from the inputs' safetensors one name at a time, merged
in float32, cast and written before the next is read. The output folder holds the weights, the
config and tokenizer of the model the weights follow (base or target), and a merge card. An
adapter's merge saves that tokenizer with the chat template the adapter was trained with
(`platypus.train.saved_template`).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from platypus.cards import CARD as HUB_CARD
from platypus.io.writers import write_bytes
from platypus.memory import peak_mb, reset_peak
from platypus.merge.config import MergeConfig
from platypus.merge.folders import weight_hashes
from platypus.merge.methods import get
from platypus.model_cards import write_merge_card
from platypus.settings import EmbeddingSettings
from platypus.version import __version__

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".index.json")
CARD = "merge.json"  # the merge card; README.md is its readable form


@dataclass
class MergeResult:
    output_dir: Path
    card: dict


def _copy_side_files(source: Path, out: Path, dtype: str | None) -> None:
    """Config, generation config and tokenizer from the model whose layout the output has. Links
    are not followed: a link to a file elsewhere (a secret, say) would otherwise be copied into
    the output, and from there pushed to the Hub."""
    from platypus.merge.references import cache_link  # a hub snapshot's links into its blobs

    for f in source.iterdir():
        if (f.is_symlink() and not cache_link(f)) or not f.is_file():
            continue
        if not f.name.endswith(WEIGHT_SUFFIXES) and f.name != HUB_CARD:
            shutil.copy2(f, out / f.name, follow_symlinks=cache_link(f))
    if dtype and (out / "config.json").is_file():
        cfg = json.loads((out / "config.json").read_text())
        for key in ("torch_dtype", "dtype"):
            if key in cfg:
                cfg[key] = dtype
        _write_text(out / "config.json", json.dumps(cfg, indent=2) + "\n")


def _write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def merge(config: MergeConfig, embedding: EmbeddingSettings | None = None) -> MergeResult:
    """Merge as `config.method` says (see `platypus.merge.methods.METHODS`) into
    `config.output_dir`, with a merge card. `embedding`: how the overlap report embeds the
    partners' fine-tuning sets (a recipe's `data.dedup`); None: the default settings."""
    method = get(config.method)
    method.validate(config)
    # Recorded, not resolved: the merge is I/O bound and its arithmetic stays float32 on the CPU,
    # so a device this host lacks is no error.
    policy = {"requested": config.compute.model_dump(), "arithmetic": "float32 on cpu"}
    out = Path(config.output_dir)
    reset_peak()
    t0 = time.perf_counter()
    source, card = method.run(config, out)
    vocab = card.pop("tokenizer", None)  # tokenizer_source union or a model (merge.tokenizers)
    written = card.pop("output", None)  # the weight files' SHA-256, taken as they were written
    if source is not None:  # None: the output is no model folder (an extracted adapter)
        _copy_side_files(source, out, config.dtype)
        if vocab is not None:
            card["tokenizer"] = vocab.save(out)
        if config.slices:  # the stacked layers in config.json (platypus.merge.slices)
            from platypus.merge.slices import write_config

            write_config(config, out)
        if method.uses_adapter:  # prompted as the adapter was trained (its chat template)
            from platypus.train.saved_template import save_adapter_template

            save_adapter_template(out, config.adapter, config.compute.trust_remote_code)
        if config.chat_template:
            from platypus.merge.chat_template import resolve_chat_template, save_chat_template

            inputs = [Path(i["path"]) for i in card.get("inputs", []) if i.get("path")]
            template = resolve_chat_template(config.chat_template, inputs)
            if template is not None:
                save_chat_template(out, template)
    card |= {
        "method": config.method,
        "parameters": config.model_dump(exclude={"output_dir", "overlap"}),
        "output": written if written is not None else weight_hashes(out),
        "seconds": round(time.perf_counter() - t0, 2),
        "peak_rss_mb": round(peak_mb(), 1),
        "compute": policy,
        "version": __version__,
    }
    if config.overlap:
        from platypus.merge.overlap import overlap_markdown, overlap_report
        from platypus.similarity.engine import resolve_embedding

        settings = resolve_embedding(embedding if embedding is not None else EmbeddingSettings())
        rows = overlap_report(config.overlap, settings, config.overlap_threshold)
        card["data_overlap"] = rows
        card["data_overlap_embedding"] = {"model": settings.model, "precision": settings.precision}
        _write_text(out / "overlap.md", overlap_markdown(rows) + "\n")
    _write_text(out / CARD, json.dumps(card, indent=1) + "\n")
    write_merge_card(out, card, merge_card(card))  # README.md: with the Hub's metadata
    return MergeResult(out, card)


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
    if "extraction" in card:
        x = card["extraction"]
        e = x["energy_kept"]
        lines += [
            "",
            "## LoRA extraction",
            "",
            f"Rank {x['rank']} over {x['modules']} modules; energy kept (sum of kept s^2 / "
            f"sum of s^2) min {e['min']:.4f}, median {e['median']:.4f}, mean {e['mean']:.4f}.",
            "",
            "| module | rank | energy kept |",
            "|---|---:|---:|",
            *(
                f"| {m} | {v['rank']} | {v['energy_kept']:.4f} |"
                for m, v in x["per_module"].items()
            ),
        ]
        if x["not_extracted"]:
            lines += [
                "",
                f"Differ from the base but not in the LoRA: {', '.join(x['not_extracted'])}.",
            ]
    if "data_overlap" in card:
        from platypus.merge.overlap import overlap_markdown

        lines += ["", "## Fine-tuning data overlap", "", overlap_markdown(card["data_overlap"])]
        if "data_overlap_embedding" in card:
            e = card["data_overlap_embedding"]
            model = e["model"] or "all-MiniLM-L6-v2 (packaged)"
            lines += ["", f"Embeddings: {model}, {e['precision']}."]
    lines += ["", "## Output", "", *(f"- {k}: {v}" for k, v in card["output"].items()), ""]
    return "\n".join(lines)
