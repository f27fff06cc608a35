"""MuSR (multistep soft reasoning) as the Open LLM Leaderboard v2 scores it (lm-eval 0.4.13
`leaderboard_musr`): murder mysteries, object placements and team allocation, 0-shot, multiple
choice by log-likelihood, acc_norm.

Prompt (lm-eval's `musr/utils.py` `doc_to_text`): "{narrative}\\n\\n{question}\\n\\n", one line
"{k} - {choice}\\n" per choice (k from 1), then "\\nAnswer:". Each choice is scored as the
continuation " {choice}"; acc_norm picks the highest log-likelihood per character of the choice
(without the space). The gold choice is lm-eval's reading of the target `answer_choice`: the
choice equal to it (a target of digits would be an index, as lm-eval reads any digit target).

Local data (`musr/`, see its SOURCE.md): the leaderboard's 250 + 256 + 250 questions are NOT
there (the upstream files are over the snapshot size limit); what is there is the MuSR
website's sample, `viewer_small_datasets/small_{murder_mystery,object_placements,
team_allocation}.json` (5 + 20 + 5 questions, probably the first of each domain). A domain's full
upstream file, `musr/datasets/{murder_mystery,object_placements,team_allocation}.json` (the
same format: stories with their questions), is used instead where it is present, and the
results carry a note for every domain that is scored on the sample. Upstream fields map to the
leaderboard's (HF `TAUR-Lab/MuSR`) as narrative = story `context`, question = `question`,
choices = `choices`, answer = `choices[answer]` (not checked here: that the HF `question` is the
upstream one, with no instructions added; SOURCE.md only matched the first story and choices).
An item's `question` is the narrative and the question joined by a blank line: the text the
prompt shows before the choices.

Item ids are `musr/<domain>/<n>`, domain the leaderboard's split name and n the 0-based question
in it (lm-eval's doc_id; object placements have 4 questions per story). Questions about one
story share its narrative, which runs once for them.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from platypus.errors import DataError, PlatypusError
from platypus.eval.metrics import acc_norm
from platypus.eval.results import ItemResult
from platypus.io.readers import read_json
from platypus.progress import progress
from platypus.tasks.base import (
    LeaderboardScore,
    Task,
    harness_by_subject,
    hub_dataset,
    write_jsonl,
)
from platypus.tasks.schema import TaskItem

NAME = "musr"
HUB = "TAUR-Lab/MuSR"
NO_GOLD = -100  # lm-eval's gold for a target that is none of the choices
# The leaderboard's split name -> the upstream file's stem.
DOMAINS = {
    "murder_mysteries": "murder_mystery",
    "object_placements": "object_placements",
    "team_allocation": "team_allocation",
}
# The leaderboard rescales each domain's acc_norm from chance, 1 in this many, then averages the
# domains with equal weight (the counts its normalisation page gives; object placements' questions
# have 3 to 5 places).
CHANCE_CHOICES = {"murder_mysteries": 2, "object_placements": 5, "team_allocation": 3}
# Questions per domain in the leaderboard's data.
FULL = {"murder_mysteries": 250, "object_placements": 256, "team_allocation": 250}


def _full_path(root: Path, domain: str) -> Path:
    return Path(root) / "musr" / "datasets" / f"{DOMAINS[domain]}.json"


def _sample_path(root: Path, domain: str) -> Path:
    return Path(root) / "musr" / "viewer_small_datasets" / f"small_{DOMAINS[domain]}.json"


def _path(root: Path, domain: str) -> Path:
    """The full upstream file where present, else the website's sample."""
    full = _full_path(root, domain)
    return full if full.is_file() else _sample_path(root, domain)


