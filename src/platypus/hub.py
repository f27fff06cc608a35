"""`--push-to-hub`: a finished stage's output folder, its card checked, uploaded to the Hugging
Face Hub. An outer layer (it reads the pipeline's stages and manifests); the cards themselves
are written by the stages through `platypus.cards` and `platypus.model_cards`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from platypus.cards import CARD, HUB_ID, as_list, dataset_file
from platypus.errors import PlatypusError
from platypus.model_cards import ADAPTER_CONFIG

if TYPE_CHECKING:
    from pydantic import BaseModel

# ---- push ----------------------------------------------------------------------------------

# never uploaded: the runner's lock and temporary folders, training checkpoints
IGNORED = [".platypus.lock", ".partial-*", "**/.partial-*", ".*.tmp"]


def pushed_folder(stage_name: str, config: BaseModel, out: Path) -> tuple[Path, str]:
    from platypus.pipeline.stages import STAGES

    pushed = {name: s.pushed for name, s in STAGES.items() if s.pushed is not None}
    if stage_name not in pushed:
        raise PlatypusError(f"{stage_name}: no output to push (pushable: {', '.join(pushed)})")
    artefact, repo_type = pushed[stage_name]
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
    for base in as_list(data.get("base_model")):
        if not HUB_ID.fullmatch(base) or Path(base).exists():
            raise PlatypusError(
                f"{path}: base_model {base!r} is a local folder, not a hub repository id; "
                "train or merge from the hub model, or set base_model in the card"
            )
    adapter = folder / ADAPTER_CONFIG
    if adapter.is_file():  # an adapter loads onto the base its config names, wherever it is
        from platypus.merge.adapter_files import read_adapter_config

        base = read_adapter_config(folder).get("base_model_name_or_path")
        if not isinstance(base, str) or not HUB_ID.fullmatch(base) or Path(base).exists():
            raise PlatypusError(
                f"{adapter}: base_model_name_or_path {base!r} is not a hub repository id, so "
                "the pushed adapter would load onto nothing; train from the hub model, or set "
                "it (and base_model in the card) to the base's hub id"
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
