"""Log-likelihood scoring with a shared context equals scoring each choice on its own."""

import pytest

from platypus.eval.loglik import LoglikScorer, naive_scores
from platypus.models import load_causal_lm
from platypus.tasks import load_task


@pytest.fixture(scope="module")
def scorer():
    model, tokenizer = load_causal_lm()
    return LoglikScorer(model, tokenizer)


def test_cache_reuse_matches_separate_passes(scorer, shared_data):
    items = load_task("arc_challenge", shared_data)[:5]
    for item in items:
        context = f"Question: {item.question}\nAnswer:"
        choices = [f" {c}" for c in item.choices]
        ours = scorer.score(context, choices)
        ref = naive_scores(scorer.model, scorer, context, choices)
        for a, b in zip(ours, ref, strict=True):
            assert a.logprob == pytest.approx(b.logprob, abs=1e-3)
            assert a.greedy == b.greedy


def test_single_token_choices_and_tokenisation_rules(scorer):
    # MMLU-style letters are single tokens: scored from the context pass alone.
    context = "2 + 2 = ?\nA. 3\nB. 4\nC. 5\nD. 6\nAnswer:"
    ours = scorer.score(context, [" A", " B", " C", " D"])
    ref = naive_scores(scorer.model, scorer, context, [" A", " B", " C", " D"])
    assert [s.logprob for s in ours] == pytest.approx([s.logprob for s in ref], abs=1e-3)
    # A trailing space in the context moves to the continuation, as in lm-eval.
    assert scorer.encode("Answer: ", "yes") == scorer.encode("Answer:", " yes")
    assert scorer.encode("", "hello")[0] == [scorer.tokenizer.eos_token_id]
    with pytest.raises(ValueError):
        scorer.score("Answer:", [""])
