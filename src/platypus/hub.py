"""Hub-ready output folders: dataset and model cards with the Hugging Face Hub's metadata, and
`--push-to-hub`, which uploads a finished stage's folder.

Cards are built with huggingface_hub's own `DatasetCardData` / `ModelCardData` and read back by
`DatasetCard.load` / `ModelCard.load`, so what the Hub parses is what the tests parse. A dataset
card names its data file under `configs`, so `datasets.load_dataset(folder)` loads exactly the
rows (not the removal lists or leak tables beside them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from platypus.errors import PlatypusError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from platypus.data.record import Record

CARD = "README.md"  # where the Hub looks for a repository's card

# The Hub's licence identifiers for each source (its own licence text is free-form and goes in
# the card body). A source missing here, or rows of an unknown data_source, count as "other".
SOURCE_LICENSES: dict[str, tuple[str, ...]] = {
    "math": ("mit",),
    "scienceqa": ("cc-by-nc-sa-4.0",),
    "scibench": ("mit",),
    "theoremqa": ("mit",),
    "reclor": ("other",),  # ReClor's own non-commercial terms
    "arb": ("cc-by-4.0", "mit"),
    "leetcode": ("unknown",),
    "tigerbot": ("apache-2.0",),
    "airoboros": ("other",),  # OpenAI terms of use
    "guanaco": ("apache-2.0",),
    "openbookqa": ("apache-2.0",),
}

# Models the project packages: (folder name prefix in the cache, hub id, licence).
PACKAGED_MODELS = (("smollm2-135m-instruct-", "HuggingFaceTB/SmolLM2-135M-Instruct", "apache-2.0"),)

# The Hub's size buckets, upper bounds exclusive.
SIZE_CATEGORIES = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
)
TASK_CATEGORIES = ["text-generation", "question-answering"]
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")


# ---- dataset cards -------------------------------------------------------------------------


def size_category(rows: int) -> str:
    return next((name for bound, name in SIZE_CATEGORIES if rows < bound), "n>100M")


def source_of(data_source: str) -> str | None:
    """The source name whose loader writes `data_source` (e.g. "MATH/PRM-800K" -> "math")."""
    from platypus.data.sources import SOURCES

    return next((n for n, m in SOURCES.items() if m.SPEC.data_source == data_source), None)


def dataset_licenses(data_sources: Iterable[str]) -> list[str]:
    """The Hub licence ids covering rows of these data_source values, sorted."""
    ids: set[str] = set()
    for data_source in set(data_sources):
        ids.update(SOURCE_LICENSES.get(source_of(data_source) or "", ("other",)))
    return sorted(ids) or ["other"]


def dataset_card_data(data_file: str, records: list[Record], pretty_name: str, stage: str) -> Any:
    from huggingface_hub import DatasetCardData

    data = DatasetCardData(
        pretty_name=pretty_name,
        license=dataset_licenses(r.data_source for r in records),
        language=["en"],
        task_categories=TASK_CATEGORIES,
        size_categories=[size_category(len(records))],
        tags=["platypus", stage],
        configs=[{"config_name": "default", "data_files": [{"split": "train", "path": data_file}]}],
    )
    return data


def write_dataset_card(
    folder: Path,
    data_file: Path,
    records: list[Record],
    body: str,
    stage: str,
    name: str = "",
    source: str | Path | None = None,
) -> Path:
    """README.md in `folder`: the Hub's dataset metadata (licences of the sources present, size,
    the data file as the default config) above `body`. `name`: the set's name; by default the
    name of the `source` file's set (a set keeps its name through dedup and decontamination)."""
    from huggingface_hub import DatasetCard

    name = name or (dataset_of(source)[0] if source is not None else data_file.stem)
    data = dataset_card_data(data_file.name, records, name, stage)
    return _write_card(DatasetCard, folder, data, body)


def _write_card(card_class, folder: Path, data, body: str) -> Path:
    from platypus.data.writers import write_bytes

    # the body follows the metadata unchanged: the card's `.text` is exactly `body`
    card = card_class(f"---\n{data.to_yaml()}\n---\n{body.rstrip()}\n")
    path = folder / CARD
    write_bytes(path, str(card).encode("utf-8"))
    return path


