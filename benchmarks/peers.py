"""What the training benchmarks (train.py on the CPU, gpu.py on a GPU) hand the peer trainers:
our exact token ids, as HF Trainer's labelled rows with their padded collation and as TRL's
completion-masked rows, and the Platypus hyper-parameters in TrainingArguments' terms, so that
only the trainer differs; and what they read back from a peer's run."""

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


def peer_args(steps: int, bf16: bool, use_cpu: bool) -> dict:
    """The Platypus hyper-parameters in TrainingArguments' terms (shared by Trainer and TRL)."""
    return dict(per_device_train_batch_size=4, gradient_accumulation_steps=4,
                learning_rate=4e-4, lr_scheduler_type="cosine",
                warmup_steps=min(100, int(0.2 * steps)), num_train_epochs=1, bf16=bf16,
                use_cpu=use_cpu, logging_steps=1, save_strategy="no", report_to=[], seed=42,
                disable_tqdm=True)  # fmt: skip


def peer_result(trainer, examples, seconds: float) -> dict:
    """Tokens/s over the real tokens trained on, steps and the last logged loss of a run."""
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return {"tokens_per_s": sum(len(e.ids) for e in examples) / seconds,
            "train_seconds": seconds, "steps": trainer.state.global_step,
            "final_loss": losses[-1] if losses else None}  # fmt: skip
