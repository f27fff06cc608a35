"""Score the leaderboard tasks with a causal LM: ARC-Challenge 25-shot, HellaSwag 10-shot,
MMLU 5-shot, TruthfulQA mc (0-shot), Winogrande 5-shot and GSM8K 5-shot (generated). Each
task's loader, few-shot pool and scorer are its
`Task` (platypus.tasks.<name>); this module runs them by name.

Per item: the choices' summed log-likelihoods (`lls`) and the metrics the harness reports; per
task: their means, and for tasks scored per subject (MMLU) also the headline metric per subject
with macro (mean of subjects) and size-weighted (mean of items) averages.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from platypus.errors import DataError, PlatypusError
from platypus.eval.loglik import LoglikScorer
from platypus.eval.protocols import LM_EVAL_04, Protocol
from platypus.eval.results import ItemResult
from platypus.tasks import get_task
from platypus.tasks.base import Drawn, Pool
from platypus.tasks.schema import TaskItem

__all__ = [
    "ItemResult",
    "mmlu_only",
    "aggregate",
    "compute_policy",
    "contaminated_ids",
    "evaluate",
    "load_model",
    "prepare",
    "score_task",
    "subsample",
    "task_shots",
]


def aggregate(task: str, items: list[TaskItem], results: list[ItemResult]) -> dict:
    names = results[0].metrics if results else {}
    summary = {m: sum(r.metrics[m] for r in results) / len(results) for m in names}
    summary["items"] = len(results)
    spec = get_task(task)
    if spec.summarize is not None:
        summary |= spec.summarize(items, results)
    if spec.per_subject:
        metric = spec.headline
        by_subject: dict[str, list[float]] = defaultdict(list)
        for item, r in zip(items, results, strict=True):
            by_subject[item.subject].append(r.metrics[metric])
        per = {s: sum(v) / len(v) for s, v in sorted(by_subject.items())}
        summary |= {
            f"{metric}_macro": sum(per.values()) / len(per),
            f"{metric}_weighted": summary[metric],
            "subjects": per,
        }
    return summary


def subsample(items: list[TaskItem], limit: int | None, how: str = "first") -> list[TaskItem]:
    """`limit` items: the first ones, or a stratified sample (same share of every MMLU subject,
    evenly spaced through the file for the other tasks), kept in file order. Deterministic."""
    if limit is None or limit >= len(items):
        return items
    if how == "first":
        return items[:limit]
    groups: dict[str, list[int]] = defaultdict(list)
    for n, item in enumerate(items):
        groups[item.subject or ""].append(n)
    # Largest-remainder allocation, so the sample has exactly `limit` items.
    quota = {g: limit * len(v) / len(items) for g, v in groups.items()}
    take = {g: int(q) for g, q in quota.items()}
    for g in sorted(quota, key=lambda g: (take[g] - quota[g], g))[: limit - sum(take.values())]:
        take[g] += 1
    chosen = []
    for g, members in groups.items():
        k = take[g]
        chosen += [members[int((j + 0.5) * len(members) / k)] for j in range(k)]
    return [items[n] for n in sorted(chosen)]


def task_options(task: str, subjects: list[str] | None = None) -> dict:
    """The loader options a task takes from the eval settings (MMLU: its subjects)."""
    return {"subjects": subjects} if "subjects" in get_task(task).options and subjects else {}


def mmlu_only(task: str, mmlu_subjects: list[str] | None) -> list[str] | None:
    """The subjects a config's `mmlu_subjects` gives `task`: MMLU's own; the other tasks with
    subjects (MMLU-Pro's categories, BBH's subtasks, ...) are scored whole."""
    return mmlu_subjects if task == "mmlu" else None


def task_shots(task: str, num_fewshot: int | None = None) -> int:
    """Few-shot examples per item of `task`: `num_fewshot` where given, else the task's own."""
    return get_task(task).default_shots if num_fewshot is None else num_fewshot


