"""LoRA fine-tuning: Alpaca-formatted examples, response-only loss, PEFT adapters."""
