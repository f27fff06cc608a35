"""MATH Lvl 5 (Open LLM Leaderboard v2, lm-eval 0.4.13's `leaderboard_math_hard`): 4-shot,
generated, scored by exact match of the final answer under math-verify's equivalence check.

Items: the Level 5 problems of the MATH test set, 1,324 in seven subjects (the harness's seven
subtasks: algebra 307, counting_and_probability 123, geometry 132, intermediate_algebra 280,
number_theory 154, prealgebra 193, precalculus 135). Local data: `math/test.jsonl` (one
original MATH problem a line: problem, level, type, solution); online: the dataset the
leaderboard loads, `DigitalLearningGmbH/MATH-lighteval`, one config per subject. Ids are
`math_hard/<subject>/<n>`, n counting a subject's Level 5 problems from 0 in file order (the
harness's doc_id within its subtask where the rows come in the same order).

Prompt (Minerva's): the 4 fixed examples of the harness's `list_fewshot_samples`, each
"Problem:\\n{problem}\\n\\nSolution: {solution}", joined by blank lines and followed by
"Problem:\\n{problem}\\n\\nSolution:". The model continues greedily for at most 1,024 tokens,
cut at "Problem:" or its end-of-sequence token.

Per item, `exact_match` (the leaderboard's number) is math-verify's `verify` of the reference
solution's parsed LaTeX answer against whatever `parse` finds in the completion (its default
LaTeX and plain-expression extraction), as the harness's `process_results`. The harness's
second metric, `exact_match_original` (Minerva's string normalisation and a sympy check), is
not reported by the leaderboard and not computed here. The task's score is the mean over items
(the harness's group weights subjects by size); per subject and their mean are beside it.
"""

from __future__ import annotations

from pathlib import Path

from platypus.errors import DataError, PlatypusError
from platypus.eval.protocols import Generation
from platypus.eval.results import ItemResult
from platypus.io.readers import iter_jsonl
from platypus.tasks.base import (
    LeaderboardScore,
    Task,
    generated,
    harness_rows,
    hub_dataset,
    write_jsonl,
)
from platypus.tasks.schema import TaskItem

NAME = "math_hard"
SHOTS = 4
LEVEL = "Level 5"
FIELDS = ("problem", "level", "type", "solution")  # a MATH row, as the hub schema too
HUB = "DigitalLearningGmbH/MATH-lighteval"
# MATH's `type` -> the subject: the harness's `dataset_name` of that subtask (the hub config),
# also the original MATH folder name. In the harness's task order.
SUBJECTS = {
    "Algebra": "algebra",
    "Counting & Probability": "counting_and_probability",
    "Geometry": "geometry",
    "Intermediate Algebra": "intermediate_algebra",
    "Number Theory": "number_theory",
    "Prealgebra": "prealgebra",
    "Precalculus": "precalculus",
}
# The harness's generation settings (`_template_yaml`): its HF backend adds the model's
# end-of-sequence string to `until`, which `Generator` covers by stopping at the end token.
GENERATION = Generation(
    until=("Problem:",), until_is_eos=False, skip_special=True, max_new_tokens=1024
)

