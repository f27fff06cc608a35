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


def test_shared_prefix_and_batches_match_separate_passes(scorer, shared_data):
    """MMLU-style: a subject's 5-shot prefix runs once, questions run batched; every choice's
    log-likelihood equals the full pass, and batch size does not change the result."""
    from platypus.tasks.mmlu import load_mmlu, mmlu_choices, mmlu_context

    subject = ["high_school_physics"]
    dev = load_mmlu(shared_data, split="dev", subjects=subject)
    items = load_mmlu(shared_data, subjects=subject)[:4]  # batches of 3: one full, one partial
    contexts = [mmlu_context(item, dev) for item in items]
    prefix = scorer.prefix(contexts)
    assert prefix is not None and len(prefix.ids) > 300  # the description and five examples
    requests = [(c, mmlu_choices()) for c in contexts]
    by_batch = {}
    for size in (1, 3, 8):
        scorer.batch_size = size
        scored = scorer.score_many(requests, prefix)
        by_batch[size] = [[s.logprob for s in r] for r in scored]
    scorer.batch_size = 8
    # Two items against full passes (four passes of ~700 tokens each); batch sizes, all four.
    for c, got in zip(contexts[:2], by_batch[3][:2], strict=True):
        ref = [s.logprob for s in naive_scores(scorer.model, scorer, c, mmlu_choices())]
        assert got == pytest.approx(ref, abs=1e-3)
    flat = {size: [x for row in rows for x in row] for size, rows in by_batch.items()}
    for size in (1, 8):
        assert flat[size] == pytest.approx(flat[3], abs=1e-4)
    # Multi-token continuations take the per-item path on top of the same prefix.
    tail = scorer.score(contexts[0], [" A. maybe", " B"], prefix)
    ref = naive_scores(scorer.model, scorer, contexts[0], [" A. maybe", " B"])
    assert [s.logprob for s in tail] == pytest.approx([s.logprob for s in ref], abs=1e-3)
    # A context that does not start with the prefix is scored in full, not wrongly.
    other = "Question: unrelated\nAnswer:"
    assert [s.logprob for s in scorer.score_many([(other, [" A"])], prefix)[0]] == pytest.approx(
        [s.logprob for s in naive_scores(scorer.model, scorer, other, [" A"])], abs=1e-3
    )


def test_logits_are_computed_only_where_they_are_read(scorer, shared_data):
    """The LM head runs on a context's last position, a batch's last real positions and the
    continuation tokens, not on every context token (a fifth of a 25-shot item's FLOPs); a
    model without `logits_to_keep` gets the same numbers from full logits."""
    from platypus.tasks.mmlu import load_mmlu, mmlu_choices, mmlu_context

    subject = ["astronomy"]
    dev = load_mmlu(shared_data, split="dev", subjects=subject)
    contexts = [mmlu_context(item, dev) for item in load_mmlu(shared_data, subjects=subject)[:3]]
    requests = [(c, mmlu_choices()) for c in contexts]
    rows = []
    hook = scorer.model.lm_head.register_forward_hook(lambda m, i, o: rows.append(i[0].shape[1]))
    try:
        prefix = scorer.prefix(contexts)
        batched = scorer.score_many(requests, prefix)
        single = scorer.score(contexts[0], [" A. maybe", " B"], prefix)
    finally:
        hook.remove()
    assert scorer.keep_arg == "logits_to_keep"
    # prefix: 1; the batch of 3: at most 3 distinct last positions; the item: its last
    # position, then the 2-row continuation batch (" A. maybe" is 3 tokens: 2 inputs)
    assert rows[0] == 1 and rows[1] <= 3 and rows[2:] == [1, 2], rows
    full = LoglikScorer(scorer.model, scorer.tokenizer)
    full.keep_arg = None  # as a model whose forward has no such argument
    prefix = full.prefix(contexts)
    got = [s.logprob for r in full.score_many(requests, prefix) for s in r]
    assert got == pytest.approx([s.logprob for r in batched for s in r], abs=1e-4)
    assert [s.logprob for s in full.score(contexts[0], [" A. maybe", " B"], prefix)] == (
        pytest.approx([s.logprob for s in single], abs=1e-4)
    )


def test_single_continuations_run_batched_and_match_separate_passes(scorer, shared_data):
    """Winogrande-style: each option's context, then one multi-token continuation. Such items
    run batched, rows of different lengths padded (here 3 rows, then 1), with or without a
    shared prefix (an item's two options on their examples), and equal full passes."""
    from platypus.eval.run import prepare
    from platypus.tasks.winogrande import contexts, partial_target

    items, drawn = prepare("winogrande", shared_data, 2)
    requests = []
    for item in items:
        target = partial_target(item)
        requests += [(c, [target]) for c in contexts(item, drawn.examples[item.id])]
    prefix = scorer.prefix([c for c, _ in requests[:2]])
    assert prefix is not None
    scorer.batch_size = 3
    try:
        plain = scorer.score_many(requests)
        shared = scorer.score_many(requests[:2], prefix)
    finally:
        scorer.batch_size = 8
    for n, (context, conts) in enumerate(requests):
        assert len(conts[0]) > 1
        ref = naive_scores(scorer.model, scorer, context, conts)[0]
        for got in [plain[n]] + ([shared[n]] if n < 2 else []):
            assert len(got) == 1 and got[0].greedy == ref.greedy
            assert got[0].logprob == pytest.approx(ref.logprob, abs=1e-3)
