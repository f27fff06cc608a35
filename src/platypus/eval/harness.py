"""Run lm-evaluation-harness 0.4 offline on our items, for parity tests and benchmarks.

The items are exported to jsonl and described by local task YAMLs that carry the harness's own
prompt templates for these tasks (mmlu default template, arc_challenge, hellaswag,
truthfulqa_mc1/mc2), so the harness scores exactly the items we score. Each task's export is
its `Task.export` (platypus.tasks.<name>).
"""

from __future__ import annotations

from pathlib import Path

from platypus.tasks.schema import TaskItem


def write_tasks(root: Path, items: dict[str, list[TaskItem]], fewshot: dict) -> list[str]:
    """Export items as harness tasks under `root`; returns the harness task names.

    `items` and `fewshot` by task name; `fewshot[name]` is the pool that task's `fewshot` gives
    (the `Drawn` pool of a task with drawn examples, MMLU: {subject: dev items}).
    """
    from platypus.tasks import get_task

    root.mkdir(parents=True, exist_ok=True)
    names = []
    for name, task_items in items.items():
        if task_items:
            names += get_task(name).export(root, task_items, fewshot.get(name))
    return names


def harness_model(model_path: str, batch_size: int = 1, device: str = "cpu"):
    """The harness's HF model wrapper (fp32), loaded once and reusable across runs."""
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=model_path, dtype="float32", device=device, batch_size=batch_size)


def run_harness(root: Path, names: list[str], model) -> dict:
    """Per-sample results: (task, doc_id) -> choice lls, (task, doc_id, metric) -> value; for
    generated tasks (task, doc_id, "text") -> the completion and (task, doc_id,
    "exact_match,<filter>") -> its score under each of the task's filters.

    `model`: a `harness_model`, or a model folder (loaded in fp32, batch size 1)."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from platypus.eval.lm_eval_engine import no_git_describe

    lm = harness_model(model) if isinstance(model, str) else model
    with no_git_describe():
        out = simple_evaluate(
            model=lm,
            tasks=names,
            log_samples=True,
            task_manager=TaskManager(include_path=str(root)),
        )
    lls: dict = {}
    for task, samples in out["samples"].items():
        for s in samples:
            if isinstance(s["resps"][0][0], str):  # generated: the completion, per filter
                lls[(task, s["doc_id"], "text")] = s["resps"][0][0]
                if "exact_match" in s:  # GSM8K, MATH; IFEval's metrics are its own
                    lls[(task, s["doc_id"], f"exact_match,{s['filter']}")] = float(s["exact_match"])
                continue
            lls[(task, s["doc_id"])] = [float(r[0][0]) for r in s["resps"]]
            for metric in ("acc", "acc_norm"):
                if metric in s:
                    lls[(task, s["doc_id"], metric)] = float(s[metric])
    return lls
