"""IFEval (`ifeval`): the loader on the real data; the 25 instruction checks, the text measures
and the four metrics against lm-evaluation-harness 0.4.13's own code (the `leaderboard_ifeval`
task's `process_results` and instruction registry) on real GPT-4 responses and scripted
responses to all 541 prompts; and generation parity with lm-eval's own task on SmolLM2.

lm-eval's IFEval module downloads NLTK's Punkt data at import; here it finds that data in a
temporary `nltk_data` written from the parameters our checks use (shown to be NLTK's English
model by hash), and any download attempt fails the test. Both sides seed langdetect with 0.
"""

from __future__ import annotations

import hashlib
import json
import string
from collections import Counter
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from platypus.errors import DataError, PlatypusError
from platypus.eval.results import ItemResult
from platypus.eval.run import aggregate
from platypus.tasks import get_task, ifeval, load_task
from platypus.tasks.ifeval_checks import (
    CHECKS,
    _sentence_tokenizer,
    count_sentences,
    count_words,
    follows,
    verdicts,
    word_tokenize,
    write_punkt_tab,
)

# Real responses: GPT-4's to 84 of the prompts (at most two that follow and two that break each
# instruction kind, and one each that only the loose check accepts; the shortest ones), from
# google-research's `instruction_following_eval/data/input_response_data_gpt4_20231107_145030
# .jsonl` (Apache-2.0; the copy in Podtech-AI/IFEval at 5bdf377, git blob 37d46df2...), by key.
GPT4 = Path(__file__).parent / "fixtures" / "ifeval" / "gpt4_responses.jsonl"

# NLTK's English Punkt parameters in canonical form (`punkt_digest`), as nltk 3.10 loads them
# from nltk_data's `tokenizers/punkt_tab/english/` files whose sha256 are those of nltk_data's
# Git LFS objects (abbrev_types.txt 92a3e070..., collocations.tab 8e2da122...,
# ortho_context.tab 4bbcca25..., sent_starters.txt f3f85354...).
PUNKT_ENGLISH_SHA256 = "05d1b12e48957bd1e1d458276076802cde540d5f3c0785efbd5c522ad2703023"

LANGDETECT = {"language:response_language"}  # ~30 ms a call: fewer pairs for these


def punkt_digest(params) -> str:
    canonical = [
        sorted(params.abbrev_types),
        sorted(map(list, params.collocations)),
        sorted(params.sent_starters),
        sorted(dict(params.ortho_context).items()),
    ]
    return hashlib.sha256(json.dumps(canonical).encode()).hexdigest()


def _no_download(*args, **kwargs):
    raise AssertionError(f"nltk.download{args} was called: the tests must run offline")


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    """lm-eval's IFEval code, imported offline (see the module docstring)."""
    pytest.importorskip("lm_eval")
    nltk = pytest.importorskip("nltk")
    from langdetect import DetectorFactory

    root = tmp_path_factory.mktemp("nltk_data")
    write_punkt_tab(root)
    patch = pytest.MonkeyPatch()
    patch.setattr(nltk.data, "path", [str(root), *nltk.data.path])
    patch.setattr(nltk, "download", _no_download)
    patch.setattr(DetectorFactory, "seed", 0)
    from lm_eval.tasks.ifeval import instructions_registry, instructions_util
    from lm_eval.tasks.leaderboard.ifeval import utils

    yield SimpleNamespace(util=instructions_util, registry=instructions_registry, utils=utils)
    patch.undo()


@pytest.fixture(scope="module")
def items(shared_data):
    return load_task("ifeval", shared_data)


@pytest.fixture(scope="module")
def gpt4(items):
    """(item, GPT-4's response) for the fixture's rows, in file order."""
    by_id = {i.id: i for i in items}
    rows = [json.loads(line) for line in GPT4.read_text(encoding="utf-8").splitlines()]
    return [(by_id[f"ifeval/{r['key']}"], r["response"]) for r in rows]