# The harness's fixed few-shot examples (utils.list_fewshot_samples, Minerva's prompt), in order
# and character for character, typos included: the first problem's stray "}" and the "\\\n"
# line breaks of the two align blocks are what the leaderboard's prompts hold.
EXAMPLES = (
    (
        "Find the domain of the expression  $\\frac{\\sqrt{x-2}}{\\sqrt{5-x}}$.}",
        "The expressions inside each square root must be non-negative. Therefore, $x-2 \\ge 0$, "
        "so $x\\ge2$, and $5 - x \\ge 0$, so $x \\le 5$. Also, the denominator cannot be equal "
        "to zero, so $5-x>0$, which gives $x<5$. Therefore, the domain of the expression is "
        "$\\boxed{[2,5)}$.\nFinal Answer: The final answer is $[2,5)$. I hope it is correct.",
    ),
    (
        "If $\\det \\mathbf{A} = 2$ and $\\det \\mathbf{B} = 12,$ then find "
        "$\\det (\\mathbf{A} \\mathbf{B}).$",
        "We have that $\\det (\\mathbf{A} \\mathbf{B}) = (\\det \\mathbf{A})(\\det \\mathbf{B}) "
        "= (2)(12) = \\boxed{24}.$\nFinal Answer: The final answer is $24$. I hope it is "
        "correct.",
    ),
    (
        "Terrell usually lifts two 20-pound weights 12 times. If he uses two 15-pound weights "
        "instead, how many times must Terrell lift them in order to lift the same total weight?",
        "If Terrell lifts two 20-pound weights 12 times, he lifts a total of "
        "$2\\cdot 12\\cdot20=480$ pounds of weight.  If he lifts two 15-pound weights instead "
        "for $n$ times, he will lift a total of $2\\cdot15\\cdot n=30n$ pounds of weight.  "
        "Equating this to 480 pounds, we can solve for $n$:\n\\begin{align*}\n30n&=480\\\n"
        "\\Rightarrow\\qquad n&=480/30=\\boxed{16}\n\\end{align*}\nFinal Answer: The final "
        "answer is $16$. I hope it is correct.",
    ),
    (
        "If the system of equations\n\n\\begin{align*}\n6x-4y&=a,\\\n6y-9x &=b.\n\\end{align*}"
        "has a solution $(x, y)$ where $x$ and $y$ are both nonzero,\nfind $\\frac{a}{b},$ "
        "assuming $b$ is nonzero.",
        "If we multiply the first equation by $-\\frac{3}{2}$, we obtain\n\n"
        "$$6y-9x=-\\frac{3}{2}a.$$Since we also know that $6y-9x=b$, we have\n\n"
        "$$-\\frac{3}{2}a=b\\Rightarrow\\frac{a}{b}=\\boxed{-\\frac{2}{3}}.$$\nFinal Answer: "
        "The final answer is $-\\frac{2}{3}$. I hope it is correct.",
    ),
)


def boxed_answer(solution: str) -> str | None:
    """What the last `\\boxed{...}` of a solution holds (braces matched), as the harness takes a
    reference answer (`remove_boxed(last_boxed_only_string(...))`); None where there is none.
    Its two odd cases are kept: "\\boxed " anywhere means the text after the last "\\boxed "
    up to a "$", and a last box that is not "\\boxed{" (an "\\fbox", "\\boxed\\frac") is none."""
    if "\\boxed " in solution:
        return solution.split("\\boxed ")[-1].split("$")[0]
    start = solution.rfind("\\boxed")
    if start < 0:
        return None
    depth = 0
    for end in range(start, len(solution)):
        if solution[end] == "{":
            depth += 1
        elif solution[end] == "}":
            depth -= 1
            if depth == 0:
                box = solution[start : end + 1]
                return box[len("\\boxed{") : -1] if box.startswith("\\boxed{") else None
    return None


def _path(root: Path) -> Path:
    return Path(root) / "math" / "test.jsonl"


def _check_subjects(subjects: list[str] | None) -> None:
    if subjects is None:
        return
    if not subjects:
        raise PlatypusError(f"{NAME}: the subject list is empty; leave it unset for all subjects")
    unknown = sorted(set(subjects) - set(SUBJECTS.values()))
    if unknown:
        raise PlatypusError(
            f"{NAME}: unknown subjects {unknown}; known: {', '.join(SUBJECTS.values())}"
        )


def _item(subject: str, n: int, problem: str, solution: str, answer: str) -> TaskItem:
    item_id = f"{NAME}/{subject}/{n}"
    return TaskItem(NAME, "test", item_id, problem, (answer,), 0, subject, target=solution)


