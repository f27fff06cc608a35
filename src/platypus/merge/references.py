"""Model references as mergekit writes them, resolved to checkpoints a merge streams from.

A reference is one of
- a local model folder, or one of our stage folders that holds a model (a merge's output);
- a hub id `org/name`, optionally `@revision`, read through huggingface_hub's cache (offline,
  HF_HUB_OFFLINE=1: only what the cache holds; online: downloaded into it);
- `MODEL+ADAPTER`: MODEL as above, ADAPTER a PEFT LoRA folder, a hub id of one (`@revision`
  too) or our training folder. As mergekit does (it merges the adapter into the model with
  PEFT's `merge_and_unload` before the merge), each adapted tensor is W + scale * B @ A, the
  delta cast to W's dtype and added in it; here that happens as each tensor is read, so the
  adapted model is never written or held whole.

Errors (no such folder, not in the cache offline, an adapter that does not fit the model) are
one line naming the reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from platypus.errors import PlatypusError

if TYPE_CHECKING:  # torch is imported when a checkpoint is opened, not with this module
    import torch

    from platypus.merge.tensors import Checkpoint, TensorInfo

# What a merge reads of a hub model (mergekit takes tokenizer.model and *.json besides the
# weights; the tokenizer's other files and a chat template come along) and of an adapter.
MODEL_PATTERNS = ["*.json", "*.safetensors", "tokenizer.model", "*.txt", "*.jinja"]
ADAPTER_PATTERNS = ["*.json", "*.safetensors"]


@dataclass(frozen=True)
class Reference:
    """A parsed reference: the model and its revision, the adapter and its revision."""

    text: str
    model: str
    revision: str | None = None
    adapter: str | None = None
    adapter_revision: str | None = None


def parse(text: str, what: str = "model") -> Reference:
    """`MODEL[@REV][+ADAPTER[@REV]]` as mergekit's ModelReference parses it; a path that exists
    as written is that path (a folder whose name holds '+' or '@')."""
    if Path(text).expanduser().exists():
        return Reference(text, text)
    parts = text.split("+")
    if len(parts) > 2 or not all(parts):
        raise PlatypusError(f"{what} {text!r}: not MODEL or MODEL+ADAPTER")
    model, revision = _revision(parts[0], text, what)
    adapter, adapter_revision = _revision(parts[1], text, what) if len(parts) == 2 else (None, None)
    return Reference(text, model, revision, adapter, adapter_revision)


def _revision(part: str, text: str, what: str) -> tuple[str, str | None]:
    if Path(part).expanduser().exists() or "@" not in part:
        return part, None
    name, _, revision = part.partition("@")
    if not name or not revision or "@" in revision:
        raise PlatypusError(f"{what} {text!r}: a reference takes at most one @revision")
    return name, revision


def open_model(text: str | None, what: str) -> Checkpoint | AdaptedCheckpoint:
    """The checkpoint a merge reads for the reference `text` (None: the packaged SmolLM2)."""
    if text is None:
        return open_folder(model_folder(None, what))
    ref = parse(text, what)
    model = open_folder(model_folder(ref.model, what, ref.revision, text))
    if ref.adapter is None:
        return model
    adapter = adapter_folder(ref.adapter, what, ref.adapter_revision, text)
    return AdaptedCheckpoint(model, adapter, f"{what} {text!r}")


def model_folder(
    name: str | None, what: str, revision: str | None = None, text: str | None = None
) -> Path:
    """The model folder `name` stands for: a local folder (a merge stage's folder: its model),
    else a hub id's snapshot in the hub cache. No adapter here."""
    from platypus.models import resolve_causal_lm
    from platypus.models.causal_lm import _SMOLLM2_ALIASES

    shown = f"{what} {(text or name)!r}"
    if name in _SMOLLM2_ALIASES and revision is None:
        return Path(resolve_causal_lm(name))
    path = Path(name).expanduser()
    if _where(name, shown, "model") == "folder":
        from platypus.merge.stage import MergeStage
        from platypus.train.stage import TrainStage

        if TrainStage().found_in(path, "adapter") is not None:
            raise PlatypusError(
                f"{shown}: a training folder holds an adapter, not a model; name it as MODEL+{name}"
            )
        return MergeStage().found_in(path, "model") or path
    return hub_snapshot(name, revision, MODEL_PATTERNS, shown)


def adapter_folder(name: str, what: str, revision: str | None, text: str) -> Path:
    """The PEFT adapter folder of `MODEL+name`: a folder (our training folder: its adapter),
    else a hub id's snapshot."""
    shown = f"{what} {text!r}"
    path = Path(name).expanduser()
    if _where(name, shown, "adapter") == "folder":
        from platypus.train.stage import TrainStage

        return TrainStage().found_in(path, "adapter") or path
    return hub_snapshot(name, revision, ADAPTER_PATTERNS, f"{shown} (adapter {name})")


def _where(name: str, shown: str, kind: str) -> str:
    """`folder` for an existing folder, `hub` for a hub id; else a one-line error."""
    from platypus.models.causal_lm import _HUB_ID

    path = Path(name).expanduser()
    what = "model" if kind == "model" else f"adapter {name}"
    if path.is_dir():
        return "folder"
    if path.exists():
        raise PlatypusError(f"{shown}: {what}: a file, not a {kind} folder")
    if kind == "model" and "+" in name:
        raise PlatypusError(f"{shown}: MODEL+ADAPTER is taken by model merges only")
    if not _HUB_ID.fullmatch(name):
        raise PlatypusError(f"{shown}: {what}: not a local {kind} folder (no such folder) nor a "
                            "hub id")  # fmt: skip
    return "hub"


def check_reference(text: str | None, what: str) -> None:
    """A one-line error when `text` cannot name a model: its form, and its folders where it
    names folders, the hub cache's snapshots when offline (no download, no weights read):
    checked before the output folder is made."""
    from platypus.models.causal_lm import _SMOLLM2_ALIASES, _offline_setting

    if text in _SMOLLM2_ALIASES:
        return
    ref = parse(text, what)
    shown = f"{what} {text!r}"
    parts = [(ref.model, ref.revision, "model", MODEL_PATTERNS)]
    if ref.adapter is not None:
        parts.append((ref.adapter, ref.adapter_revision, "adapter", ADAPTER_PATTERNS))
    for name, revision, kind, patterns in parts:
        if _where(name, shown, kind) == "hub" and _offline_setting():  # the cache only
            hub_snapshot(name, revision, patterns, shown if kind == "model" else
                         f"{shown} (adapter {name})")  # fmt: skip


def hub_snapshot(repo_id: str, revision: str | None, patterns: list[str], shown: str) -> Path:
    """The snapshot folder of `repo_id` in the hub cache: only the cache when the hub is offline,
    else downloaded (the files `patterns` match) into it."""
    from huggingface_hub import constants, snapshot_download

    from platypus.models.causal_lm import _offline_setting

    offline = _offline_setting()
    at = f"@{revision}" if revision else ""
    try:
        folder = snapshot_download(
            repo_id, revision=revision, allow_patterns=patterns, local_files_only=bool(offline)
        )
    except Exception as e:  # noqa: BLE001  (the hub's errors are many; each becomes one line)
        if offline:
            raise PlatypusError(
                f"{shown}: {repo_id}{at} is not in the hub cache ({constants.HF_HUB_CACHE}) "
                f"and the hub is offline ({offline})"
            ) from None
        first = (str(e).strip().splitlines() or [""])[0][:200]
        raise PlatypusError(
            f"{shown}: cannot get {repo_id}{at} from the hub ({type(e).__name__}: {first})"
        ) from None
    return Path(folder)


def cache_repo(folder: Path) -> Path | None:
    """The hub cache repository folder (`models--org--name`) when `folder` is one of its
    snapshots (`.../snapshots/<commit>`, beside `blobs`), else None."""
    folder = Path(folder).absolute()
    repo = folder.parent.parent
    if folder.parent.name == "snapshots" and (repo / "blobs").is_dir():
        return repo
    return None


def cache_link(path: Path) -> bool:
    """`path` is a file of a hub cache snapshot linking to its repository's blobs, as the cache
    lays files out (no link out of the cache)."""
    repo = cache_repo(Path(path).absolute().parent)
    return (
        repo is not None
        and path.is_symlink()
        and path.resolve().is_relative_to((repo / "blobs").resolve())
        and path.is_file()
    )


@cache
def _cached_checkpoint() -> type:
    from platypus.merge.tensors import Checkpoint

    class CachedCheckpoint(Checkpoint):
        """A hub cache snapshot's weights: its files link into the repository's blobs."""

        def _inside(self, name: str) -> Path:
            path = self.folder / name
            plain = "/" not in name and "\\" not in name and name not in ("", ".", "..")
            return path if plain and cache_link(path) else super()._inside(name)

    return CachedCheckpoint


def open_folder(folder: Path) -> Checkpoint:
    """A model folder's checkpoint; a hub cache snapshot's links into its blobs are its files."""
    from platypus.merge.tensors import Checkpoint

    return _cached_checkpoint()(folder) if cache_repo(folder) else Checkpoint(folder)


class AdaptedCheckpoint:
    """A model's checkpoint with a LoRA adapter added as each tensor is read: `get(name)` is
    W + delta for the weights (and lora_bias biases) the adapter changes, computed as PEFT's
    merge_and_unload does (delta in float32, cast to W's dtype, added), W elsewhere."""

    def __init__(self, model: Checkpoint, adapter_folder: Path, shown: str):
        from platypus.merge.lora import load_adapter, own_weights

        self.model = model
        self.folder = model.folder
        self.info: dict[str, TensorInfo] = model.info
        self.files = model.files
        try:
            self.adapter = load_adapter(adapter_folder)
        except PlatypusError as e:
            raise PlatypusError(f"{shown}: {e}") from None
        for name in sorted(self.adapter.names):
            info = model.info.get(name)
            want = (
                self.adapter.modules[name].shape
                if name in self.adapter.modules
                else tuple(self.adapter.biases[name].bias.shape)
            )
            if info is None or tuple(info.shape) != tuple(want):
                has = "no such tensor" if info is None else f"shape {tuple(info.shape)}"
                raise PlatypusError(
                    f"{shown}: the adapter {adapter_folder} does not fit the model: it changes "
                    f"{name} of shape {tuple(want)}, the model has {has} (an adapter for "
                    "another architecture or size?)"
                )
        try:
            own_weights(self.adapter, model)
        except PlatypusError as e:
            raise PlatypusError(f"{shown}: {e}") from None

    @property
    def names(self) -> list[str]:
        return self.model.names

    def get(self, name: str) -> torch.Tensor:
        w = self.model.get(name)
        if name not in self.adapter.names:
            return w
        return w + self.adapter.delta(name).to(w.dtype)

    def files_on_disk(self) -> list[Path]:
        from platypus.merge.adapter_files import WEIGHTS

        return self.model.files_on_disk() + [self.adapter.folder / WEIGHTS]


def describe(ckpt: Checkpoint | AdaptedCheckpoint) -> dict:
    """What a merge card records of an input besides its folder: the adapter added to it."""
    if isinstance(ckpt, AdaptedCheckpoint):
        return {"adapter": str(ckpt.adapter.folder)}
    return {}


def reference_identity(text: str | None) -> str:
    """What identifies the weights a reference gives, for a stage key: the model's identity as
    training records a base's (`base_identity`: its files' hashes, a hub id as it is) with its
    revision, and the adapter's files' hashes (a hub adapter: its id and revision)."""
    from platypus.hashing import file_sha256
    from platypus.merge.adapter_files import CONFIG, WEIGHTS
    from platypus.train.identity import base_identity

    if text is None or Path(text).expanduser().exists():
        return base_identity(text)
    ref = parse(text)
    identity = base_identity(ref.model) + (f"@{ref.revision}" if ref.revision else "")
    if ref.adapter is None:
        return identity
    adapter = Path(ref.adapter).expanduser()
    if adapter.is_dir():
        from platypus.train.stage import TrainStage

        adapter = TrainStage().found_in(adapter, "adapter") or adapter
        files = [adapter / n for n in (CONFIG, WEIGHTS) if (adapter / n).is_file()]
        return identity + "+" + "+".join(file_sha256(f)[:16] for f in files)
    return (
        identity + f"+{ref.adapter}" + (f"@{ref.adapter_revision}" if ref.adapter_revision else "")
    )
