"""Does a training output give away a benchmark item's answer, however it is worded?

Each detector in `DETECTORS` looks for one kind of evidence and the first that finds it names
it: the gold option's words as a phrase, a numeric final answer, the letter of the gold option
among the options the training row lists itself (in its own order), most of the gold option's
content words (and more of them than of any other option's), or the gold option's words as the
instruction's premise ("Explain why X ...").

The converse question: `other_answer` finds a row that answers otherwise, with another of the
item's options or another final number; such a row is not the item however close its wording.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation

from platypus.data.decontaminate.ngrams import words
from platypus.data.record import Record
from platypus.tasks.schema import TaskItem

_SHORT = 3  # gold answers of fewer characters ("4", "no") must be the output's final answer


def normalise(text: str) -> str:
    return " ".join(words(text))


def phrase_at(answer: str, output: str) -> int | None:
    """Where the answer's words first appear as a phrase in the (normalised) output, or None; a
    very short answer counts only as the output's last word(s), where final answers sit (a
    stray "4" in a worked solution is no leak)."""
    g, o = normalise(answer), normalise(output)
    if not g or not o:
        return None
    if len(g) < _SHORT:
        return 0 if o == g else (len(o) - len(g) if o.endswith(" " + g) else None)
    m = re.search(rf"(?:^| ){re.escape(g)}(?: |$)", o)
    return m.start() if m else None


def answer_in_output(gold: str, output: str) -> bool:
    """True when the gold answer's words appear as a phrase in the output (`phrase_at`)."""
    return phrase_at(gold, output) is not None


def named_options(item: TaskItem, text: str) -> list[int]:
    """The options whose words the text names as a phrase, in the order it first names them
    (at one place, the longer option first: options nest)."""
    at = ((phrase_at(c, text), -len(c), i) for i, c in enumerate(item.choices))
    return [i for _, _, i in sorted(a for a in at if a[0] is not None)]


def first_named(item: TaskItem, text: str) -> int | None:
    """The option whose words the text names first as a phrase: the answer a row gives when it
    names several ("The pyramids: ... while the moon landing came later")."""
    named = named_options(item, text)
    return named[0] if named else None


# --- numbers -------------------------------------------------------------------------------

_NUMBER = r"-?\$?\s?\d[\d,]*(?:\.\d+)?"
# Where a worked solution states its result: GSM8K's "#### 18", MATH's \boxed{18}, "the answer
# is 18", "Answer: 18". A bare number elsewhere in a solution is an intermediate step.
_FINAL = [
    re.compile(rf"####\s*({_NUMBER})"),
    re.compile(rf"\\boxed\{{\s*({_NUMBER})\s*\}}"),
    re.compile(rf"answer\s*(?:is|:|=)\s*(?:about\s+|approximately\s+)?({_NUMBER})", re.I),
]
_ANY_NUMBER = re.compile(_NUMBER)
# After the last number only a unit or a short phrase may follow ("$18 a day.", "18 eggs").
_TAIL_WORDS = 4


def number_value(text: str) -> Decimal | None:
    """ "1,000", "$1000", "1000.0" -> Decimal("1000"); None when the text is not one number."""
    text = text.strip().replace("$", "").replace(",", "").replace(" ", "")
    if text.startswith("\\$"):
        text = text[2:]
    try:
        return Decimal(text).normalize()
    except InvalidOperation:
        return None


_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_ORDINALS = (
    "zeroth first second third fourth fifth sixth seventh eighth ninth tenth eleventh "
    "twelfth thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth "
    "nineteenth"
).split()
_WORD_VALUE = (
    {w: i for i, w in enumerate(_UNITS)}
    | {w: i for i, w in enumerate(_ORDINALS) if i}
    | {w: 20 + 10 * i for i, w in enumerate(_TENS)}
    | {w[:-1] + "ieth": 20 + 10 * i for i, w in enumerate(_TENS)}
)
_NUMBER_WORDS = re.compile(
    rf"\b({'|'.join(_TENS)})[- ]({'|'.join(_UNITS[1:10])})\b|\b({'|'.join(_WORD_VALUE)})\b", re.I
)