def load_math_hard(
    root: Path, split: str = "test", subjects: list[str] | None = None
) -> list[TaskItem]:
    """The Level 5 test problems (of `subjects`, default all), by subject in the harness's task
    order, each subject in file order. Every row is checked, whatever its level."""
    if split != "test":
        raise PlatypusError(f"{NAME}: only the test split is scored (got {split!r})")
    _check_subjects(subjects)
    path = _path(root)
    by_subject: dict[str, list[TaskItem]] = {s: [] for s in SUBJECTS.values()}
    for lineno, row in iter_jsonl(path):
        if not isinstance(row, dict):
            raise DataError(path, f"not a MATH row (an object of {', '.join(FIELDS)})", lineno)
        wrong = next((k for k in FIELDS if not isinstance(row.get(k), str)), None)
        if wrong is not None:
            what = "missing" if wrong not in row else "not a string"
            raise DataError(path, f"not a MATH row: {wrong!r} is {what}", row=lineno)
        problem, level, kind, solution = (row[k] for k in FIELDS)
        if level != LEVEL:
            continue
        if kind not in SUBJECTS:
            raise DataError(path, f"unknown MATH type {kind!r}", row=lineno)
        answer = boxed_answer(solution)
        if answer is None:
            raise DataError(path, "the solution has no \\boxed{...} answer", row=lineno)
        group = by_subject[SUBJECTS[kind]]
        group.append(_item(SUBJECTS[kind], len(group), problem, solution, answer))
    wanted = [s for s in SUBJECTS.values() if subjects is None or s in subjects]
    return [item for s in wanted for item in by_subject[s]]


def load_hub(subjects: list[str] | None = None, **_: object) -> list[TaskItem]:
    """The leaderboard's dataset, one config per subject, filtered to Level 5 as the harness's
    `process_docs` does (a reference answer without a box is its "[invalidanswer]")."""
    _check_subjects(subjects)
    out = []
    for subject in SUBJECTS.values():
        if subjects is not None and subject not in subjects:
            continue
        rows = [r for r in hub_dataset(HUB, subject, split="test") if r["level"] == LEVEL]
        for n, r in enumerate(rows):
            answer = boxed_answer(r["solution"])
            out.append(_item(subject, n, r["problem"], r["solution"], answer or "[invalidanswer]"))
    return out


def _examples() -> list[TaskItem]:
    return [
        TaskItem(NAME, "fewshot", f"{NAME}/fewshot/{n}", p, (boxed_answer(s) or "",), 0, target=s)
        for n, (p, s) in enumerate(EXAMPLES)
    ]


def _math_verify():
    """math-verify's module, or a one-line error saying how to install it."""
    try:
        import math_verify
    except ImportError:
        raise PlatypusError(
            f"{NAME}: scoring needs math-verify: pip install 'math-verify[antlr4_11_0]'"
        ) from None
    return math_verify


def fewshot(items: list[TaskItem], root: Path) -> tuple[list[TaskItem], list[TaskItem]]:
    """The items as they are; the pool is the 4 fixed examples (no data file). The scorer's
    package is checked here, before a model is loaded."""
    _math_verify()
    return items, _examples()


def with_shots(pool: list[TaskItem], n: int) -> list[TaskItem]:
    """The first `n` fixed examples (the harness's `first_n` sampler over them)."""
    if n > len(pool):
        raise PlatypusError(f"{NAME}: num_fewshot {n} is more than its {len(pool)} examples")
    return pool[:n]


def query(problem: str) -> str:
    return f"Problem:\n{problem}\n\nSolution:"


def context(item: TaskItem, examples: list[TaskItem]) -> str:
    """The harness's prompt: examples with their full solutions after the target delimiter " ",
    blank lines between, then the problem."""
    shots = [f"{query(e.question)} {e.target}" for e in examples]
    return "\n\n".join([*shots, query(item.question)])


