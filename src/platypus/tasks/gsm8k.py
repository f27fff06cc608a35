"""GSM8K, 5-shot, generated and scored by exact match of the final answer.

Local data: `gsm8k/{test,train}.jsonl` (question, answer ending in "#### <number>"). The prompt is
"Question: {question}\\nAnswer:"; each of the 5 examples (drawn from train by the harness
protocol) is followed by " {answer}", the reference solution. The model's greedy continuation is
cut at the protocol's stop strings and its final answer compared with the reference's:

- `exact_match`: the number after "####" (lm-eval 0.4's "strict-match"; b281b09's only metric);
  under lm-eval 0.4 both sides drop commas, "$", a trailing "." and case before comparing,
  under b281b09 only commas;
- `exact_match_flexible` (lm-eval 0.4's "flexible-extract"): the last number in the text.
"""

from __future__ import annotations

import re
from pathlib import Path

from platypus.errors import DataError
from platypus.eval.results import ItemResult
from platypus.io.readers import iter_jsonl
from platypus.tasks.base import Drawn, Task, generated, harness_rows, hub_dataset, write_jsonl
from platypus.tasks.schema import TaskItem

NAME = "gsm8k"
SHOTS = 5
INVALID = "[invalid]"
STRICT = re.compile(r"#### (\-?[0-9\.\,]+)")
FLEXIBLE = re.compile(r"(-?[$0-9.,]{2,})|(-?[0-9]+)")
# lm-eval 0.4's exact_match settings for gsm8k: removed from both sides, in this order.
IGNORE = (",", "\\$", "(?s).*#### ", "\\.$")


def _path(root: Path, split: str) -> Path:
    return Path(root) / "gsm8k" / f"{split}.jsonl"


def final_answer(solution: str) -> str:
    """The number after "####", commas removed (b281b09); "[invalid]" when there is none."""
    match = STRICT.search(solution)
    return match.group(1).strip().replace(",", "") if match else INVALID


def _item(split: str, n: int, question: str, answer: str) -> TaskItem:
    return TaskItem(NAME, split, f"{NAME}/{split}/{n}", question, (final_answer(answer),), 0,
                    target=answer)  # fmt: skip


def load_gsm8k(root: Path, split: str = "test") -> list[TaskItem]:
    path = _path(root, split)
    items = []
    for lineno, row in iter_jsonl(path):
        try:
            question, answer = row["question"], row["answer"]
            if not isinstance(question, str) or not isinstance(answer, str):
                raise TypeError("question and answer must be strings")
        except (KeyError, TypeError) as exc:
            raise DataError(path, f"not a GSM8K row ({exc!r})", row=lineno) from None
        if final_answer(answer) == INVALID:
            raise DataError(path, "the answer has no '#### <number>' line", row=lineno)
        items.append(_item(split, len(items), question, answer))
    return items


def load_hub(**_: object) -> list[TaskItem]:
    rows = hub_dataset("openai/gsm8k", "main", split="test")
    return [_item("test", n, r["question"], r["answer"]) for n, r in enumerate(rows)]


def fewshot(items: list[TaskItem], root: Path) -> tuple[list[TaskItem], list[TaskItem]]:
    """The items as they are; the pool is the train split."""
    return items, load_gsm8k(root, split="train")


def query(item: TaskItem) -> str:
    return f"Question: {item.question}\nAnswer:"


def context(item: TaskItem, examples: list[TaskItem]) -> str:
    return "\n\n".join([*(f"{query(e)} {e.target}" for e in examples), query(item)])


def _ignore(text: str) -> str:
    for pattern in IGNORE:
        text = re.sub(pattern, "", text)
    return text.lower()


def _flexible(text: str) -> str:
    found = FLEXIBLE.findall(text)
    if not found:
        return INVALID
    groups = [g for g in found[-1] if g]
    return groups[0].strip() if groups else INVALID


def metrics(completion: str, item: TaskItem, protocol) -> dict[str, float]:
    """Exact match of the completion's final answer with the reference's, by the protocol."""
    if protocol.gsm8k.until_is_eos:  # b281b09: the number after "####", commas removed
        return {"exact_match": float(final_answer(completion) == item.gold_text)}
    strict = STRICT.search(completion)
    strict_answer = strict.group(1).strip() if strict else INVALID
    reference = _ignore(item.target)
    return {
        "exact_match": float(_ignore(strict_answer) == reference),
        "exact_match_flexible": float(_ignore(_flexible(completion)) == reference),
    }


def score(scorer, items: list[TaskItem], drawn: Drawn, protocol) -> list[ItemResult]:
    """Generated in batches of the scorer's batch size; the completion is kept per item."""
    return generated(scorer, items, lambda item: context(item, drawn.examples[item.id]),
                     protocol.gsm8k, lambda item, text: metrics(text, item, protocol),
                     NAME)  # fmt: skip


YAML = """task: pl_gsm8k
dataset_path: json
dataset_kwargs:
  data_files: {{train: {train}, test: {test}}}
output_type: generate_until
training_split: train
fewshot_split: train
test_split: test
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_target: "{{{{answer}}}}"
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
    ignore_case: true
    ignore_punctuation: false
    regexes_to_ignore:
      - ","
      - "\\\\$"
      - "(?s).*#### "
      - "\\\\.$"
generation_kwargs:
  until:
    - "Question:"
    - "</s>"
    - "<|im_end|>"
  do_sample: false
  temperature: 0.0
num_fewshot: 5
filter_list:
  - name: "strict-match"
    filter:
      - function: "regex"
        regex_pattern: "#### (\\\\-?[0-9\\\\.\\\\,]+)"
      - function: "take_first"
  - name: "flexible-extract"
    filter:
      - function: "regex"
        group_select: -1
        regex_pattern: "(-?[$0-9.,]{{2,}})|(-?[0-9]+)"
      - function: "take_first"
"""


def _row(item: TaskItem) -> dict:
    return {"question": item.question, "answer": item.target}


def export(root: Path, items: list[TaskItem], drawn: Drawn) -> list[str]:
    train = write_jsonl(root / "gsm8k_train.jsonl", map(_row, drawn.pool))
    test = write_jsonl(root / "gsm8k_test.jsonl", map(_row, items))
    (root / "gsm8k.yaml").write_text(YAML.format(train=train, test=test))
    return ["pl_gsm8k"]


def from_harness(items: list[TaskItem], samples: dict[str, list[dict]]) -> list[ItemResult]:
    """lm-eval's completions, scored by our metrics (the same definitions as its filters). Its
    samples come once per filter; the completion is the same in each."""
    from platypus.eval.protocols import LM_EVAL_04

    out = []
    for item, row in zip(items, harness_rows(samples, items, "strict-match"), strict=True):
        completion = row["resps"][0][0]
        out.append(ItemResult(item.id, [], metrics(completion, item, LM_EVAL_04), text=completion))
    return out


def data_files(root: Path) -> list[Path]:
    return [_path(root, "test"), _path(root, "train")]


class GSM8KTask(Task):
    name = NAME
    headline = "exact_match"
    split = "test"
    load = staticmethod(load_gsm8k)
    # 5 worked solutions + the question, then ~130 generated tokens;
    # decoding is bound by memory bandwidth rather than FLOPs, so this
    # is a lower bound on its time
    plan_cost = (1_319, 1_000)
    shots = SHOTS


TASK = GSM8KTask()
