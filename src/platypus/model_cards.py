"""Model cards with the Hugging Face Hub's metadata: an adapter's (its base, data, licence and
training numbers) and a merge's (its inputs and method), and where a model a card names came
from (a hub repository and revision, a packaged GGUF, a local folder). Built with
huggingface_hub's `ModelCardData` like the dataset cards (`platypus.cards`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from platypus.cards import CARD, HUB_ID, PACKAGED_MODELS, as_list, dataset_of, write_card

if TYPE_CHECKING:
    from pydantic import BaseModel


@dataclass(frozen=True)
class ModelOrigin:
    """Where a model a card names came from. `hub_id`: its hub repository, None for a model
    that exists only here; `revision`: the hub commit, for a folder of the hub's cache;
    `gguf`: the GGUF file a packaged model was converted from."""

    hub_id: str | None
    revision: str | None = None
    gguf: str | None = None

    def describe(self, model: str | Path | None) -> str:
        """One sentence for a card's body: what the base was (no local path: cards are
        pushed)."""
        if self.hub_id is None:
            name = Path(str(model)).name or str(model)
            return (f"The base model was a local model (`{name}`), not a hub repository: the "
                    "card names no base_model.")  # fmt: skip
        if self.gguf is None:
            at = f" at revision `{self.revision}`" if self.revision else ""
            return f"The base model is [{self.hub_id}](https://huggingface.co/{self.hub_id}){at}."
        quant = gguf_quantisation(self.gguf)
        return (
            f"The base model is [{self.hub_id}](https://huggingface.co/{self.hub_id}) as platypus "
            f"packages it: converted from the GGUF file `{self.gguf}` ({quant} quantisation), "
            "dequantised to float32. That is the model this was made from; the repository's "
            "own weights are not quantised, so on them it can behave slightly differently."
        )


def gguf_quantisation(name: str) -> str:
    """The quantisation a GGUF file's name gives ("SmolLM2-135M-Instruct.Q4_1.gguf" -> "Q4_1")."""
    parts = name.removesuffix(".gguf").split(".")
    return parts[-1] if len(parts) > 1 else "unknown"


def hub_snapshot(folder: Path, kind: str = "models") -> tuple[str, str] | None:
    """(repository id, commit) of a folder in (or under) the hub's cache,
    `.../<kind>--<org>--<name>/snapshots/<commit>`; None for any other folder. `kind`: "models"
    or "datasets". (Hub repository ids cannot contain "--", so the split is exact.)"""
    parts = folder.parts
    for i in range(len(parts) - 2):
        repo, snapshots, commit = parts[i : i + 3]
        if snapshots == "snapshots" and repo.startswith(f"{kind}--") and commit:
            names = repo.removeprefix(f"{kind}--").split("--")
            if 1 <= len(names) <= 2 and all(names):
                return "/".join(names), commit
    return None


def model_origin(model: str | Path | None) -> ModelOrigin:
    """The hub repository a resolved base model came from: the packaged models (their aliases,
    or the folder they are converted into) by their hub ids, flagged as converted from their
    GGUF file; a folder of the hub's cache by its repository and commit; a hub id as it is. A
    local folder of any other kind has none."""
    from platypus.models.causal_lm import _HUB_ID, _SMOLLM2_ALIASES

    if model in _SMOLLM2_ALIASES:
        _, hub_id, _, gguf = PACKAGED_MODELS[0]
        return ModelOrigin(hub_id, gguf=gguf)
    path = Path(str(model)).expanduser()
    if path.is_dir():
        folder = path.resolve()
        for prefix, hub_id, _, gguf in PACKAGED_MODELS:
            if re.fullmatch(re.escape(prefix) + "[0-9a-f]{12}", folder.name):
                return ModelOrigin(hub_id, gguf=gguf)
        snapshot = hub_snapshot(folder, "models")
        return ModelOrigin(*snapshot) if snapshot else ModelOrigin(None)
    if path.exists() or not _HUB_ID.fullmatch(str(model)):  # ("gpt2" too, as loads take it)
        return ModelOrigin(None)
    return ModelOrigin(str(model))


def hub_model_id(model: str | Path | None) -> str:
    """How the Hub names a model (`model_origin`); a model with no hub id by its path."""
    return model_origin(model).hub_id or str(model)


def dataset_hub_id(input_path: str | Path | None) -> str | None:
    """The hub dataset a training file came from: a file in the hub's cache
    (`.../datasets--<org>--<name>/snapshots/<commit>/...`) names its repository; a local file,
    even one a data stage wrote (the Hub knows no repository of it), names none."""
    if input_path is None:
        return None
    snapshot = hub_snapshot(Path(str(input_path)).expanduser().absolute(), "datasets")
    return snapshot[0] if snapshot else None


def model_card_of(model: str | Path | None):
    """The ModelCard in a local model or adapter folder, or None."""
    if model is None or not (Path(str(model)) / CARD).is_file():
        return None
    from huggingface_hub import ModelCard

    try:
        return ModelCard.load(Path(str(model)) / CARD)
    except Exception:  # a card we cannot parse says nothing about the model
        return None


def model_license_of(model: str | Path | None) -> str | None:
    """A base model's licence: the packaged models', else what its card says."""
    hub_id = hub_model_id(model)
    known = {h: lic for _, h, lic, _ in PACKAGED_MODELS}
    if hub_id in known:
        return known[hub_id]
    card = model_card_of(model)
    return card.data.license if card is not None else None