def dataset_file(folder: Path) -> Path | None:
    """The data file a folder's dataset card names as its default config, if it has one."""
    card = folder / CARD
    if not card.is_file():
        return None
    from huggingface_hub import DatasetCard

    try:
        configs = DatasetCard.load(card).data.to_dict().get("configs") or []
    except Exception:  # not a card of ours: the caller treats the folder as having none
        return None
    for config in configs:
        files = config.get("data_files") if config.get("config_name") == "default" else None
        name = None
        if isinstance(files, list) and files and isinstance(files[0], dict):
            name = files[0].get("path")
        elif isinstance(files, str):
            name = files
        if isinstance(name, str):
            return _inside(folder, name)
    return None


def _inside(folder: Path, name: str) -> Path:
    """`folder / name`, refused in one line when it would lie outside the folder (`..`, an
    absolute path, or a link out of it): a card names the folder's own data, nothing else."""
    path = folder / name
    root = folder.resolve()
    if Path(name).is_absolute() or not path.resolve().is_relative_to(root):
        raise PlatypusError(
            f"{folder / CARD}: its data file {name[:200]!r} lies outside the folder; refused"
        )
    return path


# ---- model cards ---------------------------------------------------------------------------


def hub_model_id(model: str | Path | None) -> str:
    """How the Hub names a model: the packaged models by their hub ids, a hub id as is, a local
    folder by its path (the push refuses it: the Hub links base_model to a repository)."""
    from platypus.models.causal_lm import _SMOLLM2_ALIASES

    if model in _SMOLLM2_ALIASES:
        return PACKAGED_MODELS[0][1]
    path = Path(str(model)).expanduser()
    if path.is_dir():
        for prefix, hub_id, _ in PACKAGED_MODELS:
            if path.resolve().name.startswith(prefix):
                return hub_id
        return str(path)
    return str(model)


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
    known = {h: lic for _, h, lic in PACKAGED_MODELS}
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


def dataset_of(input_path: str | Path | None) -> tuple[str, list[str]]:
    """(name, licences) of a data file: from the dataset card beside it when there is one (the
    folder a data stage wrote), else its file name and "other"."""
    if input_path is None:
        return "unknown", ["other"]
    path = Path(str(input_path))
    card = path.parent / CARD
    if card.is_file():
        from huggingface_hub import DatasetCard

        try:
            data = DatasetCard.load(card).data
            licenses = data.license if isinstance(data.license, list) else [data.license]
            return data.pretty_name or path.stem, [lic for lic in licenses if lic]
        except Exception:  # not a dataset card: fall through to the file name
            pass
    return path.stem, ["other"]


