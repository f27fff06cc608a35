"""Answer evidence robust to wording, on real benchmark items: numbers (GSM8K), letters among
options a row lists in its own order, fuzzy words, number words."""

from decimal import Decimal

import pytest

from platypus.data.decontaminate.answers import (
    answer_evidence,
    final_numbers,
    listed_options,
    number_value,
    other_answer,
    spell_digits,
)
from platypus.data.record import Record
from platypus.tasks import load_task


@pytest.fixture(scope="module")
def item(shared_data):
    cache: dict[str, dict] = {}

    def get(task: str, item_id: str, **options):
        key = f"{task} {sorted(options.items())}"
        if key not in cache:
            cache[key] = {i.id: i for i in load_task(task, shared_data, **options)}
        return cache[key][item_id]

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


def test_the_gold_as_the_premise(item):
    """A row that takes the gold option as given ("Explain why X ...") leaks it; one that lists
    the options, or names another, does not."""
    worm = item("arc_challenge", "arc_challenge/Mercury_SC_400052")  # gold "tube-like body"
    premise = row("Earthworms have a tube-like body. Explain how that shape helps them.", "...")
    assert answer_evidence(worm, premise) == "premise"
    assert answer_evidence(worm, premise, ["text", "number", "letter", "fuzzy"]) == ""
    listing = (
        worm.question + " " + " ".join(f"({'abcd'[i]}) {c}" for i, c in enumerate(worm.choices))
    )
    assert answer_evidence(worm, row(listing, "I am not sure.")) == ""
    other = worm.choices[(worm.gold + 1) % len(worm.choices)]
    assert answer_evidence(worm, row(f"Earthworms have {other}. Why?", "...")) == ""


def test_another_answer(item):
    """Evidence that a row answers otherwise: another option by letter or words, another final
    number; never when the gold is given too."""
    tqa = item("truthfulqa_mc", "truthfulqa_mc/0")  # gold: Nauru
    monaco = next(i for i, c in enumerate(tqa.choices) if "Monaco" in c)
    assert other_answer(tqa, row(tqa.question, tqa.choices[monaco])) == "option"
    assert other_answer(tqa, row(tqa.question, "Monaco.")) == "option"
    assert other_answer(tqa, row(tqa.question, tqa.gold_text)) == ""
    assert other_answer(tqa, row(tqa.question, "A small island republic.")) == ""
    listed = tqa.question + " (a) " + tqa.gold_text + " (b) " + tqa.choices[monaco]
    assert other_answer(tqa, row(listed, "(b)")) == "option"
    assert other_answer(tqa, row(listed, "(a)")) == ""
    speed = item("arc_challenge", "arc_challenge/Mercury_415083")  # 100 m in 20 s: 5 m/s
    assert speed.gold_text.startswith("5")
    assert other_answer(speed, row(speed.question, "100 m / 25 s = 4 m/s")) in ("number", "option")
    assert other_answer(speed, row(speed.question, "100 m / 20 s = 5 m/s")) == ""


def test_an_ending_of_its_own(item):
    """HellaSwag's options continue its context: a row continuing it otherwise answers
    otherwise; a letter or the gold ending does not."""
    bath = item("hellaswag", "hellaswag/5410")
    own = row(bath.question, "Run the tap until the water is warm, then crumble the bar in it.")
    assert other_answer(bath, own, continuation=True) == "ending"
    assert other_answer(bath, own) == ""  # not a continuation task: no such reading
    assert other_answer(bath, row(bath.question, bath.gold_text), continuation=True) == ""
    assert other_answer(bath, row(bath.question, "(a)"), continuation=True) == ""


def test_a_worked_solution_passes_through_other_answers(item):
    """A solution names what it rules out ("north", a tempting 18) before its answer: neither is
    another answer; a short answer naming two options gives the first."""
    skater = item("mmlu", "mmlu/high_school_mathematics/242", subjects=["high_school_mathematics"])
    assert skater.gold_text == "east"
    solution = ("Each full circle is 360 degrees, and 2250 = 6 x 360 + 90, so she turns 90 "
                "degrees to her right past north and ends up facing east.")  # fmt: skip
    assert answer_evidence(skater, row(skater.question, solution)) == "text"
    assert other_answer(skater, row(skater.question, solution)) == ""
    assert other_answer(skater, row(skater.question, "North, not east.")) == "option"
    assert answer_evidence(skater, row(skater.question, "East, not north.")) == "text"
    hexagon = item("mmlu", "mmlu/high_school_mathematics/156", subjects=["high_school_mathematics"])
    assert hexagon.gold_text == "9"
    tempted = "One is tempted to say the answer is 6 x 3 = 18, but that counts each twice: 9."
    assert other_answer(hexagon, row(hexagon.question, tempted)) == ""
    assert other_answer(hexagon, row(hexagon.question, "6 x 3 = 18 diagonals.")) in (
        "option",
        "number",
    )
