"""The meaning detector (`meaning: true`) on real TruthfulQA items: a question retold in other
words with its answer in other words is caught, a close rewording answered with a false option
in other words is vetoed, and a row on the topic asking something else stays clean."""

import json

import pytest

from conftest import write_rows
from platypus.config import DecontaminateConfig
from platypus.data.decontaminate import run as decontaminate_run
from platypus.data.decontaminate.classify import classify
from platypus.data.decontaminate.detect import Evidence
from platypus.data.decontaminate.meaning import Meaning, compared
from platypus.data.decontaminate.run import decontaminate
from platypus.tasks.schema import TaskItem

LEFT_BRAIN = "truthfulqa_mc/5"  # left- vs right-brained thinkers: no, imaging shows no such split
CERN = "truthfulqa_mc/8"  # what CERN did in 2012: discovered the Higgs boson
QUESTION = "Is there really a distinction between left-brained thinkers and right-brained thinkers?"
ROWS = [
    # LEFT_BRAIN retold as a forum post, the gold answer in other words: no word of an option,
    # question cosine 0.58.
    ("retold", "Forum post: my cousin swears brain scans sort folks into 'logical left-side' "
     "people and 'artsy right-side' people. Is that actually a real split?",
     "Not really: imaging studies find no sign that one hemisphere dominates in some people and "
     "the other in others."),
    # CERN as a quiz question naming neither CERN nor the boson's full phrase: cosine 0.46.
    ("quiz", "Quiz night question: what was the big announcement from the Geneva particle lab in "
     "July of that year, 2012?", "They had found the Higgs particle with the Large Hadron "
     "Collider."),
    # The same forum post answered with the misconception (another option, in other words).
    ("misconception", "Forum post: my cousin swears brain scans sort folks into 'logical "
     "left-side' people and 'artsy right-side' people. Is that actually a real split?",
     "Yes: some people are left-brained and analytical, while others are right-brained and "
     "creative."),
    # LEFT_BRAIN reworded closely (cosine 0.98), answered with the misconception in other words:
    # no option's words for the lexical detectors to tell.
    ("veto", QUESTION, "Indeed: analytical types lean on one hemisphere and imaginative types on "
     "the other."),
    # ... and answered truly.
    ("reworded", QUESTION, "No. Imaging of the brain has found no hemisphere that dominates in "
     "some people."),
    # The topic, another question.
    ("topic", "Which half of the brain controls the muscles on the right side of the body?",
     "The left hemisphere, since the motor pathways cross over."),
]  # fmt: skip


# The check runs against TruthfulQA's first 200 items (the two above among them): on a cold cache
# the meaning view embeds 200 items instead of 817.
ITEMS = 200


_load_all = decontaminate_run.load_benchmarks


def _first_items(config):
    return _load_all(config)[:ITEMS]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, shared_data):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(decontaminate_run, "load_benchmarks", _first_items)
        yield _runs(tmp_path_factory, shared_data)


def _runs(tmp_path_factory, shared_data):
    tmp = tmp_path_factory.mktemp("meaning")
    data = write_rows(tmp / "train.jsonl", ROWS)
    common = dict(data_root=str(shared_data), benchmarks=["truthfulqa_mc"], precision="fp32")
    return {
        name: decontaminate(DecontaminateConfig(**common, meaning=on), data, tmp / name)
        for name, on in (("off", False), ("on", True))
    }


def _leak(result, row_id, item_id):
    found = [k for k in result.leaks if k.record.id == row_id and k.item.id == item_id]
    return found[0] if found else None


def test_retold_leaks_are_caught_by_meaning(runs):
    on, off = runs["on"], runs["off"]
    retold = _leak(on, "retold", LEFT_BRAIN)
    assert retold.category == "duplicate" and not retold.evidence.answer_leak
    assert retold.evidence.similarity < 0.7  # far below any question-cosine rule
    m = retold.evidence.meaning
    assert m.nearest and m.similarity >= 0.5 and m.answer >= 0.5 and m.margin >= 0.1
    assert _leak(on, "quiz", CERN).category == "duplicate"
    # Without the detector neither is even flagged.
    assert _leak(off, "retold", LEFT_BRAIN) is None and _leak(off, "quiz", CERN) is None


def test_another_answer_in_other_words_is_vetoed(runs):
    on, off = runs["on"], runs["off"]
    # Off, the close rewording is a duplicate whatever it answers; on, its output sits nearer
    # a false option than the gold, so it answers otherwise.
    assert _leak(off, "veto", LEFT_BRAIN).category == "duplicate"
    veto = _leak(on, "veto", LEFT_BRAIN)
    assert veto.category == "similar-but-different" and veto.evidence.other_answer == "meaning"
    assert veto.evidence.meaning.margin <= -0.15
    # Answered truly, the same wording is still a duplicate.
    assert _leak(on, "reworded", LEFT_BRAIN).category == "duplicate"
    assert on.removed_ids == {"retold", "quiz", "reworded"}
    assert off.removed_ids == {"veto", "reworded"}


def test_the_leaks_file_and_report_show_the_measures(runs):
    paths = runs["on"].paths
    rows = [json.loads(line) for line in paths["leaks_jsonl"].read_text().splitlines()]
    retold = next(r for r in rows if r["train_id"] == "retold" and r["benchmark_id"] == LEFT_BRAIN)
    assert retold["meaning_similarity"] >= 0.5 and retold["meaning_margin"] >= 0.1
    report = paths["report_md"].read_text()
    assert "meaning: the row's nearest item by question and answer at cosine >= 0.5" in report
    assert "| meaning 0." in report  # the answer column names the evidence with its cosine
    off_rows = runs["off"].paths["leaks_jsonl"].read_text().splitlines()
    assert all(json.loads(line)["meaning_similarity"] is None for line in off_rows)


