"""The continuously batched greedy generation (`platypus.eval.generate`) gives what transformers'
`generate` gives for each prompt alone: rows of different lengths in one batch, rows leaving
and joining between steps, the buffers realigned when full, stop strings and end tokens.
(Parity with lm-eval on SmolLM2: tests/test_eval_parity.py and the IFEval/MATH task tests.)"""

import json
from dataclasses import replace

import pytest
import torch

from platypus.eval import generate
from platypus.eval.generate import Generator
from platypus.eval.protocols import Generation

# A random two-layer model never writes GSM8K's stop strings, so stops are picked from its own
# outputs below; most rows then run to the token limit.
RULES = Generation(until=(), until_is_eos=False, skip_special=True, max_new_tokens=12)


@pytest.fixture(scope="module")
def tiny(tiny_llama):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_llama, dtype=torch.float32)
    return model.eval(), AutoTokenizer.from_pretrained(tiny_llama)


@pytest.fixture(scope="module")
def questions(shared_data):
    """Eleven real GSM8K questions of different lengths (prompts of 20-80 tokens)."""
    rows = [json.loads(line) for line in (shared_data / "gsm8k" / "test.jsonl").open()][:11]
    return [f"Question: {r['question']}\nAnswer:" for r in rows]


def one_at_a_time(model, tokenizer, contexts, rules):
    """transformers' `generate` on each prompt alone: the reference."""
    return Generator(model, tokenizer, torch.device("cpu"), batch_size=1)._generate_fixed(
        [tokenizer(c, add_special_tokens=False).input_ids for c in contexts], rules, None
    )


def counting(monkeypatch, name: str) -> list:
    calls = []
    method = getattr(generate._DecodeBatch, name)

    def counted(self, *args):
        calls.append(args)
        return method(self, *args)

    monkeypatch.setattr(generate._DecodeBatch, name, counted)
    return calls


def test_the_decode_batch_gives_each_prompts_own_greedy_completion(tiny, questions, monkeypatch):
    model, tokenizer = tiny
    monkeypatch.setattr(generate, "_MARGIN", 4)
    realigned, removed = counting(monkeypatch, "realign"), counting(monkeypatch, "remove")
    finished = []
    ours = Generator(model, tokenizer, torch.device("cpu"), batch_size=3).generate(
        questions, RULES, finished.append
    )
    assert ours == one_at_a_time(model, tokenizer, questions, RULES)
    assert all(ours) and sum(finished) == len(questions)
    # 11 rows of 12 tokens, 3 at a time: the buffers (longest prompt + 12 + 4 columns) fill and
    # are realigned while rows run; rows other than the last leave from the middle of the batch.
    assert realigned[0] == (max(len(tokenizer(q).input_ids) for q in questions),)  # the start
    assert len(realigned) >= 2  # and at least once when full
    assert any(r < 2 for (r,) in removed)


def test_rows_stop_at_their_stop_string_or_end_token(tiny, questions):
    model, tokenizer = tiny
    free = one_at_a_time(model, tokenizer, questions, RULES)
    # A stop string the model writes in some rows but not at their start, and an end token that
    # ends other rows early: rows of very different lengths in one batch.
    stop = free[0][len(free[0]) // 2 :][:3]
    token = tokenizer(free[1], add_special_tokens=False).input_ids[4]
    for rules in (
        replace(RULES, until=(stop,)),
        replace(RULES, until=(tokenizer.decode([token]),), until_is_eos=True, skip_special=False),
    ):
        ours = Generator(model, tokenizer, torch.device("cpu"), batch_size=4).generate(
            questions, rules
        )
        reference = one_at_a_time(model, tokenizer, questions, rules)
        assert ours == reference, rules
        assert len({len(t) for t in ours}) > 3  # the rows did end at different lengths
    assert len(ours[1]) < len(free[1])


def test_a_sliding_window_model_takes_transformers_generate(tiny_llama, questions):
    # Sliding-window layers keep only their window: the decode batch's full buffers cannot
    # stand for them, so such a model goes through `generate` on fixed batches.
    from transformers import AutoTokenizer, MistralConfig, MistralForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    config = MistralConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, sliding_window=16,
    )  # fmt: skip
    torch.manual_seed(0)
    model = MistralForCausalLM(config).eval()
    generator = Generator(model, tokenizer, torch.device("cpu"), batch_size=2)
    assert generator._prompt_cache() is None
    ours = generator.generate(questions[:3], RULES)
    assert ours == one_at_a_time(model, tokenizer, questions[:3], RULES)
