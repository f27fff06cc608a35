"""Response-only loss on every architecture family we claim: equal to the model's own loss
over full logits on the same mask (so final-logit processing such as Gemma2's soft-capping or
Cohere's logit scale is applied), and a few LoRA steps lower it."""

import pytest
import torch
import torch.nn.functional as F
import transformers

from platypus.train.loss import ResponseLoss

SMALL = dict(vocab_size=128, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128)  # fmt: skip
FAMILIES = {
    "llama": ("LlamaConfig", "LlamaForCausalLM", {}),
    "mistral": ("MistralConfig", "MistralForCausalLM", {}),
    "qwen2": ("Qwen2Config", "Qwen2ForCausalLM", {}),
    "qwen3": ("Qwen3Config", "Qwen3ForCausalLM", {"head_dim": 16}),
    "gemma2": ("Gemma2Config", "Gemma2ForCausalLM",
               {"head_dim": 16, "final_logit_softcapping": 3.0}),
    "gemma3": ("Gemma3TextConfig", "Gemma3ForCausalLM",
               {"head_dim": 16, "final_logit_softcapping": 3.0}),
    "phi3": ("Phi3Config", "Phi3ForCausalLM", {"pad_token_id": 0}),
    "cohere": ("CohereConfig", "CohereForCausalLM", {"logit_scale": 0.5}),
}  # fmt: skip


def tiny(family: str):
    config_name, model_name, extra = FAMILIES[family]
    config = getattr(transformers, config_name)(**SMALL | extra)
    config._attn_implementation = "eager"
    torch.manual_seed(0)
    return getattr(transformers, model_name)(config).eval()


def batch():
    """Two padded rows with response masks at different positions."""
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(3, 128, (2, 24), generator=g)
    attention = torch.ones_like(ids)
    attention[1, 18:] = 0
    mask = torch.zeros_like(ids)
    mask[0, 10:24] = 1
    mask[1, 6:18] = 1
    return ids, mask, attention


def own_loss(model, ids, mask, attention):
    """The model's full logits (with whatever it does after the LM head), on the same mask."""
    logits = model(input_ids=ids, attention_mask=attention).logits[:, :-1].float()
    where = mask[:, :-1].bool()
    return F.cross_entropy(logits[where], ids[:, 1:][where], reduction="sum")


@pytest.mark.parametrize("family", list(FAMILIES))
def test_response_loss_equals_the_models_own_loss(family):
    model = tiny(family)
    ids, mask, attention = batch()
    with torch.no_grad():
        ours, n = ResponseLoss(model)(ids, mask, attention)
        theirs = own_loss(model, ids, mask, attention)
    assert n == int(mask[:, :-1].sum())
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_a_few_lora_steps_lower_the_loss(family):
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(r=8, lora_alpha=16, target_modules="all-linear")
    model = get_peft_model(tiny(family), lora)
    loss = ResponseLoss(model).train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-2)
    ids, mask, attention = batch()
    losses = []
    for _ in range(8):
        total, n = loss(ids, mask, attention)
        (total / n).backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(float(total / n))
    assert losses[-1] < 0.9 * losses[0], losses