def no_letter(instruction: str, encoded: str) -> bool:
    """A letter_frequency instruction whose "letter" is no ASCII letter: lm-eval replaces it
    with a random one, so it has no fixed verdict to match (`test_a_letter_...`)."""
    letter = json.loads(encoded).get("letter", "a")
    return instruction == "keywords:letter_frequency" and letter not in string.ascii_letters


def hub_rows(items) -> list[dict]:
    """The items as lm-eval gets them from the hub: through `datasets`, whose schema gives each
    instruction every argument, null where unused."""
    import datasets

    return list(datasets.Dataset.from_list([ifeval.hub_row(i) for i in items]))


def theirs_strict(lm, item, instruction: str, encoded: str, response: str) -> bool:
    example = lm.utils.InputExample(
        key=0,
        instruction_id_list=[instruction],
        prompt=item.question,
        kwargs=[json.loads(encoded)],
    )
    return lm.utils.test_instruction_following_strict(example, response).follow_instruction_list[0]


def assert_same_verdicts(lm, item, doc: dict, response: str) -> tuple[dict, dict]:
    """Our per-instruction verdicts and four metrics equal lm-eval's `process_results` (the
    verdicts with no fixed value in lm-eval left out); (lm-eval's result, our metrics)."""
    theirs = lm.utils.process_results(doc, [response])
    strict, loose = verdicts(item.instructions, response)
    ours = ifeval.accuracies(strict, loose)
    keep = [n for n, (i, a) in enumerate(item.instructions) if not no_letter(i, a)]
    assert [strict[n] for n in keep] == [theirs["inst_level_strict_acc"][n] for n in keep]
    assert [loose[n] for n in keep] == [theirs["inst_level_loose_acc"][n] for n in keep]
    if len(keep) == len(item.instructions):
        assert ours["prompt_level_strict_acc"] == theirs["prompt_level_strict_acc"]
        assert ours["prompt_level_loose_acc"] == theirs["prompt_level_loose_acc"]
    return theirs, ours


# --- the data -------------------------------------------------------------------------------


def test_loads_the_541_prompts_and_834_instructions(items, shared_data):
    assert len(items) == 541
    assert len({i.id for i in items}) == 541
    assert items[0].id == "ifeval/1000" and items[0].split == "train"
    assert items[0].instructions[2] == (
        "length_constraints:number_words",
        '{"num_words":300,"relation":"at least"}',
    )
    kinds = Counter(i for item in items for i, _ in item.instructions)
    assert sum(kinds.values()) == 834 and set(kinds) == set(CHECKS)
    # SOURCE.md's counts of the commonest kinds
    assert kinds["punctuation:no_comma"] == 66
    assert kinds["length_constraints:number_words"] == 52
    assert kinds["length_constraints:number_sentences"] == 52
    assert kinds["keywords:forbidden_words"] == 49
    assert kinds["detectable_format:number_highlighted_sections"] == 48
    # no reference answer: one empty choice
    assert all(i.choices == ("",) and i.gold_text == "" for i in items)
    assert get_task("ifeval").data_files(shared_data) == [
        shared_data / "ifeval" / "input_data.jsonl"
    ]


@pytest.mark.parametrize(
    "change, message, row",
    [
        (lambda r: r["instruction_id_list"].__setitem__(0, "keywords:rhyme"),
         "unknown instruction 'keywords:rhyme'", 1),
        (lambda r: r["kwargs"].append({}), "3 instructions but 4 kwargs", 1),
        (lambda r: r["kwargs"][2].pop("num_words"), "arguments ['relation'], expected", 1),
        (lambda r: r["kwargs"][2].__setitem__("relation", "at most"), "is not one of", 1),
        (lambda r: r["kwargs"][2].__setitem__("num_words", "300"), "not a positive integer", 1),
        (lambda r: r["kwargs"][1].__setitem__("num_highlights", 0), "not a positive integer", 1),
        (lambda r: r.__setitem__("key", "1000"), "key '1000' is not an integer", 1),
        (lambda r: r.__setitem__("key", 1001), "key 1001 appears twice", 2),
        (lambda r: r.pop("prompt"), "missing prompt", 1),
    ],
)  # fmt: skip
def test_a_malformed_row_is_a_one_line_data_error(tmp_path, shared_data, change, message, row):
    lines = (shared_data / "ifeval" / "input_data.jsonl").read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])  # key 1000: no_comma, number_highlighted_sections, number_words
    change(first)
    lines[0] = json.dumps(first)
    path = tmp_path / "ifeval" / "input_data.jsonl"
    path.parent.mkdir()
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as raised:
        load_task("ifeval", tmp_path)
    text = str(raised.value)
    assert "\n" not in text and text.startswith(f"{path}: row {row}: ")
    assert message in text