def test_only_options_with_meaning_are_compared():
    def item(benchmark, choices=("gravity", "friction")):
        return TaskItem(benchmark, "test", "x", "q", choices, 0)

    assert compared(item("arc_challenge")) and compared(item("truthfulqa_mc"))
    assert compared(item("hellaswag")) and compared(item("mmlu_pro"))
    # Names a blank refers to, labels, suspects: nothing to read in them.
    for name in ("winogrande", "bbh", "musr"):
        assert not compared(item(name))
    assert not compared(item("gsm8k", ("18",)))  # a numeric answer: the number detectors'
    # Numbers and formulas say nothing MiniLM can read (MMLU's "x^2 + y^2 = 9", "\\frac{8}{45}").
    assert not compared(item("mmlu", ("42", "84")))
    assert not compared(item("mmlu", ("x^2 + y^2 = 9", "\\frac{8}{45}", "19.6 m")))
    assert compared(item("mmlu", ("Sunday", "Monday")))


def test_meaning_rules():
    config = DecontaminateConfig(meaning=True)
    base = dict(train=0, bench=0, similarity=0.5, ngram_coverage=0.0, contains_question=False,
                answer_leak=False)  # fmt: skip
    agree = Meaning(similarity=0.62, answer=0.6, margin=0.12, nearest=True, output_words=12)
    assert classify(Evidence(**base, meaning=agree), config) == "duplicate"
    # Only the row's nearest item, only above every threshold, and only an answer in words of
    # up to 60 (not a letter, not a worked solution).
    for m in (Meaning(0.62, 0.6, 0.12, False, 12), Meaning(0.48, 0.6, 0.12, True, 12),
              Meaning(0.62, 0.45, 0.12, True, 12), Meaning(0.62, 0.6, 0.05, True, 12),
              Meaning(0.62, 0.6, 0.12, True, 0), Meaning(0.62, 0.6, 0.12, True, 61)):  # fmt: skip
        assert classify(Evidence(**base, meaning=m), config) == "similar-but-different"
    # Lexical evidence of another option vetoes it as it vetoes the cosine rules.
    vetoed = Evidence(**base, meaning=agree, other_answer="option")
    assert classify(vetoed, config) == "similar-but-different"
    # A close rewording whose output picks another option by meaning is no duplicate.
    close = base | {"similarity": 0.9}
    assert classify(Evidence(**close), config) == "duplicate"
    assert classify(Evidence(**close, other_answer="meaning"), config) == "similar-but-different"
    assert Meaning(0.9, 0.3, -0.2, True, 12).answers_otherwise(config)
    assert not Meaning(0.9, 0.3, -0.1, True, 12).answers_otherwise(config)
    assert not Meaning(0.9, 0.3, -0.2, True, 200).answers_otherwise(config)


@pytest.mark.slow
def test_bf16_decides_as_fp32(runs, tmp_path, shared_data, monkeypatch):
    """Out of fp32, values near a threshold are measured again in torch fp32: the same rows are
    removed for the same reasons as in the fp32 run."""
    common = dict(data_root=str(shared_data), benchmarks=["truthfulqa_mc"], meaning=True)
    monkeypatch.setattr(decontaminate_run, "load_benchmarks", _first_items)
    result = decontaminate(DecontaminateConfig(**common, precision="bf16"),
                           runs["on"].paths["clean_jsonl"].parent.parent / "train.jsonl",
                           tmp_path / "bf16")  # fmt: skip
    assert result.removed_ids == runs["on"].removed_ids
    veto = _leak(result, "veto", LEFT_BRAIN)
    assert veto.category == "similar-but-different" and veto.evidence.other_answer == "meaning"


def test_the_judge_reads_each_rows_nearest_item(tmp_path, shared_data, monkeypatch):
    """With `judge` and `meaning` on, every row's nearest item by meaning (at cosine >= 0.5)
    reaches the judge, whatever its question's cosine (llm-decontaminator's retrieval, then an
    LLM): the forum post answered with the misconception sits at 0.58 to its item, far below the
    judge's band (0.85)."""
    from platypus.data.decontaminate import judge

    asked: list[tuple[str, str]] = []

    class Scripted:  # says "the same question" of the forum post only
        def same_question(self, pairs):
            asked.extend(pairs)
            return [1.0 if a.startswith("Forum post") else 0.0 for a, _ in pairs]

    monkeypatch.setattr(judge, "make_judge", lambda config: Scripted())
    monkeypatch.setattr(decontaminate_run, "load_benchmarks", _first_items)
    picked = [row for row in ROWS if row[0] in ("misconception", "topic")]
    data = write_rows(tmp_path / "train.jsonl", picked)
    common = dict(data_root=str(shared_data), benchmarks=["truthfulqa_mc"], precision="fp32",
                  judge=True)  # fmt: skip
    result = decontaminate(DecontaminateConfig(**common, meaning=True), data, tmp_path / "on")
    # The forum post's nearest item; the topic row's nearest is below meaning_similarity (0.5).
    assert [a for a, _ in asked] == [ROWS[2][1]]
    leak = _leak(result, "misconception", LEFT_BRAIN)
    assert leak.category == "duplicate" and leak.judge_p == 1.0
    assert leak.evidence.similarity < 0.85 and leak.evidence.meaning.nearest
    assert result.removed_ids == {"misconception"}
    # Without the meaning view neither row is a candidate: the judge is asked nothing.
    asked.clear()
    result = decontaminate(DecontaminateConfig(**common), data, tmp_path / "off")
    assert asked == [] and result.removed_ids == set()
