"""MATH (Hendrycks et al.), train + test as Platypus used it, optionally with PRM800K solutions.

Rules: instruction = problem, output = solution with `\\boxed{x}` unwrapped to `x`. When PRM800K
files are given, a problem's solution is replaced by a human-rated step-by-step solution whose
final answer matches the ground truth (Platypus' convert_prm.py + update_MATH.py, seeded here).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path

from platypus.data.record import Record, Skip
from platypus.data.sources.base import LoadContext, Source, SourceOptions, Spec, require
from platypus.data.text import unbox
from platypus.errors import DataError
from platypus.io.readers import iter_jsonl, read_json

ANSWER_MARKER = "# Answer\n\n"


class Options(SourceOptions):
    splits: list[str] = ["train", "test"]
    prm_files: list[str] = []  # PRM800K phase*_{train,test}.jsonl, relative to the data root
    prm_only_solved: bool = True


SPEC = Spec(
    name="math",
    data_source="MATH/PRM-800K",
    license="MIT (MATH; PRM800K)",
    hub_licenses=("mit",),
    enabled_by_default=True,
    commercial=True,
    description="Competition mathematics with worked solutions, train and test splits.",
    default_path="math",
    options=Options,
    released_rows=12298,
    release_note=(
        "12,500 = 7,500 train + 5,000 test problems. The release is after near-duplicate "
        "removal and uses PRM800K step solutions where they exist; this build is before dedup "
        "(`platypus data dedup`)."
    ),
)


def load(ctx: LoadContext) -> Iterator[Record | Skip]:
    opts: Options = ctx.options
    prm = _prm_solutions(ctx, opts) if opts.prm_files else {}
    for split in opts.splits:
        for location, row_id, row in _split_rows(ctx, split):
            problem = require(location, row, "problem")
            solution = require(location, row, "solution")
            if problem in prm:
                solution = prm[problem]
                ctx.notes["solutions replaced by PRM800K"] += 1
            yield Record(
                id=f"math/{row_id}",
                instruction=problem,
                input="",
                output=unbox(solution),
                data_source=SPEC.data_source,
            )


def _split_rows(ctx: LoadContext, split: str):
    """Rows of `<split>.jsonl` (concatenated copy) or of the `<split>/<subject>/<n>.json` tree
    that MATH.tar unpacks to."""
    assert ctx.path is not None
    jsonl = ctx.path / f"{split}.jsonl"
    tree = ctx.path / split
    if jsonl.is_file():
        for location, row in ctx.table(f"{split}.jsonl"):
            rowno = location.rpartition(":")[2]
            row_id = str(row.get("path", f"{split}/{rowno}")).removesuffix(".json")
            yield location, row_id, row
    elif tree.is_dir():
        paths = sorted(tree.glob("*/*.json"), key=_natural_key)
        if not paths:
            raise DataError(tree, f"math: no rows (no {split}/<subject>/<n>.json files)")
        for path in paths:
            ctx.files.append(path)
            row_id = path.relative_to(ctx.path).with_suffix("").as_posix()
            yield str(path), row_id, _read_one(path)
    else:
        raise DataError(ctx.path, f"MATH split {split!r} not found ({jsonl.name} or {split}/)")


def _read_one(path: Path) -> dict:
    row = read_json(path)
    if not isinstance(row, dict):
        raise DataError(path, "expected a JSON object")
    return row


def _natural_key(path: Path):
    return (path.parent.name, int(path.stem) if path.stem.isdigit() else 0, path.stem)


def _prm_solutions(ctx: LoadContext, opts: Options) -> dict[str, str]:
    """problem text -> PRM800K step solution without its answer line (last file row wins)."""
    rng = random.Random(ctx.seed)
    out: dict[str, str] = {}
    for name in opts.prm_files:
        path = Path(name)
        path = path if path.is_absolute() else ctx.root / path
        if not path.is_file():
            raise DataError(path, "PRM800K file not found")
        ctx.files.append(path)
        for lineno, row in iter_jsonl(path):
            converted = prm_solution(row, rng, opts.prm_only_solved, f"{path}:{lineno}")
            if converted is not None:
                problem, text = converted
                out[problem] = re.sub(r"# Answer\n\n.*", "", text).strip()
    return out


def prm_solution(
    row: dict, rng: random.Random, only_solved: bool, location: str
) -> tuple[str, str] | None:
    """(problem, solution text) from one PRM800K labelling, or None when it is unusable: not
    finished as a solution, no final answer, or a final answer that differs from the truth."""
    try:
        label = row["label"]
        question = row["question"]
        problem, truth = question["problem"], question["ground_truth_answer"]
        steps = label["steps"]
    except (KeyError, TypeError) as exc:
        path, _, line = location.rpartition(":")
        raise DataError(path, f"not a PRM800K row (missing {exc})", row=line) from None
    if only_solved and label.get("finish_reason") != "solution":
        return None
    parts: list[str] = []
    for step in steps:
        good = [c for c in step.get("completions") or [] if c.get("rating") == 1]
        with_answer = [c for c in good if ANSWER_MARKER in c["text"]]
        pool = with_answer or good
        if pool:
            parts.append(rng.choice(pool)["text"])
        human = step.get("human_completion")
        if human and human.get("rating") == 1:
            parts.append(human["text"])
    text = " ".join(parts)
    at = text.rfind(ANSWER_MARKER)
    if at == -1 or text[at + len(ANSWER_MARKER) :].strip() != truth:
        return None
    return problem, text


class MathSource(Source):
    spec = SPEC
    load = staticmethod(load)


SOURCE = MathSource()