def test_the_hub_copy_loads_as_the_local_file(items, monkeypatch):
    # The hub's schema fills unused arguments with null; they are dropped as lm-eval drops them.
    rows = hub_rows(items)
    assert rows[0]["kwargs"][0]["num_words"] is None
    monkeypatch.setattr(ifeval, "hub_dataset", lambda *a, **k: rows)
    assert load_task("ifeval", source="hub") == items


def test_an_unknown_split_is_a_one_line_error(shared_data):
    with pytest.raises(PlatypusError, match="no split 'test'"):
        ifeval.load_ifeval(shared_data, split="test")


# --- the checks against lm-eval's -----------------------------------------------------------


def test_sentence_splitter_has_nltks_english_punkt_model():
    assert punkt_digest(_sentence_tokenizer()._params) == PUNKT_ENGLISH_SHA256


def test_text_measures_match_lm_eval(lm, items, gpt4):
    responses = [r for _, r in gpt4]
    for text in [i.question for i in items] + responses:
        assert count_words(text) == lm.util.count_words(text), text[:80]
        assert count_sentences(text) == lm.util.count_sentences(text), text[:80]
    for text in responses + [i.question for i in items[:100]]:
        assert word_tokenize(text) == lm.util.nltk.word_tokenize(text), text[:80]


@pytest.mark.parametrize("instruction", sorted(CHECKS))
def test_each_instruction_kind_matches_lm_eval_on_real_responses(lm, gpt4, instruction):
    """Each instruction of the kind among the fixture's prompts, checked on the responses to
    those prompts and (but for the slow language checks) ten others: our strict verdict equals
    lm-eval's, and both verdicts occur."""
    own = [(item, r) for item, r in gpt4 if any(i == instruction for i, _ in item.instructions)]
    others = [] if instruction in LANGDETECT else [p for p in gpt4 if p not in own][:10]
    responses = [r for _, r in own + others]
    seen = set()
    for item, _ in own:
        for i, encoded in item.instructions:
            if i != instruction or no_letter(i, encoded):
                continue
            for response in responses:
                ours = follows(i, json.loads(encoded), response)
                assert ours == theirs_strict(lm, item, i, encoded, response), (
                    item.id,
                    response[:100],
                )
                seen.add(ours)
    assert seen == {True, False}


