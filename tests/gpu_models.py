"""The models of the GPU check (tests/test_gpu.py, benchmarks/gpu.py), made where they run.

    python tests/gpu_models.py FOLDER [--from CONFIG_DIR] [--size gpu|cpu]

FOLDER/smollm2: SmolLM2-135M's architecture and tokenizer (from CONFIG_DIR, default the packaged
model's folder) with randomly initialised weights, where the packaged weights cannot travel (the
GPU machine takes 64 MiB with the tree; the GGUF alone is more). FOLDER/llama-1b: a ~1.2B Llama
(TinyLlama's shape, SmolLM2's tokenizer), randomly initialised; `--size cpu` makes it 4 layers of
hidden 256 for the CPU rehearsal. Seeded: the same weights every time. bf16 on disk.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# ~1.1B parameters before the embeddings (TinyLlama's shape): 22 layers, hidden 2048, GQA 4 KV.
LLAMA_1B = dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
                num_attention_heads=32, num_key_value_heads=4)  # fmt: skip
LLAMA_CPU = dict(hidden_size=256, intermediate_size=512, num_hidden_layers=4,
                 num_attention_heads=4, num_key_value_heads=2)  # fmt: skip


def make(folder: Path, source: Path, size: str = "gpu") -> dict[str, Path]:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, LlamaConfig

    made = {}
    device = "cuda" if torch.cuda.is_available() else "cpu"
    tokenizer = AutoTokenizer.from_pretrained(source)
    shapes = {"smollm2": None, "llama-1b": LLAMA_1B if size == "gpu" else LLAMA_CPU}
    for name, shape in shapes.items():
        out = folder / name
        made[name] = out
        if (out / "config.json").is_file() and any(out.glob("*.safetensors")):
            continue
        if shape is None:
            config = AutoConfig.from_pretrained(source)
        else:
            config = LlamaConfig(vocab_size=len(tokenizer), max_position_embeddings=4096,
                                 tie_word_embeddings=False, **shape)  # fmt: skip
        config.torch_dtype = torch.bfloat16
        torch.manual_seed(0)
        with torch.device(device):
            model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.bfloat16)
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
        del model
    return made


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--from", dest="source", type=Path, help="config + tokenizer folder")
    parser.add_argument("--size", choices=["gpu", "cpu"], default="gpu")
    args = parser.parse_args()
    if args.source is None:
        from platypus.models import prepared_path

        args.source = prepared_path()
    for name, path in make(args.folder, args.source, args.size).items():
        print(f"{name}: {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
