"""Summed next-token loss over response tokens, computing logits only where there is loss.

Wrapping the whole computation in one module keeps DDP/FSDP's forward hooks in the path, and
projecting only the response positions through the LM head avoids materialising
(batch x length x vocabulary) logits.
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
        hidden = base.get_decoder()(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            use_cache=False,  # with a cache, transformers would not detect packed sequences
        ).last_hidden_state
        where = loss_mask[:, :-1].bool()
        selected = hidden[:, :-1][where]
        targets = input_ids[:, 1:][where]
        logits = base.get_output_embeddings()(selected).float()
        return F.cross_entropy(logits, targets, reduction="sum"), targets.numel()