def write_adapter_card(folder: Path, base_model: str, config: BaseModel, summary: dict) -> Path:
    """README.md of a LoRA adapter (replacing PEFT's template): base model, training set,
    licence and what the run did."""
    from huggingface_hub import ModelCard, ModelCardData

    dataset, data_licenses = dataset_of(getattr(config, "input", None))
    base = hub_model_id(base_model)
    lic = model_license(model_license_of(base_model), data_licenses)
    data = ModelCardData(
        base_model=base,
        datasets=[dataset],
        license=lic,
        library_name="peft",
        pipeline_tag="text-generation",
        tags=["platypus", "lora", "peft"],
    )
    lora = config.lora
    val = ""
    if summary.get("val_loss_start") is not None:
        val = f" Held-out loss {summary['val_loss_start']:.4f} -> {summary['val_loss_end']:.4f}."
    body = "\n".join(
        [
            f"# LoRA adapter for {base}",
            "",
            f"Fine-tuned with platypus on `{dataset}` ({summary['examples']:,} examples, "
            f"{summary['steps']} optimizer steps).{val}",
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
    return _write_card(ModelCard, folder, data, body)


def write_merge_card(folder: Path, card: dict, body: str) -> Path:
    """README.md of a merged model: the merge card's body under the Hub's metadata. The base
    models are the merged inputs; datasets and licence come from the inputs' own cards (an
    adapter's card names its training set)."""
    from huggingface_hub import ModelCard, ModelCardData

    inputs = [i for i in card["inputs"] if i["role"] != "adapter"]
    bases = list(dict.fromkeys(hub_model_id(i["path"]) for i in inputs))
    cards = [c for i in card["inputs"] if (c := model_card_of(i["path"])) is not None]
    datasets = list(dict.fromkeys(d for c in cards for d in _as_list(c.data.datasets)))
    base_license = next((lic for i in inputs if (lic := model_license_of(i["path"]))), None)
    lic = model_license(base_license, [c.data.license for c in cards if c.data.license])
    tags = ["platypus", "merge", card["method"]]
    if any(i["role"] == "adapter" for i in card["inputs"]):
        tags.append("lora")
    data = ModelCardData(
        base_model=bases[0] if len(bases) == 1 else bases,
        datasets=datasets or None,
        license=lic,
        library_name="transformers",
        pipeline_tag="text-generation",
        tags=tags,
    )
    return _write_card(ModelCard, folder, data, body)


def _as_list(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


# ---- push ----------------------------------------------------------------------------------

# stage -> (the artefact whose folder is uploaded, repository type)
PUSHED: dict[str, tuple[str, str]] = {
    "build": ("records", "dataset"),
    "dedup": ("kept", "dataset"),
    "decontaminate": ("clean", "dataset"),
    "train": ("adapter", "model"),
    "merge": ("model", "model"),
}
# never uploaded: the runner's lock and temporary folders, training checkpoints
IGNORED = [".platypus.lock", ".partial-*", "**/.partial-*", ".*.tmp"]


def pushed_folder(stage_name: str, config: BaseModel, out: Path) -> tuple[Path, str]:
    from platypus.pipeline.stages import STAGES

    if stage_name not in PUSHED:
        raise PlatypusError(f"{stage_name}: no output to push (pushable: {', '.join(PUSHED)})")
    artefact, repo_type = PUSHED[stage_name]
    path = STAGES[stage_name].output(artefact, config, out)
    return (path if path.is_dir() else path.parent), repo_type


def validate(folder: Path, repo_type: str) -> None:
    """A folder the Hub will show as intended: a card whose metadata parses, with the fields
    the Hub links (a dataset's data files; a model's base model as a repository id)."""
    from huggingface_hub import DatasetCard, ModelCard

    path = folder / CARD
    if not path.is_file():
        raise PlatypusError(f"{folder}: no {CARD} card to push with")
    card_class = DatasetCard if repo_type == "dataset" else ModelCard
    try:
        data = card_class.load(path).data.to_dict()
    except Exception as exc:
        raise PlatypusError(f"{path}: card metadata does not parse ({_line(exc)})") from None
    if repo_type == "dataset":
        file = dataset_file(folder)
        if file is None or not file.is_file():
            raise PlatypusError(f"{path}: the card names no data file in this folder")
        return
    for base in _as_list(data.get("base_model")):
        if not HUB_ID.fullmatch(base) or Path(base).exists():
            raise PlatypusError(
                f"{path}: base_model {base!r} is a local folder, not a hub repository id; "
                "train or merge from the hub model, or set base_model in the card"
            )


def push_folder(folder: Path, repo_id: str, repo_type: str, api=None, message: str = "") -> str:
    """Upload a validated folder to `repo_id` (created if missing). `api`: an HfApi (tests pass
    a fake). Any hub failure is one line. Returns the commit URL."""
    validate(folder, repo_type)
    try:
        if api is None:
            from huggingface_hub import HfApi

            api = HfApi()
        api.create_repo(repo_id, repo_type=repo_type, exist_ok=True)
        info = api.upload_folder(
            repo_id=repo_id,
            repo_type=repo_type,
            folder_path=str(folder),
            ignore_patterns=IGNORED,
            commit_message=message or f"Upload {folder.name} with platypus",
        )
    except Exception as exc:  # offline, no token, no rights, invalid id: the hub's own words
        raise PlatypusError(f"push to {repo_type} {repo_id} failed: {_line(exc)}") from None
    return str(getattr(info, "commit_url", info))


def push_stage(stage_name: str, config: BaseModel, out: Path, repo_id: str, api=None) -> str:
    """`--push-to-hub`: the finished stage's output (a manifest says it finished) to the hub."""
    from platypus.pipeline.manifest import read_manifest

    manifest = read_manifest(out) or {}
    if manifest.get("stage") != stage_name:
        raise PlatypusError(f"{out}: no finished {stage_name} output (no manifest) to push")
    folder, repo_type = pushed_folder(stage_name, config, out)
    url = push_folder(folder, repo_id, repo_type, api, f"platypus {stage_name}: {out.name}")
    return f"pushed {folder} -> {repo_type} {repo_id}: {url}"


def _line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
