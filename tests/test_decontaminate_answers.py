"""Answer evidence robust to wording, on real benchmark items: numbers (GSM8K), letters among
options a row lists in its own order, fuzzy words, number words."""

from decimal import Decimal

import pytest

from platypus.data.decontaminate.answers import (
    answer_evidence,
    final_numbers,
    listed_options,
    number_value,
    spell_digits,
)
from platypus.data.record import Record
from platypus.tasks import load_task


@pytest.fixture(scope="module")
def item(shared_data):
    cache: dict[str, dict] = {}

    def get(task: str, item_id: str, **options):
        if task not in cache:
            cache[task] = {i.id: i for i in load_task(task, shared_data, **options)}
        return cache[task][item_id]

    return get


def row(instruction: str, output: str, input: str = "") -> Record:
    return Record("r", instruction, input, output, "x")


def test_numbers_normalised():
    assert number_value("1,000") == number_value("1000") == number_value("$1000.0")
    assert number_value("18.0") == Decimal(18) and number_value("18.5") == Decimal("18.5")
    assert number_value("eighteen") is None
    assert spell_digits("fourteen lollipops, twenty-five cents, she came sixth") == (
        "14 lollipops, 25 cents, she came 6"
    )
    # The final answer only: after ####, in \boxed{}, after "answer is", or the last number.
    assert final_numbers("9 eggs, 9 * 2 = 18\n#### 18") == {Decimal(18)}
    assert Decimal(18) not in final_numbers("She has 18 eggs and sells 9 of them for $2 each.")
    assert final_numbers("so the answer is 1,430, checked twice: 1430 / 2 = 715") >= {Decimal(1430)}


def test_gsm8k_final_answer(item):
    janet = item("gsm8k", "gsm8k/test/0")  # gold "18"
    assert janet.gold_text == "18"
    q = janet.question
    assert answer_evidence(janet, row(q, "She sells 9 eggs, so she makes $18 a day.")) == "number"
    assert answer_evidence(janet, row(q, "16 - 3 - 4 = 9 eggs, 9 x 2 = 18.0 dollars")) == "number"
    assert answer_evidence(janet, row(q, "Eighteen dollars.")) == "number"
    # 18 as an intermediate step is no leak; neither is another final answer.
    assert answer_evidence(janet, row(q, "18 eggs minus 4 leaves 14 to sell at $2: $28.")) == ""
    big = item("gsm8k", "gsm8k/test/2")  # gold "70000"
    assert answer_evidence(big, row(big.question, "So he made a profit of $70,000.")) == "number"


def test_letter_among_reordered_options(item):
    # MMLU options that nest ("ovale" / "ovale and rotundum" / ...): the letter the output picks
    # is mapped through the row's own list, whatever its order.
    sphenoid = item("mmlu", "mmlu/anatomy/111", subjects=["anatomy"])
    gold = sphenoid.gold_text
    others = [c for i, c in enumerate(sphenoid.choices) if i != sphenoid.gold]
    listed = [others[0], gold, others[1], others[2]]  # the gold one second: "(b)"
    text = sphenoid.question + " " + " ".join(f"({'abcd'[i]}) {c}" for i, c in enumerate(listed))
    assert listed_options(text)[1] == gold
    assert answer_evidence(sphenoid, row(text, "(b)")) == "letter"
    assert answer_evidence(sphenoid, row(text, "The answer is B.")) == "letter"
    assert answer_evidence(sphenoid, row(text, "(a)")) == ""  # another option
    assert answer_evidence(sphenoid, row(sphenoid.question, "(b)")) == ""  # no options listed
    numbered = sphenoid.question + "\n" + "\n".join(f"{i + 1}) {c}" for i, c in enumerate(listed))
    assert answer_evidence(sphenoid, row(numbered, "2)")) == "letter"


def test_fuzzy_words_and_text(item):
    worm = item("arc_challenge", "arc_challenge/Mercury_SC_400052")  # gold "tube-like body"
    q = worm.question
    assert answer_evidence(worm, row(q, "A tube-like body.")) == "text"
    assert answer_evidence(worm, row(q, "Its body is shaped like a tube.")) == "fuzzy"
    assert answer_evidence(worm, row(q, "Its moist skin.")) == ""
    # Winogrande: the gold name in the output, not the other one.
    wino = item("winogrande", "winogrande/3FCO4VKOZ4BJQ6IFC0VAIBK4KTWE7U-2")  # gold "Maria"
    assert answer_evidence(wino, row(wino.question, "Maria got the easier cases.")) == "text"
    assert answer_evidence(wino, row(wino.question, "Sarah.")) == ""
    # A detector left out is not asked.
    assert answer_evidence(worm, row(q, "A tube-like body."), ["number", "letter"]) == ""
