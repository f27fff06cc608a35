"""What the training benchmarks (train.py on the CPU, gpu.py on a GPU) hand the peer trainers:
our exact token ids, as HF Trainer's labelled rows with their padded collation and as TRL's
completion-masked rows, so that only the trainer differs."""

from __future__ import annotations


def trainer_rows(examples) -> list[dict]:
    """HF Trainer: the ids with labels -100 over the prompt (loss on the response only)."""
    return [{"input_ids": e.ids, "labels": [-100] * e.prompt_len + e.ids[e.prompt_len :]}
            for e in examples]  # fmt: skip


def padded_collate(pad_id: int):
    """Right-padded batches of `trainer_rows` with an attention mask."""
    import torch

    def collate(batch):
        width = max(len(b["input_ids"]) for b in batch)
        pad = lambda x, v: x + [v] * (width - len(x))  # noqa: E731
        return {
            "input_ids": torch.tensor([pad(b["input_ids"], pad_id) for b in batch]),
            "labels": torch.tensor([pad(b["labels"], -100) for b in batch]),
            "attention_mask": torch.tensor([pad([1] * len(b["input_ids"]), 0) for b in batch]),
        }

    return collate


def completion_rows(examples) -> list[dict]:
    """TRL's SFTTrainer: the ids with a completion mask (completion-only loss)."""
    return [{"input_ids": e.ids, "completion_mask": [0] * e.prompt_len + [1] * e.response_tokens}
            for e in examples]  # fmt: skip