def _digits(match: re.Match) -> str:
    if match.group(1):
        return str(_WORD_VALUE[match.group(1).lower()] + _WORD_VALUE[match.group(2).lower()])
    return str(_WORD_VALUE[match.group(3).lower()])


def spell_digits(text: str) -> str:
    """Number words as digits: "fourteen" -> "14", "twenty-five" -> "25", "sixth" -> "6"."""
    return _NUMBER_WORDS.sub(_digits, text)


def final_numbers(output: str) -> set[Decimal]:
    """The numbers an output gives as its final answer: after "####", in \\boxed{}, after
    "answer is", or the output's last number when at most a few words follow it (number words
    count: "Seven altogether.")."""
    output = spell_digits(output)
    found = {m.group(1) for pattern in _FINAL for m in pattern.finditer(output)}
    last = list(_ANY_NUMBER.finditer(output))
    if last and len(words(output[last[-1].end() :])) <= _TAIL_WORDS:
        found.add(last[-1].group(0))
    return {v for v in (number_value(n) for n in found) if v is not None}


def numbers_in(text: str) -> set[Decimal]:
    return {
        v for v in (number_value(m.group(0)) for m in _ANY_NUMBER.finditer(text)) if v is not None
    }


def stated_numbers(text: str) -> set[Decimal]:
    """The numbers a text states, in digits or in words ("three" is 3)."""
    return numbers_in(spell_digits(text))


def numbers_agree(question: str, text: str, answer: str = "") -> bool:
    """Every number the benchmark question states is also in the training text (spelled out
    in either or not). A question with its numbers changed is a different problem with another
    answer, however close its wording: "ran 100 m in 25 s" is not "ran 100 m in 20 s", and
    "three resistors" is not "four resistors". A numeric `answer` counts as one of the
    problem's numbers: the text may give it and ask for one of the question's (the inverse
    problem: "she makes $18 a day; how many eggs do her ducks lay?")."""
    found = stated_numbers(text)
    missing = stated_numbers(question) - found
    if not missing:
        return True
    gold = number_value(answer) if answer else None
    return len(missing) == 1 and gold is not None and gold in found


def number_leak(item: TaskItem, row: Record) -> bool:
    gold = number_value(item.gold_text)
    return gold is not None and gold in final_numbers(row.output)


# --- the gold option's text ----------------------------------------------------------------


SHORT_ANSWER_WORDS = 12  # an output this short is an answer, not a worked explanation


def text_leak(item: TaskItem, row: Record) -> bool:
    """The gold option's words as a phrase in the output; in a short answer naming several
    options, named first."""
    if number_value(item.gold_text) is not None:
        return False  # numbers have their own rule: a phrase match would count any "4"
    if len(words(row.output)) <= SHORT_ANSWER_WORDS:
        return first_named(item, row.output) == item.gold
    return answer_in_output(item.gold_text, row.output)


# --- letters --------------------------------------------------------------------------------

# Options a row lists itself: "(a) x (b) y", "A. x B. y", "A) x", "a: x", "(1) x", "2) y", on one
# line or many. Labels are read as positions: a/A/1 is the first option.
_OPTION = re.compile(r"(?:^|\s|\()\(?([A-Ha-h1-8])(?:\)|\.|:)\s+")
# The label an output picks: alone, "(B)", "B.", "B) ...", "answer is B", "Answer: (b)".
_PICK = [
    re.compile(r"^\s*\(?([A-Ha-h1-8])(?:\)|\.|:|,|$)"),
    re.compile(r"answer\s*(?:is|:)\s*(?:option\s*)?\(?([A-Ha-h1-8])\b\)?", re.I),
    re.compile(r"\boption\s*\(?([A-Ha-h1-8])\)?\s*(?:is|$)", re.I),
]


