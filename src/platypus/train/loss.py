"""Summed next-token loss over response tokens, computing logits only where there is loss.

Wrapping the whole computation in one module keeps DDP/FSDP's forward hooks in the path. The
logits come from the model's own forward with `logits_to_keep` set to the sequence positions
that predict a response token in some row of the batch, so the model applies its own
final-logit processing (Gemma2's soft-capping, Cohere's `logit_scale`, Granite's scaling)
while (batch x length x vocabulary) logits are never materialised: only (batch x positions
used x vocabulary), the positions of one row exactly when the batch is packed into one row.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn


class ResponseLoss(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model  # a PEFT model or a plain transformers causal LM

    def forward(self, input_ids, loss_mask, attention_mask=None, position_ids=None):
        """(summed loss, number of predicted tokens)."""
        base = self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model
        where = loss_mask[:, :-1].bool()  # position t predicts token t + 1
        positions = where.any(dim=0).nonzero().squeeze(1)
        logits = base(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            use_cache=False,  # with a cache, transformers would not detect packed sequences
            logits_to_keep=positions,
        ).logits
        kept = where[:, positions]
        targets = input_ids[:, 1:][:, positions][kept]
        return F.cross_entropy(logits[kept].float(), targets, reduction="sum"), targets.numel()