# IFEval's own examples: test cases of google-research's `instruction_following_eval/
# instructions_test.py` (Apache-2.0), as (instruction, arguments, response, its verdict there).
IFEVAL_EXAMPLES = [
    ("language:response_language", {"language": "en"}, "The response is English", True),
    ("language:response_language", {"language": "es"}, "Desayunamos en McDonald's hoy", True),
    ("length_constraints:number_sentences", {"relation": "less than", "num_sentences": 4},
     "xx,x. xx,x! xx/x. x{x}x?", False),
    ("length_constraints:number_sentences", {"relation": "at least", "num_sentences": 4},
     "xxxx. xx,x! xx|x. x&x x?", True),
    ("detectable_content:number_placeholders", {"num_placeholders": 7},
     "My [adjective] [noun] is [adjective] [noun]. I [verb] and [verb].", False),
    ("detectable_format:number_bullet_lists", {"num_bullets": 3},
     "\n  A Markdown bullet point is a way of formatting text to create a list. To\n"
     "  create a bullet point, start each line with an asterisk (*). For example:\n"
     "  * This is a bullet point.\n  *(no space required)Another bullet point.\n"
     "  * (no newline ending required)Another bullet point.\n"
     "  markdown bullet points are often used to create to-do lists or to list items\n"
     "  in a step-by-step guide.", True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 3},
     "\n  Here are three markdown bullets:\n  - I am a large language model.\n"
     "  - I am trained on a massive amount of text data.\n  -I am still under development.",
     True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 1},
     "\n  Paragraph 1\n  ***\n  Paragraph 2\n  ***\n  Paragraph 3\n  * only one bullet point\n  ",
     True),
    ("detectable_format:constrained_response", {}, "\n My answer is no.\n", True),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2},
     "\n  you would type:*hello*, You can also use the ** character to\n  create bold text."
     " For example, you\n  would type: **hello** ", True),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2},
     "\n  *Finite difference methods\n  *Finite element methods*\n  *Boundary element methods"
     "\n  *Monte Carlo methods\n  I hope this helps!", False),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 4},
     "\n  There is allowed to be *two different* highlighted *sections in the same*\n"
     "  line. **This is also true** for **double markdown highlights.**\n  ", True),
    ("detectable_format:multiple_sections", {"section_spliter": "Section", "num_sections": 3},
     '\n  Your response must have multiple sections. Mark the beginning of each section\n'
     '  with "Section X", such as:\n  Section 1\n  [content of section 1]\n  Section 2\n'
     "  [content of section 2]", False),
    ("detectable_format:multiple_sections", {"section_spliter": "SECTION", "num_sections": 2},
     "SECTION 1\n  [content of section 1]\n  SECTION 2\n  [content of section 2]", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 3},
     "\n          ***\n  paragraph 1\n          ***\n      paragraph 2\n          ***\n"
     "      paragraph 3", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2},
     "\n  paragraph 1\n          ***\n      paragraph 2\n          ***\n          ***", False),
    ("detectable_content:postscript", {"postscript_marker": "P.S."},
     "\n  I am always learning new things.\n\n  P.S. I hope this is what you were looking for.",
     True),
    ("detectable_content:postscript", {"postscript_marker": "PS:"},
     "\n  I am always learning new things.\n\n  P.S. I hope this is what you were looking for.",
     False),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"},
     "\n  If the length of a square is one, the area of the square will also be one.\n"
     "  p.p.s what if the entire response was lower case letters?\n  ", True),
    ("detectable_content:postscript", {"postscript_marker": "P.S."},
     "\n  The mysteries of space and time are mysterious.\n"
     "  P. S. Sometimes there are even spaces between P. and S..\n  ", True),
    ("keywords:existence", {"keywords": ["romantic", "river", "Mona Lisa"]},
     "\n  Paris is a city of beauty and romance. The romantic river Seine winds its way\n"
     "  past the Louvre Museum, where the Mona Lisa resides.", True),
    ("keywords:frequency", {"keyword": "  keyword ", "frequency": 4, "relation": "less than"},
     "\n  keyword, Keyword, KEYWORD\n  ", True),
    ("keywords:frequency", {"keyword": "KEYWORD", "frequency": 4, "relation": "at least"},
     "\n    *keyword\n    *Keyword\n    *KEYWORD\n  ", False),
    ("length_constraints:number_words", {"num_words": 8, "relation": "less than"},
     "\n  d3sCRi7 lArge lAnguagE M0del w1tH 20 w0RdS.", True),
    ("length_constraints:number_words", {"num_words": 16, "relation": "at least"},
     "\n  L4RGE L4NGU4GE M0DEL: AI syst3m th4t und3rstands, g3n3r4tes, or tr4nsforms\n"
     "  l4ngu4g3 b4s3d on pr3vious l3arning & d4t4.", True),
    ("length_constraints:nth_paragraph_first_word",
     {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "I"},
     "\n  paragraph 1\n\n  I paragraph 2\n\n  paragraph 3", True),
    ("length_constraints:nth_paragraph_first_word",
     {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "I"},
     "\n  paragraph 1\n\n  I paragraph 2", False),
    ("length_constraints:nth_paragraph_first_word",
     {"num_paragraphs": 5, "nth_paragraph": 3, "first_word": "Really"},
     "\n  Wow this is a very long response.\n\n  I can't believe there is more.\n\n"
     '  "Really?! more than three? No way!"\n\n  I can\'t believe it.\n\n  Haha, you go.', True),
    ("length_constraints:nth_paragraph_first_word",
     {"num_paragraphs": 5, "nth_paragraph": 3, "first_word": "Really"},
     "\n  Wow this is a very long response.\n\n  I can't believe there is more.\n\n"
     "  Rea!lly more than three? No way!\n\n  I can't believe it.\n\n  Haha, you go.", False),
    ("keywords:forbidden_words", {"forbidden_words": ["HOUSE", "POWER", "BECOME"]},
     "\n  The Nazis came to power in 1933 through a combination of legal and illegal\n  means.",
     False),
    ("keywords:forbidden_words", {"forbidden_words": ["GENE", "TRANSFORM"]},
     "\n  GPT, or Generative Pre-trained Transformer, is a family of neural network\n  models.",
     True),
    ("combination:two_responses", {},
     "\n  This is response 1.\n  ******\n  This is response 2.\n  ", True),
    ("combination:two_responses", {},
     "\n  This is response 1.\n  ******\n  This is response 1.\n  ", False),
    ("combination:two_responses", {},
     "\n  ******\n  Response 1.\n  ******\n  ******\n  Response 2.\n  ******\n  ", False),
    ("combination:two_responses", {},
     "\n  ******\n  Response 1\n  ******\n  Response 2\n  ******\n  ", True),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Write a CL description."},
     "Write a CL description. Hi, Le and TJ, please\n  check this out. Thanks.\n  ", True),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Write a CL description."},
     "Hi, Le and TJ. Write a CL description. Thanks.\n  ", False),
    ("startend:end_checker", {"end_phrase": "\n  Any more questions?\n  "},
     "\n  The answer is 7. Any more questions?\n  ", True),
    ("startend:end_checker", {"end_phrase": "\n  This will fail.\n  "},
     "\n  This will fail. Paris is cool.\n  ", False),
    ("detectable_format:title", {}, "\n  Is it fine for title to be at the end?\n"
     "  <<This is the title>>\n  ", True),
    ("detectable_format:title", {}, "\n  << >>\n  There is no title.\n  ", False),
    ("detectable_format:title", {}, "\n  <<This is not a title.\n  This is a paragraph.>>\n  ",
     False),
    ("keywords:letter_frequency", {"letter": "T", "let_frequency": 4, "let_relation": "at least"},
     "\n  There is the T. Four T's.\n  ", True),
    ("keywords:letter_frequency", {"letter": "p", "let_frequency": 4, "let_relation": "at least"},
     "\n  asdfghjkl!!aA\n  ", False),
    ("change_case:english_capital", {},
     "\n  THIS IS AN ENGLISH SENTENCE. EVERY LETTER IS CAPITALIZED!!! AMAZING.\n  ", True),
    ("change_case:english_capital", {}, "\n  Every Word Is Capitalized.\n  ", False),
    ("change_case:english_lowercase", {}, "\n  every letter is lowercase.\n  ", True),
    ("change_case:english_lowercase", {}, "\n  Almost every letter is lowercase.\n  ", False),
    ("punctuation:no_comma", {},
     "\n  Since the start of time, people have always found a way to punctuate.\n  ", False),
    ("change_case:capital_word_frequency",
     {"capital_frequency": 3, "capital_relation": "at least"},
     "\n  HERE there are THREE FUlly CAPITAL words.\n  ", True),
    ("change_case:capital_word_frequency",
     {"capital_frequency": 4, "capital_relation": "less than"},
     "\n  THERE are Four FULLY CAPITAL WORDS. Many Others Are Only Partially So.\n  ", False),
    ("startend:quotation", {},
     '\n  "This entire message is wrapped in double quotation marks."\n  ', True),
    ("startend:quotation", {},
     '\n  "This message is wrapped in double quotation marks." But not everything.\n  ', False),
    ("detectable_format:json_format", {}, '```JSON\n{"a": [1, 2]}\n```', True),
]  # fmt: skip


