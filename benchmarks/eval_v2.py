"""Leaderboard v2 eval benchmark: our scorer against lm-evaluation-harness 0.4.13's HF backend on
the same v2 items, same model, same machine, one run.

    .venv/bin/python benchmarks/eval_v2.py [--items 10] [--generated 3] [--harness-batch 1,8]

SmolLM2-135M-Instruct (fp32, the packaged model). Items: a stratified sample of N from MMLU-Pro,
BBH and MuSR (log-likelihood) and of G from MATH Lvl 5 and IFEval (generated), prepared as
`platypus eval` prepares them; lm-eval gets the very same items through each task's export (the
leaderboard's own task configs pointed at the exported rows). GPQA has no export (its rows are
never written out), so it is not timed here; its parity runs in memory in
tests/test_task_gpqa.py. Reported per task: seconds of each, the speed-up against lm-eval's
faster batch size, and agreement: the largest per-choice log-likelihood difference, or how many
generations are identical.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOGLIK = ("mmlu_pro", "bbh", "musr")
GENERATED = ("math_hard", "ifeval")


def _harness_name(names: list[str], subject: str) -> str:
    """The exported harness task holding an item: the task's one, or its subject's."""
    if len(names) == 1:
        return names[0]
    return next(n for n in names if n.endswith(f"_{subject}"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--generated", type=int, default=3)
    parser.add_argument("--harness-batch", default="1,8")
    parser.add_argument("--data-root", default=str(REPO.parent / "shared" / "data"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    import torch

    from platypus.eval.harness import harness_model, run_harness, write_tasks
    from platypus.eval.loglik import LoglikScorer
    from platypus.eval.run import prepare, score_task
    from platypus.models import load_causal_lm, prepared_path

    root = Path(args.data_root)
    # lm-eval's IFEval code downloads NLTK's English Punkt model on import: give it ours
    import nltk

    from platypus.tasks.ifeval_checks import write_punkt_tab

    nltk_data = Path(tempfile.mkdtemp(prefix="nltk_data-"))
    write_punkt_tab(nltk_data)
    nltk.data.path.insert(0, str(nltk_data))
    prepared = {}
    for task in LOGLIK + GENERATED:
        n = args.items if task in LOGLIK else args.generated
        prepared[task] = prepare(task, root, limit=n, sample="stratified")
    print(f"torch threads: {torch.get_num_threads()}  items: "
          + ", ".join(f"{t} {len(v[0])}" for t, v in prepared.items()), flush=True)  # fmt: skip

    timings: dict[str, dict[str, float]] = {t: {} for t in prepared}
    ours = {}
    model, tokenizer = load_causal_lm()
    scorer = LoglikScorer(model, tokenizer, batch_size=8)
    for task, (items, pool) in prepared.items():
        t0 = time.perf_counter()
        ours[task] = score_task(scorer, task, items, pool)
        timings[task]["ours fp32"] = time.perf_counter() - t0
    del model, scorer

    theirs: dict[tuple[str, str], dict] = {}
    names: dict[str, list[str]] = {}
    batches = [int(b) for b in args.harness_batch.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        for bs in batches:
            lm = harness_model(str(prepared_path()), bs)
            for task, (items, pool) in prepared.items():
                folder = Path(tmp) / f"{task}-{bs}"
                names[task] = write_tasks(folder, {task: items}, {task: pool})
                t0 = time.perf_counter()
                theirs[(task, f"lm-eval bs={bs}")] = run_harness(folder, names[task], lm)
                timings[task][f"lm-eval bs={bs}"] = time.perf_counter() - t0
            del lm

    labels = ["ours fp32", *(f"lm-eval bs={b}" for b in batches)]
    print("\n| task | items | " + " | ".join(f"{lb} (s)" for lb in labels)
          + " | speed-up | agreement |")  # fmt: skip
    print("|---|---:|" + "---:|" * len(labels) + "---:|---|")
    for task, (items, _) in prepared.items():
        ref = theirs[(task, f"lm-eval bs={batches[0]}")]
        seen: dict[str, int] = {}
        worst, same = 0.0, 0
        for item, r in zip(items, ours[task], strict=True):
            name = _harness_name(names[task], item.subject)
            doc = seen[name] = seen.get(name, -1) + 1
            if task in LOGLIK:
                want = ref[(name, doc)]
                worst = max(worst, max(abs(a - b) for a, b in zip(r.lls, want, strict=True)))
            else:
                same += r.text == ref[(name, doc, "text")]
        fastest = min(timings[task][lb] for lb in labels[1:])
        agreement = (f"max abs dll {worst:.1e}" if task in LOGLIK
                     else f"{same}/{len(items)} generations identical")  # fmt: skip
        print(f"| {task} | {len(items)} | "
              + " | ".join(f"{timings[task][lb]:.1f}" for lb in labels)
              + f" | {fastest / timings[task]['ours fp32']:.1f}x | {agreement} |")  # fmt: skip
    total = {lb: sum(timings[t][lb] for t in prepared) for lb in labels}
    best = min(total[lb] for lb in labels[1:])
    print("\ntotal: " + ", ".join(f"{lb} {s:.1f} s" for lb, s in total.items())
          + f"; speed-up vs the faster lm-eval run: {best / total['ours fp32']:.1f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
