"""Eval benchmark: `platypus eval`'s scorer against lm-evaluation-harness 0.4, same model, same
items, same machine, one run.

    .venv/bin/python benchmarks/eval.py [--items 20] [--mmlu-subjects 3] [--harness-batch 1,8]

SmolLM2-135M-Instruct (fp32 weights, the packaged model). Items: the first N of ARC-Challenge
(25-shot), HellaSwag (10-shot, scored items after the few-shot pool), TruthfulQA mc1+mc2,
Winogrande (5-shot) and N from each of the first few MMLU subjects (5-shot). The harness gets the
very same items through local task YAMLs (platypus.eval.harness). Ours runs in fp32 and in
bf16 autocast. Reported per task: seconds, speed-ups, the largest per-choice log-likelihood
difference from the harness and how many items' predicted choice differ from it; then bf16's
per-option error against our fp32 and how many items are "close": their leader is ahead by no
more than the two options' bound (0.15 + 2.5% of the log-likelihood, over every option measured
here), the items bf16 scoring would have to score again in fp32 to be sure of fp32's picks
(`--harness-batch ""`: ours only).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--mmlu-subjects", type=int, default=3)
    parser.add_argument("--harness-batch", default="1,8")
    parser.add_argument("--data-root", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--model", help="a model folder (default: the packaged SmolLM2)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda, for both sides")
    parser.add_argument("--tasks", help="comma-separated subset of the tasks above")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

    from platypus.eval.harness import harness_model, run_harness, write_tasks
    from platypus.eval.loglik import LoglikScorer
    from platypus.eval.protocols import LM_EVAL_04
    from platypus.eval.run import prepare, score_task
    from platypus.models import load_causal_lm, prepared_path
    from platypus.tasks import get_task, load_task
    from platypus.tasks.arc_challenge import load_arc
    from platypus.tasks.base import Drawn
    from platypus.tasks.hellaswag import hellaswag_split
    from platypus.tasks.mmlu import load_mmlu

    root = Path(args.data_root)
    n = args.items
    wanted = (args.tasks or "arc_challenge,hellaswag,mmlu,truthfulqa_mc,winogrande").split(",")
    items, fewshot = {}, {}
    if "arc_challenge" in wanted:
        items["arc_challenge"] = load_task("arc_challenge", root)[:n]
        arc_train = load_arc(root, split="train")
        # lm-eval 0.4's draws over the scored items, as `eval.run.prepare` makes them
        arc = items["arc_challenge"]
        draws = LM_EVAL_04.draw("arc_challenge", arc, arc, arc_train, 25)
        fewshot["arc_challenge"] = Drawn(arc_train, draws)
    if "hellaswag" in wanted:
        pool, hs = hellaswag_split(load_task("hellaswag", root))
        items["hellaswag"] = hs[:n]
        fewshot["hellaswag"] = Drawn(pool, LM_EVAL_04.draw(
            "hellaswag", items["hellaswag"], items["hellaswag"], pool, 10))  # fmt: skip
    if "mmlu" in wanted:
        mmlu_all = load_task("mmlu", root)
        subjects = sorted({i.subject for i in mmlu_all})[: args.mmlu_subjects]
        items["mmlu"] = [i for s in subjects for i in [j for j in mmlu_all if j.subject == s][:n]]
        fewshot["mmlu"] = {s: load_mmlu(root, split="dev", subjects=[s]) for s in subjects}
    if "truthfulqa_mc" in wanted:
        items["truthfulqa_mc"] = load_task("truthfulqa_mc", root)[:n]
    if "winogrande" in wanted:
        items["winogrande"], fewshot["winogrande"] = prepare("winogrande", root, limit=n)
    harness_names = {
        "arc_challenge": ["pl_arc"],
        "hellaswag": ["pl_hs"],
        "mmlu": [f"pl_mmlu_{s}" for s in fewshot.get("mmlu", {})],
        "truthfulqa_mc": ["pl_tqa_mc1", "pl_tqa_mc2"],
        "winogrande": ["pl_winogrande"],
    }
    print(f"torch threads: {torch.get_num_threads()}  items: "
          + ", ".join(f"{t} {len(v)}" for t, v in items.items()), flush=True)  # fmt: skip

    timings: dict[str, dict[str, float]] = {t: {} for t in items}
    ours: dict[str, dict] = {}
    model_path = args.model or str(prepared_path())
    model, tokenizer = load_causal_lm(model_path, dtype=torch.float32)
    model = model.to(args.device)
    runs = (("ours fp32", False), ("ours bf16", True))
    for label, bf16 in runs:
        scorer = LoglikScorer(model, tokenizer, bf16=bf16)
        for task, task_items in items.items():
            t0 = time.perf_counter()
            scored = score_task(scorer, task, task_items, fewshot.get(task))
            timings[task][label] = time.perf_counter() - t0
            ours[(label, task)] = scored
    del model

    harness = {}
    with tempfile.TemporaryDirectory() as tmp:
        for bs in [int(b) for b in args.harness_batch.split(",") if b]:
            label = f"lm-eval bs={bs}"
            lm = harness_model(model_path, bs, args.device)
            for task in items:
                folder = Path(tmp) / f"{task}-{bs}"
                names = write_tasks(folder, {task: items[task]}, fewshot)
                t0 = time.perf_counter()
                harness[(label, task)] = run_harness(folder, names, lm)
                timings[task][label] = time.perf_counter() - t0

    labels = list(next(iter(timings.values())))
    ours_labels = [label for label, _ in runs]
    ref_label = [lb for lb in labels if lb.startswith("lm-eval")]
    if ref_label:
        extra = ["speed-up fp32 / bf16", "max abs dll fp32 / bf16", "choice flips fp32 / bf16"]
        print("\n| task | " + " | ".join([f"{lb} (s)" for lb in labels] + extra) + " |")
        print("|---|" + "---:|" * (len(labels) + len(extra)))
        for task in items:
            ref = harness[(ref_label[0], task)]
            diffs, flips = {}, {}
            for label in ours_labels:
                worst, changed = 0.0, 0
                seen: dict[str, int] = {}
                for r in ours[(label, task)]:
                    for name, got in _pairs(task, r, harness_names[task]):
                        doc = seen[name] = seen.get(name, -1) + 1
                        want = ref[(name, doc)]
                        worst = max(worst, max(abs(a - b) for a, b in zip(got, want, strict=True)))
                        changed += _argmax(got) != _argmax(want)
                diffs[label], flips[label] = worst, changed
            best_ref = min(timings[task][lb] for lb in ref_label)
            cells = [f"{timings[task][lb]:.1f}" for lb in labels]
            print(f"| {task} | " + " | ".join(cells)
                  + " | " + " / ".join(f"{best_ref / timings[task][lb]:.1f}x" for lb in ours_labels)
                  + " | " + " / ".join(f"{diffs[lb]:.0e}" for lb in ours_labels)
                  + " | " + " / ".join(str(flips[lb]) for lb in ours_labels)
                  + f" of {len(items[task])} |")  # fmt: skip
    total = {lb: sum(timings[t][lb] for t in items) for lb in labels}
    print("\ntotal: " + ", ".join(f"{lb} {s:.1f} s" for lb, s in total.items()))
    if ref_label:
        best = min(total[lb] for lb in ref_label)
        print("speed-up vs the faster lm-eval run: "
              + ", ".join(f"{lb} {best / total[lb]:.2f}x" for lb in ours_labels))  # fmt: skip

    # bf16 against our own fp32, option by option, and the items it could pick differently
    print("\nbf16 against fp32 (ours), per option; close: the leader's lead (in each ranking the "
          "metrics take) within the two options' bound 0.15 + 0.025 |ll|:\n")  # fmt: skip
    print("| task | options | max abs dll | 99th pct | picks differing | close items |")
    print("|---|---:|---:|---:|---:|---:|")
    for task in items:
        errors, flips, near = [], 0, 0
        spec = get_task(task)
        exact_run, bf16_run = ours[("ours fp32", task)], ours[("ours bf16", task)]
        for item, exact, bf16 in zip(items[task], exact_run, bf16_run, strict=True):
            errors += [abs(a - b) for a, b in zip(exact.lls + exact.extra_lls,
                       bf16.lls + bf16.extra_lls, strict=True)]  # fmt: skip
            flips += _argmax(bf16.lls) != _argmax(exact.lls)
            near += _close(bf16.lls, _rankings(spec, item))
        errors.sort()
        p99 = errors[int(0.99 * (len(errors) - 1))]
        print(f"| {task} | {len(errors)} | {errors[-1]:.3f} | {p99:.3f} | {flips} "
              f"| {near} of {len(items[task])} |")  # fmt: skip
    return 0


def _pairs(task, result, names):
    """(harness task name, our lls) for one item; MMLU has a harness task per subject."""
    if task == "truthfulqa_mc":
        return [(names[0], result.lls), (names[1], result.extra_lls)]
    if task == "mmlu":
        return [(f"pl_mmlu_{result.id.split('/')[1]}", result.lls)]
    return [(names[0], result.lls)]


def _rankings(spec, item):
    """The rankings an item's metrics take: acc (the log-likelihoods), acc_norm (each over its
    option's length in characters)."""
    if spec.name == "hellaswag":
        from platypus.tasks.hellaswag import hellaswag_endings

        options = hellaswag_endings(item)
    else:
        options = item.choices
    ones = [1.0] * len(options)
    if spec.name in ("arc_challenge", "hellaswag"):
        return [ones, [float(len(o)) for o in options]]
    return [ones]


def _close(lls, rankings, base=0.15, share=0.025):
    """Whether per-option errors within `base + share * |ll|` could change a ranking's pick."""
    bound = [base + share * abs(x) for x in lls]
    for divisors in rankings:
        values = [ll / d for ll, d in zip(lls, divisors, strict=True)]
        lead = _argmax(values)
        for j, value in enumerate(values):
            if (
                j != lead
                and values[lead] - value <= bound[lead] / divisors[lead] + bound[j] / divisors[j]
            ):
                return True
    return False


def _argmax(values):
    return max(range(len(values)), key=values.__getitem__)


if __name__ == "__main__":
    sys.exit(main())