def model_license(base: str | None, data: Iterable[str]) -> str:
    """A fine-tune's licence: the training data's when it is non-commercial or custom (it
    restricts the model's use, as Platypus2's non-commercial licence followed its data), else
    the base model's; "other" when neither is known."""
    restrictive = sorted({d for d in data if "-nc" in d or d == "other"})
    if restrictive:
        return restrictive[0] if len(restrictive) == 1 else "other"
    return base or "other"


ADAPTER_CONFIG = "adapter_config.json"  # PEFT's


def link_adapter_to_hub(folder: Path, origin: ModelOrigin) -> None:
    """`adapter_config.json`'s `base_model_name_or_path` as the base's hub id (and `revision`
    its commit, for a folder of the hub's cache), so the adapter loads wherever it is copied
    or pushed (PEFT's AutoPeftModel reads both). PEFT writes the local folder the base was
    loaded from, which resolves nowhere else; platypus keeps that in its own record beside it
    (platypus_base.json), which a merge reads first. No hub id: left as it is."""
    path = folder / ADAPTER_CONFIG
    if origin.hub_id is None or not path.is_file():
        return
    from platypus.io.writers import write_bytes

    config = json.loads(path.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = origin.hub_id
    if origin.revision:
        config["revision"] = origin.revision
    write_bytes(path, (json.dumps(config, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def write_adapter_card(folder: Path, base_model: str, config: BaseModel, summary: dict) -> Path:
    """README.md of a LoRA adapter saved in `folder` (replacing PEFT's template): base model,
    training set, licence and what the run did; and the adapter's config pointed at the base's
    hub id (`link_adapter_to_hub`). `datasets` names a hub dataset only where the training
    file came from one; the body names the set either way."""
    from huggingface_hub import ModelCard, ModelCardData

    input_path = getattr(config, "input", None)
    dataset, data_licenses = dataset_of(input_path)
    hub_dataset = dataset_hub_id(input_path)
    origin = model_origin(base_model)
    link_adapter_to_hub(folder, origin)
    lic = model_license(model_license_of(base_model), data_licenses)
    data = ModelCardData(
        base_model=origin.hub_id,
        datasets=[hub_dataset] if hub_dataset else None,
        license=lic,
        library_name="peft",
        pipeline_tag="text-generation",
        tags=["platypus", "lora", "peft"],
    )
    lora = config.lora
    val = ""
    if summary.get("val_loss_start") is not None:
        val = f" Held-out loss {summary['val_loss_start']:.4f} -> {summary['val_loss_end']:.4f}."
    if hub_dataset:
        where = f"the hub dataset [{hub_dataset}](https://huggingface.co/datasets/{hub_dataset})"
    else:
        where = f"the local file `{Path(str(input_path)).name}`" if input_path else "local data"
    body = "\n".join(
        [
            f"# LoRA adapter for {origin.hub_id or 'a local model'}",
            "",
            f"Fine-tuned with platypus on `{dataset}` ({where}; {summary['examples']:,} "
            f"examples, {summary['steps']} optimizer steps).{val}",
            "",
            origin.describe(base_model),
            "",
            "| setting | value |",
            "|---|---|",
            f"| LoRA r / alpha / dropout | {lora.r} / {lora.alpha} / {lora.dropout} |",
            f"| target modules | {', '.join(lora.target_modules)} |",
            f"| learning rate, scheduler | {config.learning_rate}, {config.lr_scheduler} |",
            f"| global batch size | {config.global_batch_size} |",
            f"| max length | {config.max_length} |",
            "",
            f"Training data licences: {', '.join(data_licenses)}; the adapter's licence "
            f"({lic}) follows the most restrictive of them and the base model's.",
            "",
            "```python",
            "from peft import AutoPeftModelForCausalLM",
            'model = AutoPeftModelForCausalLM.from_pretrained("<this folder or repo>")',
            "```",
        ]
    )
    return write_card(ModelCard, folder, data, body)


def write_merge_card(folder: Path, card: dict, body: str) -> Path:
    """README.md of a merged model: the merge card's body under the Hub's metadata, with what
    each base was (`ModelOrigin.describe`). The base models are the merged inputs that have a
    hub id; datasets (hub ids only) and licence come from the inputs' own cards (an adapter's
    card names its training set)."""
    from huggingface_hub import ModelCard, ModelCardData

    inputs = [i for i in card["inputs"] if i["role"] != "adapter"]
    origins = {i["path"]: model_origin(i["path"]) for i in inputs}
    bases = list(dict.fromkeys(o.hub_id for o in origins.values() if o.hub_id))
    cards = [c for i in card["inputs"] if (c := model_card_of(i["path"])) is not None]
    datasets = list(dict.fromkeys(
        d for c in cards for d in as_list(c.data.datasets) if HUB_ID.fullmatch(d)
    ))  # fmt: skip
    base_license = next((lic for i in inputs if (lic := model_license_of(i["path"]))), None)
    lic = model_license(base_license, [c.data.license for c in cards if c.data.license])
    tags = ["platypus", "merge", card["method"]]
    if any(i["role"] == "adapter" for i in card["inputs"]):
        tags.append("lora")
    data = ModelCardData(
        base_model=(bases[0] if len(bases) == 1 else bases) or None,
        datasets=datasets or None,
        license=lic,
        library_name="transformers",
        pipeline_tag="text-generation",
        tags=tags,
    )
    if "extraction" in card:  # extract-lora wrote an adapter of the base input
        base = next(i["path"] for i in inputs if i["role"] == "base")
        link_adapter_to_hub(folder, origins[base])
    notes = [f"- {i['role']}: {origins[i['path']].describe(i['path'])}" for i in inputs]
    body = body.rstrip() + "\n\n## Base models\n\n" + "\n".join(notes) + "\n"
    return write_card(ModelCard, folder, data, body)