def prepare(
    task: str,
    data_root: Path,
    limit: int | None = None,
    subjects: list[str] | None = None,
    sample: str = "first",
    protocol: Protocol = LM_EVAL_04,
    num_fewshot: int | None = None,
) -> tuple[list[TaskItem], Pool]:
    """(items to score, few-shot pool): loads and checks the data before any model is loaded.
    A task with drawn few-shot examples gets them here, by `protocol`'s rules (a `Drawn`); one
    that picks its own gets the pool of `task_shots` examples. `num_fewshot` (None: the task's
    own number) more than the pool holds, or given to a 0-shot task, is a one-line error."""
    spec = get_task(task)
    if subjects is not None and not subjects and "subjects" in spec.options:
        raise PlatypusError(f"{task}: the subject list is empty; leave it unset for all subjects")
    shots = task_shots(task, num_fewshot)
    if shots < 0:
        raise PlatypusError(f"{task}: num_fewshot {shots}: a count of examples is 0 or more")
    if shots and not (spec.shots or spec.with_shots):
        raise PlatypusError(
            f"{task}: num_fewshot {shots}: the task is 0-shot only (it has no few-shot pool); "
            "leave it out of the tasks or use num_fewshot 0"
        )
    items = spec.load(Path(data_root), **task_options(task, subjects))
    if not items:
        raise PlatypusError(f"{task}: no items to score in {data_root}")
    items, pool = spec.fewshot(items, Path(data_root))
    scored = subsample(items, limit, sample)
    if spec.shots:
        most = len(pool) - (task in protocol.same_split)  # those draw one more, then drop it
        if num_fewshot is not None and shots > most:  # else `draw` says what the data lacks
            raise PlatypusError(
                f"{task}: num_fewshot {shots} is more than its few-shot pool allows ({most})"
            )
        pool = Drawn(list(pool), protocol.draw(task, items, scored, pool, shots))
    elif spec.with_shots is not None:
        pool = spec.with_shots(pool, shots)
    return scored, pool


def score_task(
    scorer: LoglikScorer,
    task: str,
    items: list[TaskItem],
    pool: Pool,
    protocol: Protocol = LM_EVAL_04,
) -> list[ItemResult]:
    """Per-item results of `task` for `items`, with the few-shot pool `prepare` gave."""
    return get_task(task).score(scorer, items, pool, protocol)


def evaluate(
    scorer: LoglikScorer,
    task: str,
    data_root: Path,
    limit: int | None = None,
    subjects: list[str] | None = None,
    protocol: Protocol = LM_EVAL_04,
) -> tuple[list[TaskItem], list[ItemResult], dict]:
    items, pool = prepare(task, data_root, limit, subjects, protocol=protocol)
    results = score_task(scorer, task, items, pool, protocol)
    return items, results, aggregate(task, items, results)


def compute_policy(config):
    """The eval config's compute policy: `compute` resolved, bf16 allowed only with `bf16`
    (on a CPU, `dtype: auto` then autocasts to bf16 where the host's probe shows it faster)."""
    from platypus.compute import resolve

    return resolve(config.compute, allow_bf16=config.bf16)


def load_model(config, policy=None):
    """(model, tokenizer, fingerprint) for the config's model and optional adapter, loaded with
    `policy` (None: the config's, `compute_policy`)."""
    from platypus.models import load_causal_lm

    policy = policy if policy is not None else compute_policy(config)
    model, tokenizer = load_causal_lm(config.model, compute=policy)
    if config.adapter:
        model = apply_adapter(model, config.adapter, config.model or "smollm2")
    return model, tokenizer, weights_fingerprints(config)


def weights_fingerprints(config) -> str:
    """The model's and the adapter's identity: their weights and the other files loading them
    reads (config, tokenizer, adapter_config.json, shipped code), as short hashes (a hub id
    where not local). Changing `rope_theta` or `lora_alpha` is another model."""
    from platypus.models import model_identity, resolve_causal_lm

    folders = filter(None, [resolve_causal_lm(config.model), config.adapter])
    return "-".join(model_identity(folder) for folder in folders)


def apply_adapter(model, adapter: str, base: str):
    from peft import PeftModel

    from platypus.merge.adapter_files import check_adapter_folder

    check_adapter_folder(adapter)  # one line for a crafted config or weights header
    try:
        return PeftModel.from_pretrained(model, adapter).eval()
    except RuntimeError as exc:
        first = next((ln.strip() for ln in str(exc).splitlines() if "size mismatch" in ln), None)
        if first is None:
            raise
        trained_on = _adapter_base(adapter)
        raise PlatypusError(
            f"adapter {adapter} does not fit the base model {base}: it was trained on a "
            f"different base{f' ({trained_on})' if trained_on else ''}; {first.rstrip('.')}"
        ) from None


def _adapter_base(adapter: str) -> str | None:
    """The base model an adapter's config names, when it names one."""
    import json

    try:
        config = json.loads((Path(adapter) / "adapter_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    base = config.get("base_model_name_or_path") if isinstance(config, dict) else None
    return str(base) if base else None


CONTAMINATED = ("duplicate", "gray-area")  # the decontaminate stage's default `remove`


def contaminated_ids(path: str | Path | None, categories: Iterable[str] = CONTAMINATED) -> set[str]:
    """Benchmark item ids of the leaks in `path` (a leaks.jsonl) whose category is one of
    `categories`."""
    if not path:
        return set()
    from platypus.io.readers import iter_jsonl

    wanted = set(categories)
    out = set()
    for lineno, row in iter_jsonl(path):
        if not isinstance(row, dict) or not isinstance(row.get("benchmark_id"), str):
            raise DataError(path, "a leak row needs a benchmark_id (a string)", row=lineno)
        if row.get("category") in wanted:
            out.add(row["benchmark_id"])
    return out