@pytest.mark.parametrize(
    "instruction, kwargs, response, expected",
    IFEVAL_EXAMPLES,
    ids=[f"{e[0].split(':')[1]}-{n}" for n, e in enumerate(IFEVAL_EXAMPLES)],
)
def test_ifevals_own_examples(lm, instruction, kwargs, response, expected):
    """IFEval's own test cases: our verdict is lm-eval's and the one IFEval's tests expect."""
    theirs = lm.registry.INSTRUCTION_DICT[instruction](instruction)
    theirs.build_description(**kwargs)
    assert CHECKS[instruction](response, kwargs) == theirs.check_following(response) == expected


def test_the_four_metrics_match_lm_eval_on_real_responses(lm, gpt4):
    docs = hub_rows([item for item, _ in gpt4])
    loose_only = 0
    for (item, response), doc in zip(gpt4, docs, strict=True):
        theirs, _ = assert_same_verdicts(lm, item, doc, response)
        loose_only += theirs["prompt_level_loose_acc"] and not theirs["prompt_level_strict_acc"]
    assert loose_only > 0  # the fixture holds responses only the loose check accepts


def scripted(item, n: int) -> str:
    """A response built from the item's instructions, following most and breaking some (which
    ones depends on `n`), then changed as a whole by the kinds that judge the whole response;
    every 17th is blank and every 5th gets a first and a last line the loose check drops."""
    if n % 17 == 0:
        return "  \n "
    head, body, tail, whole = [], [], [], []
    for k, (instruction, encoded) in enumerate(item.instructions):
        a = json.loads(encoded)
        ok = (n + k) % 3 != 0
        kind = instruction.split(":")[1]
        if kind == "repeat_prompt" and ok:
            head.append(a["prompt_to_repeat"])
        elif kind == "title":
            head.append("<<A title>>" if ok else "<<>>")
        elif kind in ("end_checker", "postscript") and ok:
            tail.append(a.get("end_phrase") or f"{a['postscript_marker']} see you")
        elif kind in ("existence", "forbidden_words"):
            words = a.get("keywords") or a["forbidden_words"]
            body.append(" ".join(words if ok == (kind == "existence") else words[:1]))
        else:
            count = next((v for key, v in a.items() if isinstance(v, int)), 2)
            relation = next((v for key, v in a.items() if "relation" in key), "at least")
            times = count + (ok == (relation == "at least")) - 1
            body.append(_fragment(kind, a, max(times, 0), ok))
            whole.append((kind, ok))
    text = "\n".join(head + body + tail)
    for kind, ok in whole:
        if kind == "english_capital" and ok:
            text = text.upper()
        elif kind == "english_lowercase" and ok:
            text = text.lower()
        elif kind == "no_comma":
            text = text.replace(",", "") if ok else text + ", and so on"
        elif kind == "json_format" and ok:
            text = "```json\n" + json.dumps({"answer": text}) + "\n```"
        elif kind == "quotation" and ok:
            text = f'"{text}"'
    if n % 5 == 0:
        text = f"Sure, here it is:\n{text}\n*Hope this helps*"
    return text


