"""Does a training output give away a benchmark item's answer, however it is worded?

Each detector in `DETECTORS` looks for one kind of evidence and the first that finds it names
it: the gold option's words as a phrase, a numeric final answer, the letter of the gold option
among the options the training row lists itself (in its own order), or most of the gold
option's content words (and more of them than of any other option's).
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


def answer_in_output(gold: str, output: str) -> bool:
    """True when the gold answer's words appear as a phrase in the output; a very short gold
    answer counts only as the output's last word(s), where final answers sit (a stray "4" in a
    worked solution is no leak)."""
    g, o = normalise(gold), normalise(output)
    if not g or not o:
        return False
    if len(g) < _SHORT:
        return o == g or o.endswith(" " + g)
    return re.search(rf"(?:^| ){re.escape(g)}(?: |$)", o) is not None


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


def numbers_agree(question: str, text: str) -> bool:
    """Every number the benchmark question states is also in the training text (spelled out
    there or not). A question with its numbers changed is a different problem with another
    answer, however close its wording: "ran 100 m in 25 s" is not "ran 100 m in 20 s"."""
    return numbers_in(question) <= numbers_in(spell_digits(text))


def number_leak(item: TaskItem, row: Record) -> bool:
    gold = number_value(item.gold_text)
    return gold is not None and gold in final_numbers(row.output)


# --- the gold option's text ----------------------------------------------------------------


def text_leak(item: TaskItem, row: Record) -> bool:
    if number_value(item.gold_text) is not None:
        return False  # numbers have their own rule: a phrase match would count any "4"
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


# Tried in order; the first that finds evidence names it.
DETECTORS: dict[str, Callable[[TaskItem, Record], bool]] = {
    "text": text_leak,
    "number": number_leak,
    "letter": letter_leak,
    "fuzzy": fuzzy_leak,
}


def answer_evidence(
    item: TaskItem, row: Record, detectors: Sequence[str] = tuple(DETECTORS)
) -> str:
    """The name of the first of `detectors` that finds the item's answer in the row, or ""."""
    for name in detectors:
        if DETECTORS[name](item, row):
            return name
    return ""