def _position(label: str) -> int:
    return int(label) - 1 if label.isdigit() else ord(label.lower()) - ord("a")


def listed_options(text: str) -> dict[int, str]:
    """{position: option text} of a run of options labelled a, b, c... (or A.., or 1..), else
    {}."""
    marks = list(_OPTION.finditer(text))
    # The longest run a, b, c, ... of one labelling; stray "I." or "e.g." break no run.
    best: list[re.Match] = []
    for start, m in enumerate(marks):
        if m.group(1) not in "aA1":
            continue
        run = [m]
        for nxt in marks[start + 1 :]:
            expected = chr(ord(run[-1].group(1)) + 1)
            if nxt.group(1) == expected:
                run.append(nxt)
        if len(run) > len(best):
            best = run
    if len(best) < 2:
        return {}
    ends = [m.start() for m in best[1:]] + [len(text)]
    return {
        _position(m.group(1)): text[m.end() : end].strip(" ;,\n")
        for m, end in zip(best, ends, strict=True)
    }


def picked_position(output: str) -> int | None:
    for pattern in _PICK:
        m = pattern.search(output)
        if m:
            return _position(m.group(1))
    return None


def letter_leak(item: TaskItem, row: Record) -> bool:
    """The output picks a letter, and among the options the row lists that letter's text is
    the gold option's (in whatever order the row lists them)."""
    if len(item.choices) < 2:
        return False
    options = listed_options(f"{row.instruction}\n{row.input}")
    picked = picked_position(row.output)
    if not options or picked not in options:
        return False
    return closest_choice(item, options[picked]) == item.gold


# --- fuzzy words ----------------------------------------------------------------------------

_STOP = frozenset(
    "a an the of to in on at by for and or but is are was were be been it its this that these "
    "those with as from into than then so such not no yes".split()
)
FUZZY_RECALL = 0.75  # share of the gold option's content words the output must hold
FUZZY_MARGIN = 0.25  # and that much more than of any other option's


def content_words(text: str) -> set[str]:
    return {w for w in words(text) if w not in _STOP}


def recall(choice: str, text_words: set[str]) -> float:
    cw = content_words(choice)
    return len(cw & text_words) / len(cw) if cw else 0.0


def best_choice(item: TaskItem, text: str) -> int | None:
    """The option whose content words `text` holds most of (>= FUZZY_RECALL), ahead of every
    other option by FUZZY_MARGIN; None when no option stands out."""
    tw = content_words(text)
    scores = [recall(c, tw) for c in item.choices]
    top = max(range(len(scores)), key=scores.__getitem__)
    others = [s for i, s in enumerate(scores) if i != top]
    if scores[top] < FUZZY_RECALL or (others and scores[top] - max(others) < FUZZY_MARGIN):
        return None
    return top


CLOSE = 0.75  # share of a listed option's content words an item option must hold


def closest_choice(item: TaskItem, text: str) -> int | None:
    """The item's option a listed option is: the one holding most of its content words (>=
    CLOSE; a row may shorten "Nauru is the smallest country ..." to "Nauru"), ties broken by
    the fewest words besides (options nest: "teeth" / "teeth and gums"); None if still tied."""
    tw = content_words(text)
    if not tw:
        return None
    scores = []
    for c in item.choices:
        cw = content_words(c)
        scores.append((len(cw & tw) / len(tw), len(cw & tw) / len(cw | tw) if cw else 0.0))
    order = sorted(range(len(scores)), key=scores.__getitem__, reverse=True)
    top = order[0]
    if scores[top][0] < CLOSE or (len(order) > 1 and scores[order[1]] == scores[top]):
        return None
    return top


def fuzzy_leak(item: TaskItem, row: Record) -> bool:
    if len(item.choices) < 2:
        return False
    return best_choice(item, row.output) == item.gold