def _domains(subjects: list[str] | None) -> list[str]:
    if subjects is None:
        return list(DOMAINS)
    if not subjects:
        raise PlatypusError("musr: the subject list is empty; leave it unset for all domains")
    unknown = sorted(set(subjects) - set(DOMAINS))
    if unknown:
        raise PlatypusError(f"musr: unknown domains {unknown}; known: {', '.join(DOMAINS)}")
    return [d for d in DOMAINS if d in set(subjects)]


def gold_index(target: str, choices: tuple[str, ...]) -> int:
    """lm-eval's gold for a rendered target: digits are an index, else the equal choice."""
    if target.isdigit():
        n = int(target)
        return n if n < len(choices) else NO_GOLD
    return choices.index(target) if target in choices else NO_GOLD


def _item(domain: str, n: int, narrative: str, question: str, choices, answer: str) -> TaskItem:
    choices = tuple(choices)
    # The question is the text the prompt shows before the choices: the story, then the question
    # (which alone is the same for every item of a domain: "Who is the most likely murderer?").
    return TaskItem(NAME, "test", f"{NAME}/{domain}/{n}", f"{narrative}\n\n{question}", choices,
                    gold_index(answer, choices), domain)  # fmt: skip


def _read_domain(path: Path, domain: str) -> list[TaskItem]:
    stories = read_json(path)
    if not isinstance(stories, list) or not stories:
        raise DataError(path, "expected a list of stories {context, questions}")
    items = []
    for s, story in enumerate(stories):
        narrative = story.get("context") if isinstance(story, dict) else None
        questions = story.get("questions") if isinstance(story, dict) else None
        if not isinstance(narrative, str) or not narrative or not isinstance(questions, list):
            raise DataError(path, "a story needs a context and a list of questions", row=s)
        for q, question in enumerate(questions):
            where = f"story {s} question {q}"
            ok = isinstance(question, dict) and isinstance(question.get("question"), str)
            choices = question.get("choices") if ok else None
            answer = question.get("answer") if ok else None
            if (
                not isinstance(choices, list)
                or len(choices) < 2
                or not all(isinstance(c, str) and c for c in choices)
                or not isinstance(answer, int)
                or isinstance(answer, bool)
                or not 0 <= answer < len(choices)
            ):
                raise DataError(
                    path, "a question needs a question, 2+ choices and an answer index", row=where
                )
            items.append(_item(domain, len(items), narrative, question["question"], choices,
                               choices[answer]))  # fmt: skip
    return items


def load_musr(root: Path, split: str = "test", subjects: list[str] | None = None) -> list[TaskItem]:
    if split != "test":
        raise PlatypusError(f"musr: no split {split!r}; MuSR has only its test questions")
    items = []
    for domain in _domains(subjects):
        items += _read_domain(_path(root, domain), domain)
    return items


def load_hub(subjects: list[str] | None = None, **_: object) -> list[TaskItem]:
    items = []
    for domain in _domains(subjects):
        for n, r in enumerate(hub_dataset(HUB, split=domain)):
            choices = ast.literal_eval(r["choices"])
            items.append(_item(domain, n, r["narrative"], r["question"], choices,
                               r["answer_choice"]))  # fmt: skip
    return items


def fewshot(items: list[TaskItem], root: Path) -> tuple[list[TaskItem], None]:
    """0-shot: no pool."""
    return items, None


def context(item: TaskItem) -> str:
    choices = "".join(f"{k} - {c}\n" for k, c in enumerate(item.choices, start=1))
    return f"{item.question}\n\n{choices}\nAnswer:"


def continuations(item: TaskItem) -> list[str]:
    return [f" {c}" for c in item.choices]


def metrics(lls: list[float], item: TaskItem) -> dict[str, float]:
    return {"acc_norm": acc_norm(lls, item.choices, item.gold)}


