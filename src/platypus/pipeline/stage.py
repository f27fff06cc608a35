"""The one way a stage is run: by `platypus <stage>` and by `platypus run`. What a stage declares
is its contract (`platypus.contract`: Stage, Summary, re-exported here).

`run_stage` wraps every run the same way, so a killed, failed or concurrent run never leaves a
partial or stale result that looks complete:
1. the output folder is locked (a second run into it exits with the holder's pid);
2. inputs that are among the stage's outputs, or inside its temporary folders, are refused (a
   run would destroy its own input), and so is a folder holding another stage's finished result;
3. the stage writes into a temporary folder beside its outputs (resumable stages, i.e.
   training, write in place and keep their checkpoints); an output name that a file of someone
   else's already holds is refused, never replaced;
4. only when it has succeeded does the previous run's manifest go, then the outputs it lists
   (when it is this stage's: a manifest lists only what its stage wrote, never other files in
   the folder) and what an interrupted commit of this stage had moved in (its journal says
   which), and the new files are moved in; nothing is removed by name pattern, and a run that
   fails leaves the previous result whole and removes its own temporary folder;
5. `manifest.json` is written last: the configuration that identifies the result, the keys of
   the stages read, outside inputs, the summary, the files written, seconds and versions.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from platypus.config import Recipe
from platypus.contract import Stage, Summary
from platypus.errors import PlatypusError
from platypus.faults import fault_point
from platypus.io.writers import remove_path
from platypus.pipeline.lock import LOCK_FILE, FolderLock
from platypus.pipeline.manifest import MANIFEST, read_manifest, write_manifest
from platypus.settings import INPUT, field_role, result_config

PARTIAL = ".partial-"  # prefix of the folders that hold a running stage's outputs
# In the output folder while a stage moves its outputs in: the names it is moving, so that a run
# after a kill mid-commit knows them for its own.
JOURNAL = ".platypus-commit.json"


def input_paths(config: BaseModel) -> Iterator[tuple[str, Path]]:
    """(field, path) of every input-path field that is set, nested models included."""
    for name in type(config).model_fields:
        value = getattr(config, name)
        if isinstance(value, BaseModel):
            yield from input_paths(value)
        elif isinstance(value, list):
            for v in value:
                if isinstance(v, BaseModel):
                    yield from input_paths(v)
        elif field_role(type(config), name) == INPUT and isinstance(value, str) and value:
            yield name, Path(value)


def _plain(name: object) -> bool:
    """A name a manifest may list: one entry of its own folder, nothing above or beside it."""
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name


def _entries(folder: Path) -> list[str]:
    return sorted(
        p.name
        for p in folder.iterdir()
        if p.name not in (LOCK_FILE, MANIFEST, JOURNAL) and not p.name.startswith(PARTIAL)
    )


def run_stage(
    stage: Stage,
    config: BaseModel,
    out: Path,
    recipe: Recipe,
    manifest: dict | None = None,
    owned: bool = False,
) -> tuple[Summary, float]:
    """Run `stage` into `out` under the guarantees in this module's docstring. `manifest` adds
    fields (the pipeline's key and upstream keys). `owned`: `out` is a folder `platypus run`
    made for this stage alone (no user's file can be there), so the stage's output names are
    replaced whoever wrote them. Returns the summary and the seconds taken."""
    main = int(os.environ.get("RANK", "0")) == 0  # one writer per multi-process job
    stage.check(config)
    with FolderLock(out):
        _refuse_foreign_result(stage, out)
        _refuse_own_outputs(stage, config, out)
        if main:
            for partial in out.glob(f"{PARTIAL}*"):  # what killed runs left
                remove_path(partial)
            if stage.resumable:
                clear_previous(stage, out)  # it writes in place, from the start
            elif not owned:
                _refuse_occupied(stage, out, _declared(stage, config) - _ours(stage, out))
        work = out if stage.resumable else out / f"{PARTIAL}{stage.name}-{os.getpid()}"
        work.mkdir(parents=True, exist_ok=True)
        before = _stamps(out) if work == out else {}
        t0 = time.perf_counter()
        failed = True
        try:
            summary = stage.run(config, work, recipe)
            fault_point(stage, "before-commit")
            failed = False
        finally:
            # A failed run (an error, a full disk, Ctrl-C) takes its partial outputs with it: the
            # space is given back now, not at the next run (a killed one leaves them for it).
            # Processes other than the main one commit nothing, so theirs always go.
            if work != out and (failed or not main):
                shutil.rmtree(work, ignore_errors=True)
        seconds = round(time.perf_counter() - t0, 2)
        if main:
            if work != out:
                # Only now, with the new outputs complete: a run that fails (a full disk, an
                # error, Ctrl-C) leaves the previous result whole, manifest and all.
                clear_previous(stage, out)
                written = _commit(stage, config, work, out, owned)
            else:
                written = _written_in_place(stage, config, out, before)
            write_manifest(
                out,
                {
                    "stage": stage.name,
                    **(manifest or {}),
                    "config": result_config(config),
                    "summary": summary.model_dump(mode="json"),
                    "files": written,
                    "seconds": seconds,
                },
            )
            (out / JOURNAL).unlink(missing_ok=True)  # the manifest lists the files now
    return summary, seconds


def _commit(stage: Stage, config: BaseModel, work: Path, out: Path, owned: bool) -> list[str]:
    """Move the finished outputs from `work` into `out`, `stage.last` last; their names. The
    journal names them first; it goes once the manifest is written."""
    from platypus.io.writers import write_bytes

    last = stage.output(stage.last, config, Path(".")).name if stage.last else None
    names = sorted(_entries(work), key=lambda n: (n == last, n))
    if not owned:
        _refuse_occupied(stage, out, names)
    write_bytes(out / JOURNAL, json.dumps({"stage": stage.name, "files": names}).encode())
    for n, name in enumerate(names):
        remove_path(out / name)  # only in a folder of the pipeline's own (else refused above)
        os.replace(work / name, out / name)
        if n == 0:
            fault_point(stage, "during-commit")
    shutil.rmtree(work)
    return sorted(names)


def _refuse_foreign_result(stage: Stage, out: Path) -> None:
    """A folder holding another stage's finished result is not this stage's to take over (its
    manifest would be replaced and its result would stop counting as finished)."""
    other = (read_manifest(out) or {}).get("stage", stage.name)
    if other != stage.name:
        raise PlatypusError(
            f"{out} holds a finished {str(other)[:40]} result; choose another output folder "
            f"for {stage.name}"
        )


def _refuse_occupied(stage: Stage, out: Path, names) -> None:
    """After the clear, an output name still present in `out` is someone else's file (a
    project's README.md, the user's own weights): refused, never replaced. (Not for resumable
    stages: they write in place, and their own earlier files are what they resume from.)"""
    taken = sorted(n for n in names if os.path.lexists(out / n))
    if taken:
        raise PlatypusError(
            f"{out / taken[0]} is not an output of an earlier {stage.name} run here and would "
            "be replaced; move it or choose another output folder"
        )


def _stamps(folder: Path) -> dict[str, int]:
    return {name: (folder / name).lstat().st_mtime_ns for name in _entries(folder)}


def _written_in_place(
    stage: Stage, config: BaseModel, out: Path, before: dict[str, int]
) -> list[str]:
    """What a stage that writes in place wrote: its declared outputs and the entries created or
    modified during the run. Anything else in the folder (a user's files) is not its to list, so
    no later run deletes it."""
    after = _stamps(out)
    changed = {name for name, stamp in after.items() if before.get(name) != stamp}
    return sorted(changed | {name for name in _declared(stage, config) if name in after})


def _refuse_own_outputs(stage: Stage, config: BaseModel, out: Path) -> None:
    """An input that is the output folder itself or one of the stage's outputs there would be
    deleted before it is read."""
    out_r = out.resolve()
    previous = _listed(stage, read_manifest(out))
    for field, path in input_paths(config):
        p = path.resolve()
        inside = p.parent == out_r and (p.name in previous or p.name in _declared(stage, config))
        # a run's first act is to remove the temporary folders earlier runs left in `out`
        in_partial = (
            p.is_relative_to(out_r)
            and p != out_r
            and (p.relative_to(out_r).parts[0].startswith(PARTIAL))
        )
        if p == out_r or inside or in_partial:
            raise PlatypusError(
                f"{field} {path} is in the output folder {out} and would be overwritten; "
                "choose another output folder"
            )


def _declared(stage: Stage, config: BaseModel) -> set[str]:
    names = set(stage.extra_outputs)
    for artefact in stage.artefacts:
        rel = stage.output(artefact, config, Path("."))
        if rel != Path("."):
            names.add(rel.parts[0])
    return names


def _listed(stage: Stage, manifest: dict | None) -> set[str]:
    """The names a previous run of this stage wrote; another stage's manifest (a folder shared
    by mistake) vouches for nothing this stage may delete."""
    if not manifest or manifest.get("stage") != stage.name:
        return set()
    files = manifest.get("files")
    return set(filter(_plain, files)) if isinstance(files, list) else set()


def clear_previous(stage: Stage, out: Path) -> None:
    """The previous run's manifest first (from then on nothing here claims to be finished), then
    what it wrote (and what an interrupted commit had moved in)."""
    names = _ours(stage, out)
    (out / MANIFEST).unlink(missing_ok=True)
    if stage.resumable:
        return  # its own partial work is what it resumes from; it replaces its final outputs
    for name in names:
        remove_path(out / name)
    (out / JOURNAL).unlink(missing_ok=True)


def _ours(stage: Stage, out: Path) -> set[str]:
    """The names in `out` that an earlier run of this stage wrote: those its manifest lists,
    and those the journal of a commit it did not finish names."""
    return _listed(stage, read_manifest(out)) | _listed(stage, _read_journal(out))


def _read_journal(out: Path) -> dict | None:
    try:
        journal = json.loads((out / JOURNAL).read_bytes())
    except (OSError, ValueError):
        return None
    return journal if isinstance(journal, dict) else None