def premise_leak(item: TaskItem, row: Record) -> bool:
    """The row takes the gold option as given ("Explain why the trench is where ..."): the gold
    option's words are a phrase of the instruction, no other option's are (a row listing the
    options gives nothing away by naming them), and the gold is not a word or two that any text
    may hold."""
    if len(item.choices) < 2 or len(content_words(item.gold_text)) < 2:
        return False
    prompt = f"{row.instruction} {row.input}"
    return named_options(item, prompt) == [item.gold]


# Tried in order; the first that finds evidence names it.
DETECTORS: dict[str, Callable[[TaskItem, Record], bool]] = {
    "text": text_leak,
    "number": number_leak,
    "letter": letter_leak,
    "fuzzy": fuzzy_leak,
    "premise": premise_leak,
}


def answer_evidence(
    item: TaskItem, row: Record, detectors: Sequence[str] = tuple(DETECTORS)
) -> str:
    """The name of the first of `detectors` that finds the item's answer in the row, or ""."""
    for name in detectors:
        if DETECTORS[name](item, row):
            return name
    return ""


# --- another answer -------------------------------------------------------------------------


def other_option(item: TaskItem, row: Record) -> bool:
    """The output answers with one of the item's other options: by its letter among the options
    the row lists or, in a short answer, by naming it first as a phrase or by its words (most of
    them, or words of that option alone: "Monaco." for "Monaco is the smallest ..."). A worked
    explanation names what it rules out on the way: it picks another option only by naming
    options without the gold among them, and options with numbers not at all."""
    if len(item.choices) < 2:
        return False
    options = listed_options(f"{row.instruction}\n{row.input}")
    picked = picked_position(row.output)
    if options and picked in options:
        choice = closest_choice(item, options[picked])
        return choice is not None and choice != item.gold
    if len(words(row.output)) > SHORT_ANSWER_WORDS:
        if any(ch.isdigit() for c in item.choices for ch in c):
            return False  # a worked solution writes numbers its own way ("\\frac97", "9/7")
        named = named_options(item, row.output)
        return bool(named) and item.gold not in named
    for choice in (
        first_named(item, row.output),
        best_choice(item, row.output),
        closest_choice(item, row.output),
    ):
        if choice is not None:
            return choice != item.gold
    return False


ENDING_RECALL = 0.2  # a continuation holding less of the gold ending's words is another ending
ENDING_MIN_WORDS = 3


def other_ending(item: TaskItem, row: Record) -> bool:
    """For a task whose options continue the question (HellaSwag's endings): the output is an
    ending of its own (a few content words at least) holding little of the gold ending's."""
    out = content_words(row.output)
    return len(out) >= ENDING_MIN_WORDS and recall(item.gold_text, out) < ENDING_RECALL


def other_number(item: TaskItem, row: Record) -> bool:
    """A numeric gold the output never states, and a final answer of its own: another number.
    (A worked solution passes through numbers: "tempted to say 18 ... so 9 diagonals", "900
    integers with 3 digits" name the gold on the way, and are no other answer.)"""
    gold = number_value(item.gold_text)
    if gold is None or gold in stated_numbers(row.output):
        return False
    return bool(final_numbers(row.output))


# Evidence that the row answers otherwise than the gold: the same wording asked with another
# answer is another question ("which is NOT ...", the other ending, the twin sentence).
OTHER_ANSWER: dict[str, Callable[[TaskItem, Record], bool]] = {
    "option": other_option,
    "number": other_number,
}


def other_answer(item: TaskItem, row: Record, continuation: bool = False) -> str:
    """The name of the first detector finding that the row answers otherwise, or ""; never when
    the row also gives the gold answer. `continuation`: the item's options continue its
    question, so an output ending otherwise is another answer ("ending")."""
    if answer_evidence(item, row, ("text", "number", "letter", "fuzzy")):
        return ""
    for name, found in OTHER_ANSWER.items():
        if found(item, row):
            return name
    if continuation and other_ending(item, row):
        return "ending"
    return ""
