"""Summed next-token loss over response tokens, computing logits only where there is loss.

Wrapping the whole computation in one module keeps DDP/FSDP's forward hooks in the path. The
logits come from the model's own forward with `logits_to_keep` set to the sequence positions
that predict a response token in some row of the batch, so the model applies its own
final-logit processing (Gemma2's soft-capping, Cohere's `logit_scale`, Granite's scaling)
while (batch x length x vocabulary) logits are never materialised: only (batch x positions
used x vocabulary), the positions of one row exactly when the batch is packed into one row.

With a `head_loss` (Liger's fused linear cross-entropy, `platypus.train.speed`) the model runs
up to its last hidden states and the LM head is applied inside that loss, only to the hidden
states of the predicted response tokens, chunk by chunk: no logits are held at all.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn


class ResponseLoss(nn.Module):
    def __init__(self, model: nn.Module, head_loss=None):
        super().__init__()
        self.model = model  # a PEFT model or a plain transformers causal LM
        # (head weight, hidden states, targets, head bias) -> summed loss; None: the model's
        # own logits
        self.head_loss = head_loss

    def forward(self, input_ids, loss_mask, attention_mask=None, position_ids=None):
        """(summed loss, number of predicted tokens)."""
        base = self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model
        where = loss_mask[:, :-1].bool()  # position t predicts token t + 1
        positions = where.any(dim=0).nonzero().squeeze(1)
        inputs = dict(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            use_cache=False,  # with a cache, transformers would not detect packed sequences
        )
        kept = where[:, positions]
        targets = input_ids[:, 1:][:, positions][kept]
        if self.head_loss is not None:
            hidden = base.get_decoder()(**inputs).last_hidden_state
            head = base.get_output_embeddings()
            chosen = hidden[:, positions][kept]
            return self.head_loss(head.weight, chosen, targets, head.bias), targets.numel()
        logits = base(**inputs, logits_to_keep=positions).logits
        return F.cross_entropy(logits[kept].float(), targets, reduction="sum"), targets.numel()
