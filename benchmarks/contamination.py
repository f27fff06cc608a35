"""Contamination benchmark: how many rephrased benchmark leaks each detector catches, and how many
clean rows it removes.

    .venv/bin/python benchmarks/contamination.py [--train BUILD.jsonl] [--judge-endpoint URL]

The labelled set is `benchmarks/data/rephrased_leaks.jsonl` (hand-written leaks of ARC, MMLU,
TruthfulQA, HellaSwag, GSM8K and Winogrande test items: reworded stems, options inline or
reordered, the answer in other words, units converted; hand-written hard negatives; real clean
training rows). Every configuration runs the real `detect` + `classify` against the full
benchmark test sets. A leak counts as caught when its row is removed through a pair with the very
benchmark item it leaks; a clean row counts as falsely removed when it is removed at all.

With `--train` (a built training set, e.g. `platypus data build`'s jsonl) it also counts the rows
each configuration removes from real training data, and lists a sample of the rows the default
removes beyond the previous rules, to be read by eye.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from generation import cpu_line  # noqa: E402

from platypus.config import DecontaminateConfig  # noqa: E402
from platypus.data.decontaminate.classify import classify  # noqa: E402
from platypus.data.decontaminate.detect import detect  # noqa: E402
from platypus.data.decontaminate.run import load_benchmarks  # noqa: E402
from platypus.data.record import Record  # noqa: E402
from platypus.io.records import read_records  # noqa: E402
from platypus.paths import data_root  # noqa: E402
from platypus.tasks.schema import TaskItem  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LABELLED = REPO / "benchmarks" / "data" / "rephrased_leaks.jsonl"
RESULTS = REPO / "benchmarks" / "results" / "contamination-cpu-2core.md"
PREVIOUS = dict(
    views=["question"],
    top_k=0,
    answers=["text"],
    same_question_similarity=1.0,
    numbers_must_agree=False,
    answers_must_agree=False,
)
ANSWERS = ["text", "number", "letter", "fuzzy"]

# name -> (recipe overrides, rule). "classes": rows with a pair in a removed category;
# "nearest": Platypus' own rule (each row's nearest benchmark question, cosine >= 0.8). Each
# line adds one detector or rule to the line above; the last is the default.
CONFIGS: dict[str, tuple[dict, str]] = {
    "Platypus: nearest question, cosine >= 0.8": (PREVIOUS, "nearest"),
    "previous default (cosine >= 0.8 all neighbours, 13-grams, answer text)": (PREVIOUS, "classes"),
    "+ numbers must agree": (PREVIOUS | {"numbers_must_agree": True}, "classes"),
    "+ answers: numbers, letters, fuzzy words": (
        PREVIOUS | {"numbers_must_agree": True, "answers": ANSWERS}, "classes"),
    "+ options view": (PREVIOUS | {"numbers_must_agree": True, "answers": ANSWERS,
                                   "views": ["question", "options"]}, "classes"),
    "+ top-k retrieval": (PREVIOUS | {"numbers_must_agree": True, "answers": ANSWERS,
                                      "views": ["question", "options"], "top_k": 3}, "classes"),
    "+ same question at cosine >= 0.86": (
        {"answers": ANSWERS, "answers_must_agree": False}, "classes"),
    "+ answers must agree": ({"answers": ANSWERS}, "classes"),
    "+ the gold as the instruction's premise (the default)": ({}, "classes"),
}  # fmt: skip
DEFAULT = "+ the gold as the instruction's premise (the default)"
MEANING = "+ meaning (`meaning: true`; off by default)"
CONFIGS[MEANING] = ({"meaning": True}, "classes")
# The held-out rows, by the round that wrote them: the second round's seeded half, and the third
# round, written without reading the detector or its results.
HELD_OUT_ROUNDS = {
    2: "Half of the second round of hand-written rows (seeded per benchmark and kind), never read "
    "while the rules were made",
    3: "The third round, written after the rules were made by writers who never read the "
    "detector or its results, from items drawn afresh, every row checked against its item",
}
# One default changed at a time: how sensitive the result is to it.
SWEEP = {
    **{f"same_question_similarity {t}": {"same_question_similarity": t}
       for t in (0.82, 0.84, 0.88, 0.9, 0.95)},
    **{f"gray_similarity {t}": {"gray_similarity": t} for t in (0.6, 0.8)},
    **{f"top_k {k}": {"top_k": k} for k in (1, 5)},
}  # fmt: skip


def resolve_id(benchmark_id: str, by_id: dict[str, int]) -> int | None:
    """The labelled set names items as their sources do (GSM8K "gsm8k-test-<line>", Winogrande
    qID); the tasks prefix them."""
    candidates = [benchmark_id, f"winogrande/{benchmark_id}"]
    if benchmark_id.startswith("gsm8k-test-"):
        candidates.append("gsm8k/test/" + benchmark_id.rsplit("-", 1)[1])
    return next((by_id[c] for c in candidates if c in by_id), None)


def pool(items: list[TaskItem], rows: list[dict], others: int | None) -> list[TaskItem]:
    """The leaked items first, then `others` more in a seeded order (all when None)."""
    by_id = {item.id: i for i, item in enumerate(items)}
    leaked = {resolve_id(r["benchmark_id"], by_id) for r in rows if r["benchmark_id"]} - {None}
    rest = [i for i in random.Random(0).sample(range(len(items)), len(items)) if i not in leaked]
    order = sorted(leaked) + rest[:others]
    return [items[i] for i in sorted(order)]


def removed_pairs(records, items, config, rule) -> dict[int, set[int]]:
    """Training row -> the benchmark items it is removed for."""
    evidence, _ = detect(records, items, config)
    out: dict[int, set[int]] = defaultdict(set)
    if rule == "nearest":
        nearest: dict[int, tuple[float, int]] = {}
        for e in evidence:
            if e.view == "question" and e.similarity > nearest.get(e.train, (-1.0, -1))[0]:
                nearest[e.train] = (e.similarity, e.bench)
        for t, (sim, b) in nearest.items():
            if sim >= 0.8:
                out[t].add(b)
        return out
    for e in evidence:
        if classify(e, config) in config.remove:
            out[e.train].add(e.bench)
    return out


def score(rows, removed, gold, split: str | None = None, round_: int | None = None) -> dict:
    """Recall per benchmark and kind, false removals per kind, precision and F1, and hard
    negatives (hand-written rows that look like an item but answer otherwise) kept: not removed
    for the item they imitate (`gold` names it for them). A negative removed for another item
    is counted apart: it may leak that one (the same fact asked elsewhere in the test set).
    Over the rows of one split (and round), or all."""
    caught = defaultdict(lambda: [0, 0])  # key -> [caught, total]
    false = defaultdict(lambda: [0, 0])
    tp = fp = 0
    for i, r in enumerate(rows):
        if split is not None and r["split"] != split:
            continue
        if round_ is not None and r["round"] != round_:
            continue
        if r["label"] == "leak":
            hit = gold[i] in removed.get(i, ())
            for key in ("all", f"benchmark {r['benchmark']}", f"kind {r['kind']}"):
                caught[key][0] += hit
                caught[key][1] += 1
            tp += hit
            fp += bool(removed.get(i)) and not hit  # removed, but for another item
        elif r["kind"] == "clean-training-row":
            hit = bool(removed.get(i))
            for key in ("all", "training", f"kind {r['kind']}"):
                false[key][0] += hit
                false[key][1] += 1
            fp += hit
        else:
            hit = gold[i] in removed.get(i, ())
            elsewhere = not hit and bool(removed.get(i))
            for key in ("all", "negative", f"kind {r['kind']}"):
                false[key][0] += hit
                false[key][1] += 1
            false["negative elsewhere"][0] += elsewhere
            false["negative elsewhere"][1] += 1
            fp += hit or elsewhere  # precision stays strict: any clean row removed
    recall = caught["all"][0] / caught["all"][1] if caught["all"][1] else 0.0
    precision = tp / (tp + fp) if tp + fp else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    removed_negatives, negatives = false["negative"]
    kept = (negatives - removed_negatives) / negatives if negatives else 1.0
    return dict(caught=caught, false=false, recall=recall, precision=precision, f1=f1,
                negatives_kept=kept)  # fmt: skip


def pct(a: int, b: int) -> str:
    return f"{a}/{b} ({100 * a / b:.0f}%)" if b else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labelled", default=str(LABELLED))
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--train", default=None, help="a built training set (jsonl)")
    parser.add_argument("--judge-endpoint", default=None)
    parser.add_argument("--judge-model", default=None)
    parser.add_argument(
        "--pool",
        type=int,
        default=None,
        help="benchmark items besides the leaked ones (seeded sample; default all)",
    )
    parser.add_argument(
        "--precision",
        default="fp32",
        help="embedding precision (fp32: faster than bf16 on CPUs without bf16)",
    )
    parser.add_argument(
        "--split",
        choices=("dev", "held-out"),
        default=None,
        help="only the labelled rows of one split (default all; rules are made on dev alone)",
    )
    parser.add_argument(
        "--misses",
        action="store_true",
        help="print the default's missed leaks and removed clean rows (dev rows only)",
    )
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()

    root = str(data_root(args.data_root))
    common = dict(data_root=root, precision=args.precision)
    items: list[TaskItem] = load_benchmarks(DecontaminateConfig(**common))
    rows = [json.loads(line) for line in Path(args.labelled).read_text().splitlines() if line]
    if args.split:
        rows = [r for r in rows if r["split"] == args.split]
    loaded = {item.benchmark for item in items}
    skipped = sorted({r["benchmark"] for r in rows if r["benchmark"] not in loaded | {None}})
    if skipped:  # a task not in this checkout's registry
        print(f"leaving out the rows of {', '.join(skipped)}: no such task here")
        rows = [r for r in rows if r["benchmark"] not in skipped]
    items = pool(items, rows, args.pool)
    by_id = {item.id: i for i, item in enumerate(items)}
    records = [Record(r["id"], **r["row"]) for r in rows]
    # The item each row leaks, or, for a hard negative, imitates.
    gold = [resolve_id(r["benchmark_id"], by_id) if r["benchmark_id"] else None for r in rows]
    missing = [r["id"] for r, g in zip(rows, gold, strict=True) if r["benchmark_id"] and g is None]
    if missing:
        raise SystemExit(f"rows whose benchmark item is not loaded: {missing[:5]}")

    configs = dict(CONFIGS)
    if args.judge_endpoint:
        # The judge reads the uncertain band and, with the meaning view, each row's nearest item.
        configs["+ meaning and a judge over each row's nearest item"] = (
            {"judge": True, "meaning": True, "judge_endpoint": args.judge_endpoint,
             "judge_model": args.judge_model},
            "classes",
        )  # fmt: skip
    results, held_out, seconds = {}, {}, {}
    for name, (overrides, rule) in configs.items():
        config = DecontaminateConfig(**common | overrides)
        t = time.perf_counter()
        removed = removed_pairs(records, items, config, rule)
        seconds[name] = time.perf_counter() - t
        results[name] = score(rows, removed, gold)
        held_out[name] = {n: score(rows, removed, gold, "held-out", n) for n in HELD_OUT_ROUNDS}
        print(
            f"{name}: recall {results[name]['recall']:.3f} "
            f"false {results[name]['false']['all']} "
            f"negatives kept {results[name]['negatives_kept']:.3f} ({seconds[name]:.0f} s)",
            flush=True,
        )
    if args.misses:
        for i, r in enumerate(rows):
            if r["label"] == "leak":
                wrong = gold[i] not in removed.get(i, ())
            else:
                wrong = bool(removed.get(i))
            if wrong and r["split"] == "dev":  # held-out rows are counted, never listed
                print(f"  {r['label']:5} {r['split']:8} {r['kind']:30} {r['id']}")

    sweep = {}
    for name, overrides in SWEEP.items():
        config = DecontaminateConfig(**common | overrides)
        sweep[name] = score(rows, removed_pairs(records, items, config, "classes"), gold)

    real = {}
    if args.train:
        train = read_records(args.train)
        for name in (next(iter(CONFIGS)), list(CONFIGS)[1], DEFAULT, MEANING):
            overrides, rule = CONFIGS[name]
            config = DecontaminateConfig(**common | overrides)
            real[name] = removed_pairs(train, items, config, rule)
    write(args, rows, items, results, held_out, seconds, sweep, real, train if args.train else [])


def summary_table(results: dict, seconds: dict | None = None) -> list[str]:
    """One line per configuration: recall, precision, F1, real training rows removed, hard
    negatives kept (and seconds)."""
    time_head = " seconds |" if seconds else ""
    lines = [
        "| configuration | recall | precision | F1 | training rows removed | hard negatives kept "
        "| hard negatives removed for another item |" + time_head,
        "|---|---:|---:|---:|---:|---:|---:|" + ("---:|" if seconds else ""),
    ]
    for name, r in results.items():
        removed, negatives = r["false"]["negative"]
        lines.append(
            f"| {name} | {r['recall']:.1%} | {r['precision']:.1%} | {r['f1']:.3f} | "
            f"{pct(*r['false']['training'])} | {pct(negatives - removed, negatives)} | "
            f"{pct(*r['false']['negative elsewhere'])} |"
            + (f" {seconds[name]:.0f} |" if seconds else "")
        )
    return lines


def write(args, rows, items, results, held_out, seconds, sweep, real, train) -> None:
    n_leak = sum(r["label"] == "leak" for r in rows)
    n_negative = sum(r["label"] == "clean" and r["benchmark"] is not None for r in rows)
    n_training = len(rows) - n_leak - n_negative
    held = [r for r in rows if r["split"] == "held-out"]
    sample = " (the leaked ones and a seeded sample)" if args.pool is not None else ""
    lines = [
        "# Contamination detectors on rephrased leaks",
        "",
        f"`benchmarks/contamination.py` on {cpu_line()}, "
        f"{time.strftime('%Y-%m-%d')}. Labelled set: {n_leak} leaks, {n_negative} hard negatives "
        f"and {n_training} real training rows (`{Path(args.labelled).name}`"
        f"{f', {args.split} rows only' if args.split else ''}), against {len(items):,} "
        f"benchmark test items{sample}, "
        f"embedded in {args.precision}. A leak is caught when its row is removed through a pair "
        "with the very item it leaks; precision counts a leak removed for another item, and any "
        "clean row removed, as a false positive. Hard negatives look like an item but answer "
        "otherwise (numbers changed, the converse asked, another ending): kept is right.",
        "",
        *summary_table(results, seconds),
    ]
    for n, written in HELD_OUT_ROUNDS.items():
        rows_n = [r for r in held if r["round"] == n]
        if not rows_n or args.split is not None:
            continue
        n_leak = sum(r["label"] == "leak" for r in rows_n)
        lines += [
            "",
            f"## Held-out rows of round {n} ({n_leak} leaks, {len(rows_n) - n_leak} hard "
            "negatives)",
            "",
            f"{written}:",
            "",
            *summary_table({name: per_round[n] for name, per_round in held_out.items()}),
        ]
    names = list(results)
    keys = sorted(k for k in results[names[-1]]["caught"] if k != "all")
    lines += [
        "",
        "## Recall per benchmark and kind",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for key in keys:
        lines.append(
            f"| {key} | " + " | ".join(pct(*results[n]["caught"][key]) for n in names) + " |"
        )
    fkeys = sorted(k for k in results[names[-1]]["false"] if k != "all")
    lines += [
        "",
        "## Clean rows removed per kind (a hard negative: for the item it imitates)",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for key in fkeys:
        lines.append(
            f"| {key} | " + " | ".join(pct(*results[n]["false"][key]) for n in names) + " |"
        )
    lines += ["", "## One default changed at a time", "", *summary_table(sweep)]
    if real:
        lines += [
            "",
            f"## Real training rows removed ({len(train):,} rows of `{args.train}`)",
            "",
            "| configuration | rows removed |",
            "|---|---:|",
        ]
        for name, removed in real.items():
            lines.append(f"| {name} | {pct(len(removed), len(train))} |")
        first, previous, default, meaning = real.values()
        extra = sorted(set(default) - set(previous) - set(first))
        lines += [
            "",
            f"Rows the default removes beyond both earlier rules: {len(extra)}; a "
            "seeded sample of them with the benchmark item each was removed for:",
            "",
            *sample_lines(extra, default, train, items),
        ]
        by_meaning = sorted(set(meaning) - set(default))
        lines += [
            "",
            f"Rows the meaning detector removes beyond the default: {len(by_meaning)}; a seeded "
            "sample:",
            "",
            *sample_lines(by_meaning, meaning, train, items),
        ]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


def sample_lines(rows: list[int], removed: dict, train, items) -> list[str]:
    """A seeded sample of removed training rows, each with the item it was removed for."""
    lines = []
    for t in random.Random(0).sample(rows, min(12, len(rows))):
        item = items[min(removed[t])]
        lines.append(
            f"- `{train[t].id}`: {cell(train[t].instruction)} → "
            f"{cell(train[t].output, 80)} ‖ `{item.id}`: {cell(item.question)} → "
            f"{cell(item.gold_text, 60)}"
        )
    return lines


def cell(text: str, limit: int = 160) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


if __name__ == "__main__":
    main()
