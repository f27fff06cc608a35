"""Our log-likelihoods equal lm-evaluation-harness 0.4's on the same model, items and prompts.

lm-eval runs offline: the items are exported to jsonl and described by local task YAMLs with the
harness's own prompt templates for these tasks (mmlu default template, truthfulqa_mc1/mc2).
"""

import json
import math

import pytest

from platypus.eval.loglik import LoglikScorer
from platypus.eval.prompts import hellaswag_endings, hellaswag_preprocess, hellaswag_split
from platypus.eval.run import evaluate
from platypus.models import load_causal_lm, prepared_path
from platypus.tasks import load_task
from platypus.tasks.loaders import load_arc, load_mmlu

lm_eval = pytest.importorskip("lm_eval")

LIMIT = 6
SUBJECT = "high_school_mathematics"

MMLU_YAML = """task: pl_mmlu
dataset_path: json
dataset_kwargs:
  data_files: {{test: {test}, dev: {dev}}}
test_split: test
fewshot_split: dev
fewshot_config:
  sampler: first_n
num_fewshot: 5
output_type: multiple_choice
description: "The following are multiple choice questions (with answers) about high school mathematics.\\n\\n"
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


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def harness(tmp_path_factory, shared_data):
    """lm-eval's per-choice log-likelihoods for the first LIMIT items of each task."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    root = tmp_path_factory.mktemp("lmeval")
    test = load_task("mmlu", shared_data, subjects=[SUBJECT])[:LIMIT]
    dev = load_mmlu(shared_data, split="dev", subjects=[SUBJECT])
    as_row = lambda i: {"question": i.question, "choices": list(i.choices), "answer": i.gold}  # noqa: E731
    t = _jsonl(root / "test.jsonl", [as_row(i) for i in test])
    d = _jsonl(root / "dev.jsonl", [as_row(i) for i in dev])
    (root / "mmlu.yaml").write_text(MMLU_YAML.format(test=t, dev=d))
    tqa = load_task("truthfulqa_mc", shared_data)[:LIMIT]
    rows = [
        {
            "question": i.question,
            "mc1_targets": {
                "choices": list(i.choices),
                "labels": [int(k == i.gold) for k in range(len(i.choices))],
            },
            "mc2_targets": {"choices": list(i.mc2_choices), "labels": list(i.mc2_labels)},
        }
        for i in tqa
    ]
    q = _jsonl(root / "tqa.jsonl", rows)
    arc_rows = lambda items: [{"question": i.question, "answerKey": "ABCDE"[i.gold],  # noqa: E731
                               "choices": {"text": list(i.choices),
                                           "label": list("ABCDE"[: len(i.choices)])}}
                              for i in items]  # fmt: skip
    a_test = _jsonl(
        root / "arc_test.jsonl", arc_rows(load_task("arc_challenge", shared_data)[:LIMIT])
    )
    a_train = _jsonl(root / "arc_train.jsonl", arc_rows(load_arc(shared_data, split="train")))
    (root / "arc.yaml").write_text(ARC_YAML.format(train=a_train, test=a_test))
    pool, scored = hellaswag_split(load_task("hellaswag", shared_data))

    def hs_rows(items):
        return [
            {
                "query": hellaswag_preprocess(i.question),
                "choices": hellaswag_endings(i),
                "label": i.gold,
            }
            for i in items
        ]

    h_train = _jsonl(root / "hs_train.jsonl", hs_rows(pool))
    h_test = _jsonl(root / "hs_test.jsonl", hs_rows(scored[:LIMIT]))
    (root / "hs.yaml").write_text(HS_YAML.format(train=h_train, test=h_test))
    for which in ("mc1", "mc2"):
        (root / f"tqa_{which}.yaml").write_text(TQA_YAML.format(which=which, data=q))
    out = simple_evaluate(
        model="hf", model_args=f"pretrained={prepared_path()},dtype=float32", device="cpu",
        tasks=["pl_mmlu", "pl_tqa_mc1", "pl_tqa_mc2", "pl_arc", "pl_hs"], batch_size=1,
        log_samples=True,
        task_manager=TaskManager(include_path=str(root)),
    )  # fmt: skip
    lls = {}
    for task, samples in out["samples"].items():
        for s in samples:
            lls[(task, s["doc_id"])] = [float(r[0][0]) for r in s["resps"]]
            for metric in ("acc", "acc_norm"):
                if metric in s:
                    lls[(task, s["doc_id"], metric)] = float(s[metric])
    return lls


@pytest.fixture(scope="module")
def ours(shared_data):
    model, tokenizer = load_causal_lm()
    scorer = LoglikScorer(model, tokenizer)
    _, mmlu, _ = evaluate(scorer, "mmlu", shared_data, limit=LIMIT, subjects=[SUBJECT])
    _, tqa, _ = evaluate(scorer, "truthfulqa_mc", shared_data, limit=LIMIT)
    _, arc, _ = evaluate(scorer, "arc_challenge", shared_data, limit=LIMIT)
    _, hs, _ = evaluate(scorer, "hellaswag", shared_data, limit=LIMIT)
    return mmlu, tqa, arc, hs


def test_mmlu_loglikelihoods_match_the_harness(harness, ours):
    mmlu, *_ = ours
    for i, r in enumerate(mmlu):
        assert r.lls == pytest.approx(harness[("pl_mmlu", i)], abs=2e-3), r.id


def test_truthfulqa_loglikelihoods_match_the_harness(harness, ours):
    _, tqa, *_ = ours
    for i, r in enumerate(tqa):
        assert r.lls == pytest.approx(harness[("pl_tqa_mc1", i)], abs=2e-3), r.id
        assert r.extra_lls == pytest.approx(harness[("pl_tqa_mc2", i)], abs=2e-3), r.id
        assert not any(math.isnan(x) for x in r.extra_lls)


def test_arc_25_shot_matches_the_harness(harness, ours):
    # Same sampled few-shot examples, same log-likelihoods, same acc and acc_norm per item.
    _, _, arc, _ = ours
    for i, r in enumerate(arc):
        assert r.lls == pytest.approx(harness[("pl_arc", i)], abs=2e-3), r.id
        assert r.metrics["acc"] == harness[("pl_arc", i, "acc")]
        assert r.metrics["acc_norm"] == harness[("pl_arc", i, "acc_norm")]


def test_hellaswag_10_shot_matches_the_harness(harness, ours):
    *_, hs = ours
    for i, r in enumerate(hs):
        assert r.lls == pytest.approx(harness[("pl_hs", i)], abs=2e-3), r.id
        assert r.metrics["acc_norm"] == harness[("pl_hs", i, "acc_norm")]