def score(scorer, items: list[TaskItem], pool=None, protocol=None) -> list[ItemResult]:
    """Questions about one story share its narrative as a prefix, which runs once."""
    by_story: dict[tuple[str, str], list[int]] = defaultdict(list)
    for n, item in enumerate(items):
        # Only groups the work: `prefix` finds the tokens the group really shares.
        by_story[(item.subject, item.question.rsplit("\n\n", 1)[0])].append(n)
    out: list[ItemResult | None] = [None] * len(items)
    with progress(total=len(items), desc=NAME, unit=" items", disable=None) as bar:
        for members in by_story.values():
            group = [items[n] for n in members]
            contexts = [context(item) for item in group]
            prefix = scorer.prefix(contexts) if len(group) > 1 else None
            requests = [(c, continuations(i)) for c, i in zip(contexts, group, strict=True)]
            for n, item, scores in zip(members, group, scorer.score_many(requests, prefix),
                                       strict=True):  # fmt: skip
                lls = [s.logprob for s in scores]
                out[n] = ItemResult(item.id, lls, metrics(lls, item))
            bar.update(len(group))
    return out  # type: ignore[return-value]


def _row(item: TaskItem) -> dict:
    """The item in the leaderboard's (HF) schema, the story and question joined as `text`."""
    return {
        "text": item.question,
        "choice_list": list(item.choices),
        "choices": repr(list(item.choices)),  # HF: a Python literal, read by ast.literal_eval
        "answer_choice": item.choices[item.gold] if item.gold != NO_GOLD else "",
    }


# lm-eval's doc_to_text as a template (the leaderboard's is a Python function, which an exported
# YAML could only reach by shipping code); doc_to_choice and doc_to_target are the leaderboard's.
YAML = """task: pl_musr_{domain}
dataset_path: json
dataset_kwargs:
  data_files: {{test: {test}}}
output_type: multiple_choice
test_split: test
doc_to_text: "{{{{text}}}}\\n\\n{{% for c in choice_list %}}{{{{loop.index}}}} - {{{{c}}}}\\n{{% endfor %}}\\nAnswer:"
doc_to_target: "{{{{answer_choice}}}}"
doc_to_choice: "{{{{choices}}}}"
num_fewshot: 0
metric_list:
  - metric: acc_norm
    aggregation: mean
    higher_is_better: true
"""  # noqa: E501


def export(root: Path, items: list[TaskItem], pool=None) -> list[str]:
    """One harness task per domain, in the leaderboard's schema."""
    import json

    names = []
    for domain in [d for d in DOMAINS if any(i.subject == d for i in items)]:
        rows = (_row(i) for i in items if i.subject == domain)
        test = write_jsonl(root / f"musr_{domain}_test.jsonl", rows)
        (root / f"musr_{domain}.yaml").write_text(
            YAML.format(domain=domain, test=json.dumps(str(test)))
        )
        names.append(f"pl_musr_{domain}")
    return names


# one harness task per domain (see `export`)
from_harness = harness_by_subject("pl_musr")


def data_files(root: Path, subjects: list[str] | None = None) -> list[Path]:
    return [_path(root, d) for d in _domains(subjects)]


def notes(root: Path) -> list[str]:
    """A line for each domain scored on the website's sample instead of the leaderboard's set."""
    out = []
    for domain in DOMAINS:
        if not _full_path(root, domain).is_file():
            sample = _sample_path(root, domain)
            out.append(
                f"musr {domain}: scored on the MuSR website's sample ({sample}), not the"
                f" leaderboard's {FULL[domain]} questions; not comparable to its scores"
            )
    return out


class MuSRTask(Task):
    name = NAME
    headline = "acc_norm"
    split = "test"
    load = staticmethod(load_musr)
    options_carry_meaning = False  # suspects, places, people's assignments
    # stories of ~300 to ~1,200 tokens, some shared by several questions
    plan_cost = (756, 740)
    options = ("subjects",)
    per_subject = True
    leaderboard_v2 = LeaderboardScore(
        ("acc_norm",), chance={d: 1 / n for d, n in CHANCE_CHOICES.items()}
    )


TASK = MuSRTask()
