"""Checkpoints that resume exactly: adapter, optimizer, scheduler, per-process RNG and the step.

Nothing in a checkpoint is a pickle: tensors are safetensors, everything else JSON, so loading a
crafted run folder cannot execute code. `state.json` is written last (atomically) and lists the
SHA-256 of every other file; it is read and checked (format, config hash, file hashes) before any
other file is opened. A folder whose `state.json` is missing, torn or does not match its files is
skipped in favour of the previous complete checkpoint, so the newest two complete ones are kept.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from platypus.errors import PlatypusError
from platypus.hashing import bytes_sha256
from platypus.io.writers import write_bytes

STATE = "state.json"
FORMAT = 2  # 1: torch.save pickles (no longer read)
KEEP = 2  # complete checkpoints kept: the newest may be torn by a crash of the disk or machine
ADAPTER = "adapter.safetensors"
TRAINER_TENSORS = "trainer_state.safetensors"
TRAINER_JSON = "trainer_state.json"


class CheckpointError(Exception):
    """A checkpoint that cannot be used (incomplete, torn, corrupt); an older one may be."""


@dataclass
class Checkpoint:
    folder: Path
    state: dict  # step, config_hash, tokens, train_seconds, val_loss_start, files


@dataclass
class Loaded:
    adapter: dict[str, torch.Tensor]
    optimizer: dict
    scheduler: dict


def checkpoint_dir(output_dir: Path, step: int) -> Path:
    return output_dir / "checkpoints" / f"step-{step:06d}"


def folders(output_dir: Path) -> list[Path]:
    """Checkpoint folders, oldest first."""
    root = output_dir / "checkpoints"
    return sorted(p for p in root.glob("step-*") if p.is_dir()) if root.is_dir() else []


# Saving ------------------------------------------------------------------------------------------


def clear(folder: Path) -> None:
    """Main process, before `save_rng`: an earlier attempt at this step may have left files."""
    if folder.exists():
        shutil.rmtree(folder)


def save_rng(folder: Path, rank: int) -> None:
    tensors = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        tensors["cuda"] = torch.cuda.get_rng_state()
    write_bytes(folder / f"rng-{rank}.safetensors", save_tensors(tensors))


def save(folder: Path, adapter: dict, optimizer: dict, scheduler: dict, state: dict) -> None:
    """Main process only, after every process has called `save_rng`. `optimizer` and `scheduler`
    are state dicts; `state` is what the run needs besides them (step, config hash, counters)."""
    tensors: dict[str, torch.Tensor] = {}
    skeleton = {"optimizer": _encode(optimizer, tensors), "scheduler": _encode(scheduler, tensors)}
    contents = {
        ADAPTER: save_tensors({k: v.detach().cpu().contiguous() for k, v in adapter.items()}),
        TRAINER_TENSORS: save_tensors(tensors),
        TRAINER_JSON: json.dumps(skeleton).encode(),
    }
    files = {}
    for name, data in contents.items():
        write_bytes(folder / name, data)
        files[name] = bytes_sha256(data)
    for rng in sorted(folder.glob("rng-*.safetensors")):
        files[rng.name] = bytes_sha256(rng.read_bytes())
    record = {"format": FORMAT, **state, "files": files}
    write_bytes(folder / STATE, (json.dumps(record, indent=1) + "\n").encode())
    _prune(folder)


def _prune(newest: Path) -> None:
    """Keep the newest `KEEP` complete checkpoints up to `newest`; drop older and incomplete
    ones before it (those after it belong to a part of the run being redone)."""
    older = [p for p in folders(newest.parent.parent) if p.name < newest.name]
    complete = [p for p in older if (p / STATE).is_file()][-(KEEP - 1) :] if KEEP > 1 else []
    for p in older:
        if p not in complete:
            shutil.rmtree(p, ignore_errors=True)


# Resuming ----------------------------------------------------------------------------------------


def find(
    output_dir: Path, config_hash: str, total_steps: int | None = None
) -> tuple[Checkpoint | None, list[str]]:
    """The newest usable checkpoint of this run, and a line for each newer one skipped. Reads
    only `state.json` files and checks the listed files' hashes. A checkpoint of a different run
    (config, data or base model changed) is an error, not something to skip. `state.json`'s own
    step must be its folder's and lie inside the run (checkpoints are saved after steps 1 ..
    total_steps - 1): a state that claims otherwise is skipped as tampered."""
    skipped = []
    for folder in reversed(folders(output_dir)):
        try:
            state = read_state(folder)
            step = state["step"]
            if folder.name != checkpoint_dir(output_dir, step).name:
                raise CheckpointError(f"{STATE} says step {step}, its folder another")
            if total_steps is not None and step >= total_steps:
                raise CheckpointError(f"{STATE} says step {step} of a {total_steps}-step run")
            if state["config_hash"] != config_hash:
                raise PlatypusError(
                    f"{folder}: checkpoint of a different run (config, data or base model "
                    "changed); use a new output_dir or resume: false"
                )
            for name in state["files"]:
                _read_verified(folder, name, state["files"])
        except CheckpointError as exc:
            skipped.append(f"{folder}: {exc}")
            continue
        return Checkpoint(folder, state), skipped
    return None, skipped


def read_state(folder: Path) -> dict:
    path = folder / STATE
    if not path.is_file():
        raise CheckpointError(f"no {STATE} (saving was interrupted)")
    try:
        state = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CheckpointError(f"{STATE} is torn or not JSON") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{STATE}: not a checkpoint of this version's format")
    files = state.get("files")
    ok = (
        isinstance(state.get("step"), int)
        and state["step"] > 0
        and isinstance(state.get("config_hash"), str)
        and isinstance(files, dict)
        and all(isinstance(v, str) for v in files.values())
        and all(n in files for n in (ADAPTER, TRAINER_TENSORS, TRAINER_JSON))
        and all(isinstance(n, str) and n == Path(n).name for n in files)
    )
    if not ok:
        raise CheckpointError(f"{STATE}: fields missing or of the wrong type")
    return state


def load(checkpoint: Checkpoint, rank: int) -> Loaded:
    """Adapter tensors and optimizer and scheduler state dicts; restores this process's RNG.
    Every file is checked against its hash in `state.json` before it is parsed."""
    folder, files = checkpoint.folder, checkpoint.state["files"]
    rng_name = f"rng-{rank}.safetensors"
    if rng_name in files:
        rng = load_tensors(_read_verified(folder, rng_name, files))
        torch.set_rng_state(rng["torch"])
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state(rng["cuda"])
    tensors = load_tensors(_read_verified(folder, TRAINER_TENSORS, files))
    skeleton = json.loads(_read_verified(folder, TRAINER_JSON, files))
    return Loaded(
        adapter=load_tensors(_read_verified(folder, ADAPTER, files)),
        optimizer=_decode(skeleton["optimizer"], tensors),
        scheduler=_decode(skeleton["scheduler"], tensors),
    )


def discard_newer(checkpoint: Checkpoint) -> None:
    """Main process, when resuming: later folders were skipped as unusable."""
    for p in folders(checkpoint.folder.parent.parent):
        if p.name > checkpoint.folder.name:
            shutil.rmtree(p, ignore_errors=True)


def _read_verified(folder: Path, name: str, files: dict) -> bytes:
    path = folder / name
    if not path.is_file():
        raise CheckpointError(f"{name} is missing")
    data = path.read_bytes()
    if bytes_sha256(data) != files[name]:
        raise CheckpointError(f"{name} does not match its hash in {STATE} (corrupt)")
    return data


# State dicts as JSON plus tensors ------------------------------------------------------------
# Every dict becomes {"dict": [[key, value], ...]} (keys stay ints or strings), every tuple
# {"tuple": [...]}, every tensor {"tensor": name} with the tensor stored under that name; lists
# and JSON scalars stay as they are. Python's JSON round-trips floats exactly.


def _encode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, torch.Tensor):
        name = str(len(tensors))
        tensors[name] = obj.detach().cpu().contiguous().clone()
        return {"tensor": name}
    if isinstance(obj, dict):
        for key in obj:
            if not isinstance(key, int | str):
                raise TypeError(f"checkpoint state: a key of type {type(key).__name__}")
        return {"dict": [[k, _encode(v, tensors)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"tuple": [_encode(v, tensors) for v in obj]}
    if isinstance(obj, list):
        return [_encode(v, tensors) for v in obj]
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    raise TypeError(f"checkpoint state: a value of type {type(obj).__name__}")


def _decode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) != 1:
        raise CheckpointError(f"{TRAINER_JSON}: unexpected object {sorted(obj)}")
    kind, value = next(iter(obj.items()))
    if kind == "tensor":
        if value not in tensors:
            raise CheckpointError(f"{TRAINER_JSON}: tensor {value!r} not in {TRAINER_TENSORS}")
        return tensors[value]
    if kind == "tuple":
        return tuple(_decode(v, tensors) for v in value)
    if kind == "dict":
        return {k: _decode(v, tensors) for k, v in value}
    raise CheckpointError(f"{TRAINER_JSON}: unexpected object {kind!r}")
