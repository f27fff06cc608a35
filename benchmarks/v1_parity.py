"""Parity with the Open LLM Leaderboard v1 harness (lm-evaluation-harness at commit b281b09).

Exports the six tasks' evaluation splits and few-shot pools exactly as `platypus eval
--harness leaderboard-v1` sees them (HellaSwag's and Winogrande's held-out pools as their train
splits), runs b281b09 itself on them with SmolLM2 in fp32 (`benchmarks/v1_harness/run_v1.py`
under `.venv-v1`, made by `benchmarks/v1_harness/setup.sh`), then scores the same documents
with our engine under the leaderboard-v1 protocol and compares, per document: the few-shot
examples drawn, the prompt text, every choice's log-likelihood, acc/acc_norm (mc1/mc2 for
TruthfulQA), and for GSM8K the generated text and exact match.

    bash benchmarks/v1_harness/setup.sh      # once: the separate venv with b281b09
    .venv/bin/python benchmarks/v1_parity.py --limit 20 \\
        --out benchmarks/results/v1-parity-cpu-2core.md --pins tests/data/v1_fewshot_pins.json

`--pins` writes the few-shot examples b281b09 drew for the first documents of each sampled
task, which `tests/test_protocols.py` checks our drawing against in the default suite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
V1_PYTHON = REPO / ".venv-v1" / "bin" / "python"
METRIC_TOLERANCE = 1e-4
TASKS = ("arc_challenge", "hellaswag", "mmlu", "truthfulqa_mc", "winogrande", "gsm8k")


def _jsonl(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def export(root: Path, data_root: Path, subjects: list[str]) -> dict:
    """Write the items in the dataset rows b281b09's tasks read; returns, per task, the items
    in file order and the pool, as our `prepare` gives them (no limit)."""
    from platypus.eval.protocols import LEADERBOARD_V1
    from platypus.eval.run import prepare

    prepared = {}
    for task in TASKS:
        if task == "mmlu":
            for s in subjects:
                items, dev = prepare("mmlu", data_root, subjects=[s], protocol=LEADERBOARD_V1)
                prepared[f"mmlu/{s}"] = (items, dev[s])
        else:
            items, pool = prepare(task, data_root, protocol=LEADERBOARD_V1)
            prepared[task] = (items, getattr(pool, "pool", pool))

    def arc(i):
        labels = list("ABCDE"[: len(i.choices)])
        return {"id": i.id.split("/", 1)[1], "question": i.question,
                "choices": {"text": list(i.choices), "label": labels},
                "answerKey": labels[i.gold]}  # fmt: skip

    def hellaswag(i):
        # The local file joins ctx_a and ctx_b: the whole context goes in ctx_a.
        ctx = i.question[len(i.subject) + 2 :]
        return {"ind": 0, "activity_label": i.subject, "ctx_a": ctx, "ctx_b": "", "ctx": ctx,
                "endings": list(i.choices), "label": str(i.gold)}  # fmt: skip

    def mmlu(i):
        return {"question": i.question, "choices": list(i.choices), "answer": i.gold}

    def truthfulqa(i):
        return {"question": i.question,
                "mc1_targets": {"choices": list(i.choices),
                                "labels": [int(k == i.gold) for k in range(len(i.choices))]},
                "mc2_targets": {"choices": list(i.mc2_choices),
                                "labels": list(i.mc2_labels)}}  # fmt: skip

    def winogrande(i):
        return {"qID": i.id.split("/", 1)[1], "sentence": i.question, "option1": i.choices[0],
                "option2": i.choices[1], "answer": str(i.gold + 1)}  # fmt: skip

    def gsm8k(i):
        return {"question": i.question, "answer": i.target}

    items, pool = prepared["arc_challenge"]
    _jsonl(root / "arc_challenge" / "test.jsonl", map(arc, items))
    _jsonl(root / "arc_challenge" / "train.jsonl", map(arc, pool))
    items, pool = prepared["hellaswag"]
    _jsonl(root / "hellaswag" / "validation.jsonl", map(hellaswag, items))
    _jsonl(root / "hellaswag" / "train.jsonl", map(hellaswag, pool))
    for s in subjects:
        items, dev = prepared[f"mmlu/{s}"]
        _jsonl(root / "mmlu" / s / "test.jsonl", map(mmlu, items))
        _jsonl(root / "mmlu" / s / "dev.jsonl", map(mmlu, dev))
    items, _ = prepared["truthfulqa_mc"]
    _jsonl(root / "truthfulqa_mc" / "validation.jsonl", map(truthfulqa, items))
    items, pool = prepared["winogrande"]
    _jsonl(root / "winogrande" / "validation.jsonl", map(winogrande, items))
    _jsonl(root / "winogrande" / "train.jsonl", map(winogrande, pool))
    items, pool = prepared["gsm8k"]
    _jsonl(root / "gsm8k" / "test.jsonl", map(gsm8k, items))
    _jsonl(root / "gsm8k" / "train.jsonl", map(gsm8k, pool))
    return prepared


def run_reference(
    items: Path, model: Path, out: Path, limit: int, model_type: str, tasks: list[str]
) -> dict:
    if not V1_PYTHON.is_file():
        sys.exit(f"{V1_PYTHON} not found: run `bash benchmarks/v1_harness/setup.sh` first")
    cmd = [str(V1_PYTHON), str(REPO / "benchmarks" / "v1_harness" / "run_v1.py"),
           "--items", str(items), "--model", str(model), "--out", str(out),
           "--limit", str(limit), "--model-type", model_type, "--tasks", *tasks]  # fmt: skip
    subprocess.run(cmd, check=True)
    return json.loads(out.read_text())


def ours_for(task_key: str, prepared: dict, record: dict, scorer):
    """Our result for the document b281b09 scored in `record`, with the examples our v1
    protocol draws for it, and those examples as indices into the pool."""
    from platypus.eval.protocols import LEADERBOARD_V1
    from platypus.tasks import get_task
    from platypus.tasks.base import Drawn

    task = task_key.split("/")[0]
    items, pool = prepared[task_key]
    item = items[record["row_index"]]
    spec = get_task(task)
    if spec.shots:
        drawn = LEADERBOARD_V1.draw(task, items, [item], pool, spec.shots)
        fewshot = [pool.index(e) for e in drawn[item.id]]
        fewshot_pool = Drawn(pool, drawn)
    elif task == "mmlu":  # the first 5 dev items, in order
        fewshot = list(range(5))
        fewshot_pool = {item.subject: pool}
    else:
        fewshot, fewshot_pool = None, None
    if scorer is None:  # the reference ran without a model: prompts and draws only
        return item, fewshot, None
    return item, fewshot, spec.score(scorer, [item], fewshot_pool, LEADERBOARD_V1)[0]


def our_contexts(task: str, item, examples, pool) -> list[str]:
    """The context of each request we make for `item` (one per choice, or per option)."""
    from platypus.tasks import arc_challenge, gsm8k, hellaswag, mmlu, truthfulqa_mc, winogrande

    if task == "winogrande":
        return winogrande.contexts(item, examples)
    context = {
        "arc_challenge": lambda: arc_challenge.arc_context(item, examples),
        "hellaswag": lambda: hellaswag.hellaswag_context(item, examples),
        "mmlu": lambda: mmlu.mmlu_context(item, pool),
        "truthfulqa_mc": lambda: truthfulqa_mc.truthfulqa_context(item),
        "gsm8k": lambda: gsm8k.context(item, examples),
    }[task]()
    return [context]


def contexts_equal(task: str, item, fewshot, pool, record: dict) -> bool:
    examples = [pool[k] for k in fewshot] if fewshot is not None and task != "mmlu" else None
    ours = our_contexts(task, item, examples, pool)
    theirs = [r["context"] for r in record["requests"]]
    if task == "winogrande":
        return ours == theirs
    return all(t == ours[0] for t in theirs)


def their_lls(record: dict) -> list[float]:
    return [r["loglikelihood"] for r in record["requests"] if r["type"] == "loglikelihood"]


def compare(reference: dict, prepared: dict, scorer) -> tuple[dict, dict]:
    rows, pins = {}, {}
    for name, task in reference["tasks"].items():
        subject = name.removeprefix("hendrycksTest-")
        key = f"mmlu/{subject}" if subject != name else name
        stats = {"docs": 0, "fewshot_equal": 0, "context_equal": 0, "max_abs_ll": 0.0,
                 "metric_equal": 0, "text_equal": 0, "seconds": 0.0, "lls": 0}  # fmt: skip
        for record in task["docs"]:
            t0 = time.perf_counter()
            item, fewshot, ours = ours_for(key, prepared, record, scorer)
            stats["seconds"] += time.perf_counter() - t0
            stats["docs"] += 1
            stats["context_equal"] += contexts_equal(
                key.split("/")[0], item, fewshot, prepared[key][1], record
            )
            if fewshot is None or record["fewshot"] is None:
                stats["fewshot_equal"] += fewshot == record["fewshot"] or (
                    fewshot is None and record["fewshot"] is None
                )
            else:
                stats["fewshot_equal"] += fewshot == record["fewshot"]["indices"]
                if len(pins.setdefault(key, [])) < 3:
                    _, pool = prepared[key]
                    drawn = [pool[k].id for k in record["fewshot"]["indices"]]
                    pins[key].append({"item": item.id, "examples": drawn})
            if ours is None:
                continue
            theirs = their_lls(record)
            mine = list(ours.lls) + list(ours.extra_lls)
            if theirs:
                stats["lls"] += len(theirs)
                stats["max_abs_ll"] = max(
                    stats["max_abs_ll"], *(abs(a - b) for a, b in zip(mine, theirs, strict=True))
                )
            if ours.text is not None:
                generated = next(r["generated"] for r in record["requests"])
                stats["text_equal"] += ours.text == generated
            theirs_m = {k: float(v) for k, v in record["metrics"].items()}
            mapped = {"acc": "exact_match"} if key == "gsm8k" else {}
            # Metrics both report (b281b09 also gives MMLU an acc_norm, which no one reads):
            # 0/1 metrics must be equal; TruthfulQA's mc2, a probability ratio, moves with the
            # log-likelihoods' last digits and is compared within METRIC_TOLERANCE.
            shared = {k: v for k, v in theirs_m.items() if mapped.get(k, k) in ours.metrics}
            diffs = [abs(ours.metrics[mapped.get(k, k)] - v) for k, v in shared.items()]
            stats["max_metric_diff"] = max([stats.get("max_metric_diff", 0.0), *diffs])
            stats["metric_equal"] += bool(shared) and all(d <= METRIC_TOLERANCE for d in diffs)
        rows[key] = stats
    return rows, pins


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated")
    parser.add_argument("--mmlu-subjects", default="high_school_mathematics,world_religions")
    parser.add_argument("--data-root", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" /
                                             "v1-parity-cpu-2core.md"))  # fmt: skip
    parser.add_argument("--pins", help="write the reference's few-shot draws here (JSON)")
    parser.add_argument("--reference-json", help="reuse a finished run_v1.py output")
    parser.add_argument(
        "--model-type", default="hf-causal", help="hf-causal; dummy: prompts and draws only"
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

    from platypus.eval.loglik import LoglikScorer
    from platypus.models import load_causal_lm, prepared_path

    subjects = args.mmlu_subjects.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        prepared = export(tmp / "items", Path(args.data_root), subjects)
        t0 = time.perf_counter()
        if args.reference_json:
            reference = json.loads(Path(args.reference_json).read_text())
        else:
            model_v1 = tmp / "model-v1"
            subprocess.run([sys.executable, str(REPO / "benchmarks" / "v1_harness" /
                                                 "model_folder.py"),
                            str(prepared_path()), str(model_v1)], check=True)  # fmt: skip
            reference = run_reference(
                tmp / "items",
                model_v1,
                tmp / "v1.json",
                args.limit,
                args.model_type,
                args.tasks.split(","),
            )
            (Path(args.out).with_suffix(".json")).write_text(json.dumps(reference))
        reference_seconds = time.perf_counter() - t0
    scorer = None
    if args.model_type != "dummy":
        model, tokenizer = load_causal_lm()
        scorer = LoglikScorer(model, tokenizer)
    rows, pins = compare(reference, prepared, scorer)

    lines = [
        "# Parity with the leaderboard v1 harness (lm-eval b281b09)",
        "",
        f"SmolLM2-135M-Instruct, fp32, CPU (reference model type {args.model_type}); b281b09 under "
        "transformers "
        f"{reference['harness']['transformers']} (`.venv-v1`), ours under the project's "
        f"stack; `--limit {args.limit}`: the first {args.limit} documents of b281b09's "
        "shuffled order per task (for MMLU per subject). Reference run: "
        f"{reference_seconds:.0f} s.",
        "",
        "| task | docs | few-shot draws equal | prompts equal | log-likelihoods | max abs diff "
        f"| metrics equal (within {METRIC_TOLERANCE:g}) | max metric diff | GSM8K text equal "
        "| ours (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, s in rows.items():
        text = f"{s['text_equal']}/{s['docs']}" if key == "gsm8k" else ""
        lines.append(
            f"| {key} | {s['docs']} | {s['fewshot_equal']}/{s['docs']} | "
            f"{s['context_equal']}/{s['docs']} | {s['lls']} | "
            f"{s['max_abs_ll']:.2e} | {s['metric_equal']}/{s['docs']} | "
            f"{s.get('max_metric_diff', 0.0):.1e} | {text} | "
            f"{s['seconds']:.1f} |"
        )
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if args.pins:
        Path(args.pins).parent.mkdir(parents=True, exist_ok=True)
        Path(args.pins).write_text(json.dumps(pins, indent=1) + "\n")


if __name__ == "__main__":
    main()