def _fragment(kind: str, a: dict, times: int, ok: bool) -> str:
    if kind == "frequency":
        return " ".join([a["keyword"]] * times)
    if kind == "letter_frequency":
        return " ".join([a["letter"] * 1] * times)
    if kind == "capital_word_frequency":
        return " ".join(["LOUD"] * times)
    if kind == "number_sentences":
        return " ".join(f"This is line {k}." for k in range(times))
    if kind == "number_words":
        return " ".join(["word"] * times)
    if kind == "number_paragraphs":
        return "\n***\n".join(f"Paragraph {k}" for k in range(a["num_paragraphs"] + (not ok)))
    if kind == "nth_paragraph_first_word":
        paragraphs = [f"Text {k}." for k in range(a["num_paragraphs"])]
        if ok:
            paragraphs[a["nth_paragraph"] - 1] = f"{a['first_word'].title()}, it starts."
        return "\n\n".join(paragraphs)
    if kind == "number_placeholders":
        return " ".join(f"[slot {k}]" for k in range(times))
    if kind == "number_bullet_lists":
        return "\n".join(f"* point {k}" for k in range(a["num_bullets"] + (not ok)))
    if kind == "number_highlighted_sections":
        return " ".join(f"*part {k}*" for k in range(times))
    if kind == "multiple_sections":
        return "\n".join(f"{a['section_spliter']} {k}\ntext" for k in range(1, times + 1))
    if kind == "two_responses":
        return "One answer.\n******\nAnother answer." if ok else "One answer."
    if kind == "constrained_response":
        return "My answer is yes." if ok else "Yes."
    if kind == "response_language":
        return "Ceci est une réponse en français." if ok else "This is an answer."
    return ""


