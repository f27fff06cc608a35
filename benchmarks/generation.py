"""GSM8K generation speed: our continuously batched greedy generation against
lm-evaluation-harness 0.4's HF backend (its `generate_until`, at each batch size given; the
table's ratio is against its fastest), on the same 5-shot contexts, SmolLM2 fp32 on this CPU.
Reports seconds, generated tokens per second, and how many completions equal lm-eval's at its
first batch size (greedy in fp32: they should all be equal).

    .venv/bin/python benchmarks/generation.py --items 64 --batch-sizes 8,16,32 \\
        --peer-batch-sizes 1,8 --out benchmarks/results/generation-cpu-2core.md
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cpu_line() -> str:
    """The host's CPU model and whether it has bf16 instructions (timings differ by host)."""
    model, flags = platform.processor() or "unknown CPU", ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = line
                break
    except OSError:
        pass
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    bf16 = "with avx512_bf16" if "avx512_bf16" in flags else "without bf16 instructions"
    return f"{model}, {isa} {bf16}, {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=64)
    parser.add_argument("--batch-sizes", default="8,16,32", help="ours: rows decoded at once")
    parser.add_argument("--peer-batch-sizes", default="1,8", help="lm-eval's batch sizes")
    parser.add_argument("--data-root", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" /
                                             "generation-cpu-2core.md"))  # fmt: skip
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

    import torch
    from lm_eval.api.instance import Instance

    from platypus.eval.generate import Generator
    from platypus.eval.harness import harness_model
    from platypus.eval.protocols import LM_EVAL_04
    from platypus.eval.run import prepare
    from platypus.models import load_causal_lm, prepared_path
    from platypus.tasks.gsm8k import context

    items, drawn = prepare("gsm8k", Path(args.data_root), limit=args.items)
    contexts = [context(i, drawn.examples[i.id]) for i in items]
    rules = LM_EVAL_04.gsm8k
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    peer_sizes = [int(b) for b in args.peer_batch_sizes.split(",")]
    model, tokenizer = load_causal_lm()

    def tokens(texts: list[str]) -> int:
        return sum(len(tokenizer(t, add_special_tokens=False).input_ids) for t in texts)

    prompt_tokens = tokens(contexts)
    rows, outputs = [], {}
    for bs in peer_sizes:
        lm = harness_model(str(prepared_path()), bs)
        requests = [
            Instance("generate_until", {}, (c, {"until": list(rules.until), "do_sample": False}), n)
            for n, c in enumerate(contexts)
        ]
        t0 = time.perf_counter()
        texts = lm.generate_until(requests)
        seconds = time.perf_counter() - t0
        outputs[f"lm-eval bs={bs}"] = texts
        rows.append((f"lm-eval bs={bs}", seconds, tokens(texts)))
        del lm
    for bs in sizes:
        generator = Generator(model, tokenizer, torch.device("cpu"), batch_size=bs)
        t0 = time.perf_counter()
        texts = generator.generate(contexts, rules)
        seconds = time.perf_counter() - t0
        outputs[f"ours bs={bs}"] = texts
        rows.append((f"ours bs={bs}", seconds, tokens(texts)))

    reference = outputs[f"lm-eval bs={peer_sizes[0]}"]
    best_peer = min(s for label, s, _ in rows if label.startswith("lm-eval"))
    lines = [
        "# GSM8K generation: ours vs lm-eval 0.4's HF backend",
        "",
        f"Host: {cpu_line()}; torch threads {torch.get_num_threads()}.",
        "",
        f"`benchmarks/generation.py --items {args.items} --batch-sizes {args.batch_sizes} "
        f"--peer-batch-sizes {args.peer_batch_sizes}`: "
        f"{len(items)} GSM8K test items, 5-shot (lm-eval 0.4's draws, {prompt_tokens} prompt "
        f"tokens in all), SmolLM2-135M fp32; greedy, at most {rules.max_new_tokens} new "
        "tokens, stop strings " + ", ".join(f"`{u}`" for u in rules.until) + ". lm-eval "
        "runs first, its model loaded outside the timing; \"bs\" is lm-eval's batch size and "
        "ours the rows decoded at once.",
        "",
        "| engine | seconds | generated tokens | tokens/s | vs best lm-eval | "
        f"completions equal to lm-eval bs={peer_sizes[0]} |",
        "|---|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for label, seconds, n in rows:
        same = sum(a == b for a, b in zip(outputs[label], reference, strict=True))
        lines.append(
            f"| {label} | {seconds:.1f} | {n} | {n / seconds:.1f} | {best_peer / seconds:.2f}x "
            f"| {same}/{len(items)} |"
        )
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
