"""The order of training: which examples form each optimizer step, micro-batch and process.

The whole plan follows from the seed and the examples' lengths, so every process computes the
same plan, single- and multi-process runs see the same global batches, and a resumed run
continues exactly where it stopped (the plan is recomputed, not stored).
"""

from __future__ import annotations

import math
import random

import torch

from platypus.train.examples import Example

MEGABATCH = 50  # length grouping sorts within windows of this many global batches (as HF does)


def plan_steps(
    lengths: list[int], global_batch: int, epochs: float, seed: int, batching: str
) -> list[list[int]]:
    """Example indices per optimizer step. `batching`: random, length_grouped or packed (the
    last two group similar lengths so micro-batches waste little padding or pack tightly)."""
    rng = random.Random(seed)
    order: list[int] = []
    for _ in range(math.ceil(epochs)):
        epoch = list(range(len(lengths)))
        rng.shuffle(epoch)
        order += epoch
    order = order[: max(1, round(epochs * len(lengths)))]
    if batching != "random":
        window = global_batch * MEGABATCH
        order = [
            i
            for start in range(0, len(order), window)
            for i in sorted(order[start : start + window], key=lambda i: -lengths[i])
        ]
    steps = [order[s : s + global_batch] for s in range(0, len(order), global_batch)]
    if batching != "random":
        rng.shuffle(steps)
    return steps


def micro_batches(step: list[int], lengths: list[int], micro: int, world: int) -> list[list[int]]:
    """The step's examples, longest first, cut into micro-batches; micro-batch j belongs to
    process j % world. Every process gets the same number (some may be empty)."""
    ordered = sorted(step, key=lambda i: (-lengths[i], i))
    chunks = [ordered[s : s + micro] for s in range(0, len(ordered), micro)]
    per_rank = math.ceil(len(chunks) / world)
    return chunks + [[] for _ in range(per_rank * world - len(chunks))]


def collate(examples: list[Example], pad_id: int, packed: bool) -> dict[str, torch.Tensor]:
    """Model inputs and a loss mask (1 where the next token is a response token to learn).

    packed: one row, examples back to back with positions restarting at 0 and no attention
    mask, which transformers turns into a block-diagonal causal mask (no cross-example
    attention). Otherwise right-padded rows with an attention mask.
    """
    if packed:
        ids = [t for e in examples for t in e.ids]
        positions = [p for e in examples for p in range(len(e.ids))]
        targets = [_targets(e) for e in examples]
        return {
            "input_ids": torch.tensor([ids]),
            "position_ids": torch.tensor([positions]),
            "loss_mask": torch.tensor([[m for t in targets for m in t]]),
        }
    width = max(len(e.ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(examples), width), dtype=torch.long)
    loss_mask = torch.zeros((len(examples), width), dtype=torch.long)
    for r, e in enumerate(examples):
        ids[r, : len(e.ids)] = torch.tensor(e.ids)
        attention[r, : len(e.ids)] = 1
        loss_mask[r, : len(e.ids)] = torch.tensor(_targets(e))
    return {"input_ids": ids, "attention_mask": attention, "loss_mask": loss_mask}


def _targets(e: Example) -> list[int]:
    """Position t predicts token t+1: it carries loss when token t+1 is in a learned span. The
    last position predicts nothing inside the example."""
    learned = [0] * len(e.ids)
    for start, end in e.spans:
        learned[start:end] = [1] * (end - start)
    return learned[1:] + [0]