def test_the_four_metrics_match_lm_eval_on_scripted_responses_to_all_prompts(lm, items):
    """Per item, and over the items: `aggregate` (with the task's `summarize`) equals lm-eval's
    aggregation (the mean of the prompt-level values; `agg_inst_level_acc`)."""
    responses = [scripted(item, n) for n, item in enumerate(items)]
    docs = hub_rows(items)
    theirs, ours = [], []
    for item, doc, response in zip(items, docs, responses, strict=True):
        t, metrics = assert_same_verdicts(lm, item, doc, response)
        if not any(no_letter(i, a) for i, a in item.instructions):
            theirs.append(t)
            ours.append((item, ItemResult(item.id, [], metrics)))
    assert len(ours) == 539
    summary = aggregate("ifeval", [i for i, _ in ours], [r for _, r in ours])
    for metric in ("prompt_level_strict_acc", "prompt_level_loose_acc"):
        assert summary[metric] == sum(t[metric] for t in theirs) / len(theirs)
    for metric in ("inst_level_strict_acc", "inst_level_loose_acc"):
        assert summary[metric] == lm.utils.agg_inst_level_acc([t[metric] for t in theirs])
    # the scripted set has both verdicts at both levels, strictly and loosely
    for metric in ifeval.METRICS:
        assert 0.2 < summary[metric] < 0.9, (metric, summary[metric])
    assert summary["prompt_level_loose_acc"] > summary["prompt_level_strict_acc"]


def test_a_letter_that_is_no_letter_is_counted_as_given(lm, items):
    item = next(i for i in items if i.id == "ifeval/1122")
    instruction, encoded = item.instructions[1]
    a = json.loads(encoded)
    assert (a["letter"], a["let_relation"], a["let_frequency"]) == ("#", "at least", 4)
    assert follows(instruction, a, "#one #two #three #four")
    assert not follows(instruction, a, "#one #two #three")
    theirs = lm.registry.INSTRUCTION_DICT[instruction](instruction)
    theirs.build_description(**a)
    assert theirs.get_instruction_args()["letter"] in string.ascii_lowercase  # drawn at random


