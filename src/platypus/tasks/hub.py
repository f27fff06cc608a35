"""The same benchmarks from the Hugging Face hub, for users with internet."""

from __future__ import annotations

from platypus.errors import PlatypusError
from platypus.tasks.loaders import NUM_TO_LETTER
from platypus.tasks.schema import TaskItem


def _load(*args, **kwargs):
    try:
        import datasets

        return datasets.load_dataset(*args, **kwargs)
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PlatypusError(
            f"could not load {args[0]!r} from the hub ({first}); use the local data root instead"
        ) from None


def load_from_hub(name: str, **_: object) -> list[TaskItem]:
    if name == "arc_challenge":
        rows = _load("allenai/ai2_arc", "ARC-Challenge", split="test")
        out = []
        for r in rows:
            labels = [NUM_TO_LETTER.get(x, x) for x in r["choices"]["label"]]
            key = NUM_TO_LETTER.get(r["answerKey"], r["answerKey"])
            out.append(
                TaskItem(
                    "arc_challenge",
                    "test",
                    f"arc_challenge/{r['id']}",
                    r["question"],
                    tuple(r["choices"]["text"]),
                    labels.index(key),
                )
            )
        return out
    if name == "hellaswag":
        rows = _load("Rowan/hellaswag", split="validation")
        return [
            TaskItem(
                "hellaswag",
                "validation",
                f"hellaswag/{i}",
                f"{r['activity_label']}: {r['ctx']}",
                tuple(r["endings"]),
                int(r["label"]),
                subject=r["activity_label"],
            )
            for i, r in enumerate(rows)
        ]
    if name == "mmlu":
        rows = _load("cais/mmlu", "all", split="test")
        counts: dict[str, int] = {}
        out = []
        for r in rows:
            counts[r["subject"]] = counts.get(r["subject"], 0) + 1
            out.append(
                TaskItem(
                    "mmlu",
                    "test",
                    f"mmlu/{r['subject']}/{counts[r['subject']]}",
                    r["question"],
                    tuple(r["choices"]),
                    int(r["answer"]),
                    r["subject"],
                )
            )
        return out
    if name == "truthfulqa_mc":
        rows = _load("truthfulqa/truthful_qa", "multiple_choice", split="validation")
        return [
            TaskItem(
                "truthfulqa_mc",
                "validation",
                f"truthfulqa_mc/{i}",
                r["question"],
                tuple(r["mc1_targets"]["choices"]),
                r["mc1_targets"]["labels"].index(1),
                mc2_choices=tuple(r["mc2_targets"]["choices"]),
                mc2_labels=tuple(r["mc2_targets"]["labels"]),
            )
            for i, r in enumerate(rows)
        ]
    raise PlatypusError(f"unknown benchmark {name!r}")
