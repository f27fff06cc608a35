"""Score the leaderboard tasks with a causal LM: ARC-Challenge 25-shot, HellaSwag 10-shot,
MMLU 5-shot and TruthfulQA mc (0-shot).

Per item: the choices' summed log-likelihoods (`lls`) and the metrics the harness reports; per
task: their means, and for MMLU also per-subject accuracy with macro (mean of subjects) and
size-weighted (mean of items) averages.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from platypus.errors import PlatypusError
from platypus.eval.loglik import LoglikScorer
from platypus.eval.metrics import acc, acc_norm, truthfulqa_mc1, truthfulqa_mc2
from platypus.eval.prompts import (
    arc_choices,
    arc_contexts,
    hellaswag_contexts,
    hellaswag_endings,
    hellaswag_split,
    mmlu_choices,
    mmlu_context,
    truthfulqa_choices,
    truthfulqa_context,
)
from platypus.tasks import load_task
from platypus.tasks.loaders import load_arc, load_mmlu
from platypus.tasks.schema import TaskItem


@dataclass
class ItemResult:
    id: str
    lls: list[float]
    metrics: dict[str, float]
    extra_lls: list[float] = field(default_factory=list)  # TruthfulQA: the mc2 choices


def score_mmlu(
    scorer: LoglikScorer, items: list[TaskItem], data_root: Path, shots: int = 5
) -> list[ItemResult]:
    """Per subject: the 5-shot prefix runs once, the questions run in length-sorted batches."""
    subjects = sorted({i.subject for i in items})
    dev = defaultdict(list)
    for d in load_mmlu(data_root, split="dev", subjects=subjects):
        dev[d.subject].append(d)
    by_subject: dict[str, list[int]] = defaultdict(list)
    for n, item in enumerate(items):
        by_subject[item.subject].append(n)
    out: list[ItemResult | None] = [None] * len(items)
    with tqdm(total=len(items), desc="mmlu", unit=" items", disable=None) as bar:
        for subject in subjects:
            group = [items[n] for n in by_subject[subject]]
            contexts = [mmlu_context(item, dev[subject], shots) for item in group]
            prefix = scorer.prefix(contexts)
            scored = scorer.score_many([(c, mmlu_choices()) for c in contexts], prefix)
            for n, item, scores in zip(by_subject[subject], group, scored, strict=True):
                lls = [s.logprob for s in scores]
                out[n] = ItemResult(item.id, lls, {"acc": acc(lls, item.gold)})
            bar.update(len(group))
    return out  # type: ignore[return-value]


def score_arc(
    scorer: LoglikScorer, items: list[TaskItem], data_root: Path, shots: int = 25
) -> list[ItemResult]:
    train = load_arc(data_root, split="train")
    out = []
    contexts = arc_contexts(items, train, shots)
    for item, context in zip(
        tqdm(items, desc="arc_challenge", unit=" items", disable=None), contexts, strict=True
    ):
        lls = [s.logprob for s in scorer.score(context, arc_choices(item))]
        metrics = {"acc": acc(lls, item.gold), "acc_norm": acc_norm(lls, item.choices, item.gold)}
        out.append(ItemResult(item.id, lls, metrics))
    return out


def score_hellaswag(
    scorer: LoglikScorer, items: list[TaskItem], pool: list[TaskItem], shots: int = 10
) -> list[ItemResult]:
    out = []
    contexts = hellaswag_contexts(items, pool, shots)
    for item, context in zip(
        tqdm(items, desc="hellaswag", unit=" items", disable=None), contexts, strict=True
    ):
        endings = hellaswag_endings(item)
        lls = [s.logprob for s in scorer.score(context, [f" {e}" for e in endings])]
        metrics = {"acc": acc(lls, item.gold), "acc_norm": acc_norm(lls, endings, item.gold)}
        out.append(ItemResult(item.id, lls, metrics))
    return out


def score_truthfulqa(scorer: LoglikScorer, items: list[TaskItem]) -> list[ItemResult]:
    """mc1 and mc2 answers scored in one pass per item, after the shared preamble."""
    prefix = scorer.prefix([truthfulqa_context(i) for i in items])
    out = []
    for item in tqdm(items, desc="truthfulqa_mc", unit=" items", disable=None):
        answers = list(dict.fromkeys(item.choices + item.mc2_choices))
        scores = scorer.score(truthfulqa_context(item), truthfulqa_choices(answers), prefix)
        ll = {a: s.logprob for a, s in zip(answers, scores, strict=True)}
        mc1 = [ll[a] for a in item.choices]
        mc2 = [ll[a] for a in item.mc2_choices]
        metrics = {"mc1": truthfulqa_mc1(mc1), "mc2": truthfulqa_mc2(mc2, item.mc2_labels)}
        out.append(ItemResult(item.id, mc1, metrics, extra_lls=mc2))
    return out


def aggregate(task: str, items: list[TaskItem], results: list[ItemResult]) -> dict:
    names = results[0].metrics if results else {}
    summary = {m: sum(r.metrics[m] for r in results) / len(results) for m in names}
    summary["items"] = len(results)
    if task == "mmlu":
        by_subject: dict[str, list[float]] = defaultdict(list)
        for item, r in zip(items, results, strict=True):
            by_subject[item.subject].append(r.metrics["acc"])
        per = {s: sum(v) / len(v) for s, v in sorted(by_subject.items())}
        summary |= {
            "acc_macro": sum(per.values()) / len(per),
            "acc_weighted": summary["acc"],
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


def prepare(
    task: str,
    data_root: Path,
    limit: int | None = None,
    subjects: list[str] | None = None,
    sample: str = "first",
) -> tuple[list[TaskItem], list[TaskItem]]:
    """(items to score, few-shot pool): loads and checks the data before any model is loaded."""
    kwargs = {"subjects": subjects} if task == "mmlu" and subjects else {}
    items = load_task(task, data_root, **kwargs)
    pool: list[TaskItem] = []
    if task == "hellaswag":
        pool, items = hellaswag_split(items)
    if not items:
        raise PlatypusError(f"{task}: no items to score in {data_root}")
    return subsample(items, limit, sample), pool


def score_task(
    scorer: LoglikScorer, task: str, items: list[TaskItem], pool: list[TaskItem], data_root: Path
) -> list[ItemResult]:
    if task == "hellaswag":
        return score_hellaswag(scorer, items, pool)
    if task == "mmlu":
        return score_mmlu(scorer, items, Path(data_root))
    if task == "arc_challenge":
        return score_arc(scorer, items, Path(data_root))
    if task == "truthfulqa_mc":
        return score_truthfulqa(scorer, items)
    raise ValueError(f"unknown task {task!r}")


def evaluate(
    scorer: LoglikScorer,
    task: str,
    data_root: Path,
    limit: int | None = None,
    subjects: list[str] | None = None,
) -> tuple[list[TaskItem], list[ItemResult], dict]:
    items, pool = prepare(task, data_root, limit, subjects)
    results = score_task(scorer, task, items, pool, data_root)
    return items, results, aggregate(task, items, results)


def load_model(config):
    """(model, tokenizer, fingerprint) for the config's model and optional adapter."""
    from platypus.hashing import weights_fingerprint
    from platypus.models import load_causal_lm, resolve_causal_lm

    model, tokenizer = load_causal_lm(config.model)
    folders = filter(None, [resolve_causal_lm(config.model), config.adapter])
    parts = [weights_fingerprint(folder) for folder in folders]
    if config.adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, config.adapter).eval()
    return model, tokenizer, "-".join(parts)


def contaminated_ids(path: str | None, categories=("duplicate", "gray-area")) -> set[str]:
    if not path:
        return set()
    from platypus.data.readers import iter_jsonl

    return {row["benchmark_id"] for _, row in iter_jsonl(path) if row.get("category") in categories}