def metrics(completion: str, item: TaskItem) -> dict[str, float]:
    """math-verify's verdict on the completion against the reference solution, as the harness's
    `process_results`: the reference is parsed as LaTeX only (its boxed answer wins), the
    completion with parse's defaults (LaTeX, then plain expressions). Its checks run under
    their own SIGALRM timeouts of 5 s (main thread only), as in the harness."""
    mv = _math_verify()
    gold = mv.parse(item.target, extraction_config=[mv.LatexExtractionConfig()])
    return {"exact_match": float(mv.verify(gold, mv.parse(completion)))}


def score(
    scorer, items: list[TaskItem], examples: list[TaskItem], protocol=None
) -> list[ItemResult]:
    """Generated in batches of the scorer's batch size (the same rules under every protocol:
    the task exists in lm-eval 0.4 only); the completion is kept per item."""
    return generated(scorer, items, lambda item: context(item, examples), GENERATION,
                     lambda item, text: metrics(text, item), NAME)  # fmt: skip


def harness_template() -> Path:
    """The harness's own task template for the leaderboard's MATH subtasks (lm-eval 0.4)."""
    try:
        import lm_eval
    except ImportError:
        raise PlatypusError(
            f"{NAME}: exporting to lm-eval needs lm-evaluation-harness: pip install 'lm-eval>=0.4'"
        ) from None
    path = Path(lm_eval.__file__).parent / "tasks" / "leaderboard" / "math" / "_template_yaml"
    if not path.is_file():
        raise PlatypusError(f"{NAME}: this lm-eval has no leaderboard MATH template ({path})")
    return path


# The harness's own template (prompt, few-shot examples, generation, process_results) with our
# rows in its hub schema in place of the hub dataset: the task is the leaderboard's, item for item.
YAML = """include: {template}
task: pl_math_hard_{subject}
dataset_path: json
dataset_name: null
dataset_kwargs:
  data_files: {{test: {test}}}
training_split: null
num_fewshot: {shots}
"""


def _row(item: TaskItem) -> dict:
    kind = next(k for k, s in SUBJECTS.items() if s == item.subject)
    return {"problem": item.question, "level": LEVEL, "type": kind, "solution": item.target}


def export(root: Path, items: list[TaskItem], examples: list[TaskItem]) -> list[str]:
    """One harness task per subject. The examples are the template's own: `examples` only gives
    their number."""
    template = harness_template()
    names = []
    for subject in SUBJECTS.values():
        rows = [i for i in items if i.subject == subject]
        if not rows:
            continue
        test = write_jsonl(root / f"math_hard_{subject}_test.jsonl", map(_row, rows))
        yaml = YAML.format(template=template, subject=subject, test=test, shots=len(examples))
        (root / f"math_hard_{subject}.yaml").write_text(yaml)
        names.append(f"pl_math_hard_{subject}")
    return names


def from_harness(items: list[TaskItem], samples: dict[str, list[dict]]) -> list[ItemResult]:
    """lm-eval's completions (one harness task per subject, see `export`), scored by our
    metrics (the same definition as its `process_results`)."""
    by_subject = {name: iter(rows) for name, rows in samples.items()}
    rows = [next(by_subject[f"pl_math_hard_{item.subject}"]) for item in items]
    out = []
    for item, row in zip(items, harness_rows({NAME: rows}, items), strict=True):
        completion = row["resps"][0][0]
        out.append(ItemResult(item.id, [], metrics(completion, item), text=completion))
    return out


def data_files(root: Path, subjects: list[str] | None = None) -> list[Path]:
    return [_path(root)]


class MathHardTask(Task):
    name = NAME
    headline = "exact_match"
    split = "test"
    load = staticmethod(load_math_hard)
    # 4 worked solutions + the problem (~790), ~360 generated
    plan_cost = (1_324, 1_150)
    options = ("subjects",)
    per_subject = True
    own_shots = SHOTS
    # a generated answer has no chance level: the v2 score is exact_match itself
    leaderboard_v2 = LeaderboardScore(("exact_match",))


TASK = MathHardTask()
