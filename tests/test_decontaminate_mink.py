"""Min-K% Prob as model-side evidence: SmolLM2 with a LoRA adapter trained on one real benchmark
item finds that item more familiar than its base does, and more than an item it never saw."""

import math

import pytest

from platypus.data.decontaminate.mink import MinKScorer, item_text, min_k_prob
from platypus.tasks import load_task


@pytest.fixture(scope="module")
def items(shared_data):
    return load_task("truthfulqa_mc", shared_data)[:2]


def _adapter(folder, text: str | None, steps: int = 12):
    """A LoRA adapter on SmolLM2, trained for `steps` on `text` (none: as initialised)."""
    import torch
    from peft import LoraConfig, get_peft_model

    from platypus.models import load_causal_lm

    torch.manual_seed(0)
    model, tokenizer = load_causal_lm()
    model = get_peft_model(
        model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"])
    )
    if text is not None:
        model.train()
        ids = tokenizer(text, return_tensors="pt").input_ids
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-3)
        for _ in range(steps):
            loss = model(ids, labels=ids).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    model.save_pretrained(folder)
    return folder


def test_min_k_prob_reads_the_lowest_tokens():
    from platypus.models import load_causal_lm

    model, tokenizer = load_causal_lm()
    text = "The capital of France is Paris, and the capital of Italy is Rome."
    (all_tokens,) = min_k_prob(model, tokenizer, [text], k=1.0)
    (lowest,) = min_k_prob(model, tokenizer, [text], k=0.2)
    assert lowest < all_tokens < 0  # the least likely fifth is below the mean of all
    assert math.isnan(min_k_prob(model, tokenizer, ["Paris"], k=0.2)[0])  # nothing predicted


def test_fine_tuned_on_an_item_finds_it_familiar(items, tmp_path):
    seen, unseen = (item_text(i) for i in items)
    # As initialised, a LoRA adapter changes nothing: the model against itself.
    same = MinKScorer(None, str(_adapter(tmp_path / "init", None)))
    assert same.deltas([seen, unseen]) == [0.0, 0.0]
    tuned = MinKScorer(None, str(_adapter(tmp_path / "tuned", seen)))
    d_seen, d_unseen = tuned.deltas([seen, unseen])
    assert d_seen > 1.0 and d_seen > d_unseen + 1.0
