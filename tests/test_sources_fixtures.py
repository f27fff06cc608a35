"""Loaders for sources that ../shared/data lacks, on small fixtures in each source's own layout."""

import pytest

from conftest import FIXTURES, build_only, dropped
from platypus.data.sources.guanaco import first_turn
from platypus.errors import PlatypusError


def test_scienceqa_problems_json(tmp_path):
    result = build_only(tmp_path, "scienceqa", data_root=FIXTURES, path="scienceqa")
    rows = {r.id: r for r in result.records}
    # 7 problems: 1 test-split (not read), 1 with an image, 1 removed skill, 1 without solution,
    # 1 whose cued lecture is over 400 words -> 2 kept.
    assert dropped(result, "scienceqa") == {
        "text-only": 1, "skill kept": 1, "has solution": 1, "input <= max words": 1,
        "non-empty instruction and output": 0,
    }  # fmt: skip
    assert sorted(rows) == ["scienceqa/1", "scienceqa/5"]
    plain, cued = rows["scienceqa/1"], rows["scienceqa/5"]
    assert plain.instruction == (
        "Which object is moving faster?\nA: a car at 50 km/h\nB: a bike at 10 km/h"
    )
    assert plain.input == ""  # no cue phrase: the lecture is not used
    assert cued.input == "Jupiter is the largest planet in the solar system."  # "Based on"
    assert cued.output == "Jupiter is the largest planet."
    assert result.records[0].data_source == "scienceqa"


def test_scienceqa_hub_table_layout_and_limits(tmp_path):
    result = build_only(tmp_path / "a", "scienceqa", data_root=FIXTURES,
                        path="scienceqa/train.jsonl")  # fmt: skip
    assert [r.instruction.split("\n")[0] for r in result.records] == ["Which tells the forecast?"]
    assert dropped(result, "scienceqa")["skill kept"] == 1
    # The word limit is configurable: at 401 the long cued lecture is kept.
    loose = build_only(tmp_path / "b", "scienceqa", data_root=FIXTURES, path="scienceqa",
                       options={"max_input_words": 401, "splits": ["train", "test"]})  # fmt: skip
    assert len(loose.records) == 4


def test_leetcode(tmp_path):
    result = build_only(tmp_path, "leetcode", data_root=FIXTURES, path="leetcode/train.jsonl")
    first = result.records[0]
    assert first.id == "leetcode_ne/two-sum" and first.data_source == "leetcode_ne"
    assert first.instruction.startswith("Given an array of integers nums")
    assert first.output.startswith("def two_sum(nums, target):") and first.input == ""


def test_tigerbot_python_only_and_swapped(tmp_path):
    result = build_only(tmp_path, "tigerbot", data_root=FIXTURES, path="tigerbot/train.jsonl")
    # "java" is dropped; "Python" (capital P) too, matching the original case-sensitive check.
    assert dropped(result, "tigerbot")["python only"] == 2
    (row,) = result.records
    assert row.instruction.startswith("Given a string s, find the length of the longest")
    assert row.input == "" and row.output.startswith("def length_of_longest_substring(s):")
    assert row.data_source == "tigerbot-kaggle"


def test_airoboros_keyword_filter(tmp_path):
    result = build_only(tmp_path, "airoboros", data_root=FIXTURES,
                        path="airoboros/instructions.jsonl")  # fmt: skip
    kept = [r.id for r in result.records]
    # neural network, AI, calculation and science kept; the haiku and "said" dropped.
    assert kept == ["airoboros/1", "airoboros/3", "airoboros/5", "airoboros/6"]
    assert dropped(result, "airoboros")["STEM keyword"] == 2
    off = build_only(tmp_path / "off", "airoboros", data_root=FIXTURES,
                     path="airoboros/instructions.jsonl", keyword_filter=False)  # fmt: skip
    assert len(off.records) == 6


def test_guanaco_first_turn_and_keywords(tmp_path):
    result = build_only(tmp_path, "guanaco", data_root=FIXTURES, path="guanaco/train.jsonl")
    assert [(r.instruction, r.output) for r in result.records] == [
        ("What is the derivative of x^2?", "The derivative is 2x."),
        ("Explain quantum entanglement simply.",
         "Two particles share one state, so measuring one tells you about the other."),
    ]  # fmt: skip
    assert dropped(result, "guanaco") == {"has a human/assistant turn": 1,
        "non-empty instruction and output": 0, "STEM keyword": 1}  # fmt: skip
    assert first_turn("### Assistant: hi### Human: x") is None


def test_openbookqa_additional_has_fact(tmp_path):
    result = build_only(tmp_path, "openbookqa", data_root=FIXTURES, path="openbookqa",
                        options={"splits": ["train"]})  # fmt: skip
    (row,) = result.records
    assert row.input == "the sun is the source of energy for physical cycles on Earth"
    assert row.output == "The answer is D: plants sprouting, blooming and wilting"


def test_hub_sources_fail_clearly_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(PlatypusError) as err:
        build_only(tmp_path, "leetcode", data_root=tmp_path)
    message = str(err.value)
    assert "nuprl/leetcode-solutions-python-testgen-gpt4" in message
    assert "sources.leetcode.path" in message and "\n" not in message