def test_instruction_level_accuracy_is_a_mean_over_instructions(items):
    one = next(i for i in items if len(i.instructions) == 1)
    three = next(i for i in items if len(i.instructions) == 3)
    results = [
        ItemResult(one.id, [], dict.fromkeys(ifeval.METRICS, 1.0)),
        ItemResult(three.id, [], {**dict.fromkeys(ifeval.METRICS, 0.0),
                                  "inst_level_strict_acc": 1 / 3}),
    ]  # fmt: skip
    summary = aggregate("ifeval", [one, three], results)
    assert summary["inst_level_strict_acc"] == 2 / 4  # per item it would be (1 + 1/3) / 2
    assert summary["inst_level_loose_acc"] == 1 / 4
    assert summary["prompt_level_strict_acc"] == 1 / 2
    assert summary["instructions"] == 4
    # the leaderboard's score: the mean of the two strict accuracies (no chance baseline)
    assert get_task("ifeval").leaderboard_v2.score(summary) == (1 / 2 + 2 / 4) / 2


# --- generation parity on SmolLM2 -----------------------------------------------------------

# Two short prompts: SmolLM2 (prompted without a chat template, as the task is) ends 3615's
# answer at once and writes a list for 202. The default suite caps both sides at CAP tokens and
# generates one prompt at a time, as lm-eval does here (on a busy 2-core CPU a left-padded batch
# of two took 6x as long as one prompt); the slow test runs the real cap.
PARITY_IDS = ("ifeval/3615", "ifeval/202")
CAP = 10


@pytest.fixture(scope="module")
def models(lm, smollm2_pair):
    from platypus.eval.loglik import LoglikScorer

    model, tokenizer, theirs = smollm2_pair
    return (lambda batch_size: LoglikScorer(model, tokenizer, batch_size=batch_size), theirs)


def generate_both(models, items, tmp_path, cap: int | None, batch_size: int):
    """(our results, lm-eval's samples, its task config) for the items, through our task's
    `score` and lm-eval's own leaderboard_ifeval task (our `export`), at most `cap` tokens."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from platypus.eval.lm_eval_engine import no_git_describe
    from platypus.eval.protocols import LM_EVAL_04

    scorer, theirs_lm = models
    generation = (
        ifeval.GENERATION if cap is None else replace(ifeval.GENERATION, max_new_tokens=cap)
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ifeval, "GENERATION", generation)
        ours = ifeval.score(scorer(batch_size), items, None, LM_EVAL_04)
    names = ifeval.export(tmp_path, items, None)
    with no_git_describe():
        out = simple_evaluate(
            model=theirs_lm,
            tasks=names,
            log_samples=True,
            task_manager=TaskManager(include_path=str(tmp_path), include_defaults=False),
            gen_kwargs=None if cap is None else {"max_gen_toks": cap},
        )
    samples = sorted(out["samples"]["pl_ifeval"], key=lambda s: s["doc_id"])
    return ours, samples, out["configs"]["pl_ifeval"]


def assert_generation_parity(items, ours, samples, config, cap):
    # lm-eval ran its own leaderboard_ifeval config: its prompt and generation settings
    assert config["doc_to_text"] == "prompt" and config["num_fewshot"] == 0
    assert config["generation_kwargs"] == {
        "until": [], "do_sample": False, "temperature": 0.0, "max_gen_toks": cap,
    }  # fmt: skip
    assert [m["metric"] for m in config["metric_list"]] == list(ifeval.METRICS)
    theirs = ifeval.from_harness(items, {"pl_ifeval": samples})
    for item, o, t in zip(items, ours, theirs, strict=True):
        assert o.text == t.text, item.id
        assert o.metrics == t.metrics, item.id


def test_generations_match_lm_eval(models, items, tmp_path):
    chosen = [next(i for i in items if i.id == n) for n in PARITY_IDS]
    ours, samples, config = generate_both(models, chosen, tmp_path, CAP, batch_size=1)
    assert_generation_parity(chosen, ours, samples, config, CAP)
    assert [o.text == "" for o in ours] == [True, False]  # one empty answer, one written


@pytest.mark.slow
def test_generations_match_lm_eval_at_the_real_cap(models, items, tmp_path):
    chosen = [next(i for i in items if i.id == n) for n in PARITY_IDS]
    ours, samples, config = generate_both(models, chosen, tmp_path, None, batch_size=1)
    assert_generation_parity(chosen, ours, samples, config, ifeval.GENERATION.max_new_tokens)
