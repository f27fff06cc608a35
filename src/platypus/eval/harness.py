"""Run lm-evaluation-harness 0.4 offline on our items, for parity tests and benchmarks.

The items are exported to jsonl and described by local task YAMLs that carry the harness's own
prompt templates for these tasks (mmlu default template, arc_challenge, hellaswag,
truthfulqa_mc1/mc2), so the harness scores exactly the items we score.
"""

from __future__ import annotations

import json
from pathlib import Path

from platypus.eval.prompts import hellaswag_endings, hellaswag_preprocess
from platypus.tasks.schema import TaskItem

MMLU_YAML = """task: pl_mmlu_{subject}
dataset_path: json
dataset_kwargs:
  data_files: {{test: {test}, dev: {dev}}}
test_split: test
fewshot_split: dev
fewshot_config:
  sampler: first_n
num_fewshot: 5
output_type: multiple_choice
description: "The following are multiple choice questions (with answers) about {title}.\\n\\n"
doc_to_text: "{{{{question.strip()}}}}\\nA. {{{{choices[0]}}}}\\nB. {{{{choices[1]}}}}\\nC. {{{{choices[2]}}}}\\nD. {{{{choices[3]}}}}\\nAnswer:"
doc_to_choice: ["A", "B", "C", "D"]
doc_to_target: answer
metric_list:
  - metric: acc
"""  # noqa: E501

ARC_YAML = """task: pl_arc
dataset_path: json
dataset_kwargs:
  data_files: {{train: {train}, test: {test}}}
training_split: train
test_split: test
num_fewshot: 25
output_type: multiple_choice
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_target: "{{{{choices.label.index(answerKey)}}}}"
doc_to_choice: "{{{{choices.text}}}}"
metric_list:
  - metric: acc
  - metric: acc_norm
"""

HS_YAML = """task: pl_hs
dataset_path: json
dataset_kwargs:
  data_files: {{train: {train}, validation: {test}}}
training_split: train
validation_split: validation
num_fewshot: 10
output_type: multiple_choice
doc_to_text: "{{{{query}}}}"
doc_to_target: "{{{{label}}}}"
doc_to_choice: "choices"
metric_list:
  - metric: acc
  - metric: acc_norm
"""

TQA_YAML = """task: pl_tqa_{which}
dataset_path: json
dataset_kwargs:
  data_files: {{validation: {data}}}
validation_split: validation
num_fewshot: 0
output_type: multiple_choice
doc_to_text: "{{% set prompt_qa = 'Q: What is human life expectancy in the United States?\\nA: Human life expectancy in the United States is 78 years.\\n\\nQ: Who was president of the United States in 1955?\\nA: Dwight D. Eisenhower was president of the United States in 1955.\\n\\nQ: Which party did he belong to?\\nA: He belonged to the Republican Party.\\n\\nQ: What is the square root of banana?\\nA: I have no comment.\\n\\nQ: How does a telescope work?\\nA: Telescopes use lenses or mirrors to focus light and make objects appear closer.\\n\\nQ: Where were the 1992 Olympics held?\\nA: The 1992 Olympics were held in Barcelona, Spain.'%}}{{{{prompt_qa + '\\n\\nQ: ' + question + '\\nA:'}}}}"
doc_to_target: 0
doc_to_choice: "{{{{{which}_targets.choices}}}}"
metric_list:
  - metric: acc
"""  # noqa: E501


def _jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _mc(item: TaskItem) -> dict:
    return {"question": item.question, "choices": list(item.choices), "answer": item.gold}


def _arc(item: TaskItem) -> dict:
    labels = list("ABCDE"[: len(item.choices)])
    return {
        "question": item.question,
        "answerKey": labels[item.gold],
        "choices": {"text": list(item.choices), "label": labels},
    }


def _hs(item: TaskItem) -> dict:
    return {
        "query": hellaswag_preprocess(item.question),
        "choices": hellaswag_endings(item),
        "label": item.gold,
    }


def _tqa(item: TaskItem) -> dict:
    gold = [int(k == item.gold) for k in range(len(item.choices))]
    return {
        "question": item.question,
        "mc1_targets": {"choices": list(item.choices), "labels": gold},
        "mc2_targets": {"choices": list(item.mc2_choices), "labels": list(item.mc2_labels)},
    }


def write_tasks(root: Path, items: dict[str, list[TaskItem]], fewshot: dict) -> list[str]:
    """Export items as harness tasks under `root`; returns the harness task names.

    `fewshot`: "arc_challenge" -> ARC train items, "hellaswag" -> the few-shot pool,
    "mmlu" -> {subject: dev items}.
    """
    root.mkdir(parents=True, exist_ok=True)
    names = []
    if items.get("mmlu"):
        for subject in sorted({i.subject for i in items["mmlu"]}):
            test = [i for i in items["mmlu"] if i.subject == subject]
            t = _jsonl(root / f"mmlu_{subject}_test.jsonl", map(_mc, test))
            d = _jsonl(root / f"mmlu_{subject}_dev.jsonl", map(_mc, fewshot["mmlu"][subject]))
            yaml = MMLU_YAML.format(subject=subject, title=subject.replace("_", " "), test=t, dev=d)
            (root / f"mmlu_{subject}.yaml").write_text(yaml)
            names.append(f"pl_mmlu_{subject}")
    if items.get("arc_challenge"):
        train = _jsonl(root / "arc_train.jsonl", map(_arc, fewshot["arc_challenge"]))
        test = _jsonl(root / "arc_test.jsonl", map(_arc, items["arc_challenge"]))
        (root / "arc.yaml").write_text(ARC_YAML.format(train=train, test=test))
        names.append("pl_arc")
    if items.get("hellaswag"):
        train = _jsonl(root / "hs_train.jsonl", map(_hs, fewshot["hellaswag"]))
        test = _jsonl(root / "hs_test.jsonl", map(_hs, items["hellaswag"]))
        (root / "hs.yaml").write_text(HS_YAML.format(train=train, test=test))
        names.append("pl_hs")
    if items.get("truthfulqa_mc"):
        data = _jsonl(root / "tqa.jsonl", map(_tqa, items["truthfulqa_mc"]))
        for which in ("mc1", "mc2"):
            (root / f"tqa_{which}.yaml").write_text(TQA_YAML.format(which=which, data=data))
            names.append(f"pl_tqa_{which}")
    return names


def harness_model(model_path: str, batch_size: int = 1):
    """The harness's HF model wrapper (fp32, CPU), loaded once and reusable across runs."""
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=model_path, dtype="float32", device="cpu", batch_size=batch_size)


def run_harness(root: Path, names: list[str], model) -> dict:
    """Per-sample results: (task, doc_id) -> choice lls, (task, doc_id, metric) -> value.

    `model`: a `harness_model`, or a model folder (loaded in fp32, batch size 1)."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    lm = harness_model(model) if isinstance(model, str) else model
    out = simple_evaluate(
        model=lm,
        tasks=names,
        log_samples=True,
        task_manager=TaskManager(include_path=str(root)),
    )
    lls: dict = {}
    for task, samples in out["samples"].items():
        for s in samples:
            lls[(task, s["doc_id"])] = [float(r[0][0]) for r in s["resps"]]
            for metric in ("acc", "acc_norm"):
                if metric in s:
                    lls[(task, s["doc_id"], metric)] = float(s[metric])
    return lls
