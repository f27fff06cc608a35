from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from platypus.compute import FORCE_PROBE_VAR
from platypus.config import BuildConfig, SourceConfig
from platypus.data.build import BuildResult, build
from platypus.data.sources import SOURCES
from process_guard import end_leftover_children  # noqa: F401  (autouse: registers the fixture)

# Every `auto` precision decision in the suite is the one a CPU that emulates bf16 makes (fp32),
# whatever CPU runs it, so no outcome depends on the host; the tests of those decisions force
# each verdict themselves. `PLATYPUS_FORCE_PROBE=bf16-fast bash scripts/test.sh` runs the
# whole suite as an AVX-512-bf16 host decides.
os.environ.setdefault(FORCE_PROBE_VAR, "bf16-slow")

REPO = Path(__file__).resolve().parents[1]
# PLATYPUS_SHARED_DATA: a copy of the parts a run needs, where ../shared does not travel (the GPU
# machine: scripts/gpu-check.sh).
SHARED_DATA = Path(os.environ.get("PLATYPUS_SHARED_DATA") or REPO / ".." / "shared" / "data")
SHARED_DATA = SHARED_DATA.resolve()
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    assert SHARED_DATA.is_dir(), f"the shared data must sit beside the repo: {SHARED_DATA}"
    return SHARED_DATA


def build_only(out: Path, name: str, data_root: Path = SHARED_DATA, seed: int = 42, **source):
    """Build one source alone through the real build path."""
    sources = {n: SourceConfig(enabled=False) for n in SOURCES}
    sources[name] = SourceConfig(**source)
    config = BuildConfig(data_root=str(data_root), output_dir=str(out), seed=seed, sources=sources)
    return build(config)


def stats_of(result: BuildResult, name: str):
    return next(s for s in result.sources if s.name == name)


def dropped(result: BuildResult, name: str) -> dict[str, int]:
    return {step["step"]: step["dropped"] for step in stats_of(result, name).steps}


def error_lines(err: str) -> list[str]:
    """A command's stderr as lines, without the progress bar transformers draws while loading a
    model (the lines a user would read as the command's own)."""
    return [line for line in err.strip().split("\n") if "Loading weights" not in line]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_rows(path: Path, rows) -> Path:
    """(id, instruction, output) triples as a jsonl training set in the build's schema."""
    records = [{"id": i, "instruction": q, "input": "", "output": a, "data_source": "x"}
               for i, q, a in rows]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def short_math_rows(tmp: Path, max_output: int, rows: int) -> Path:
    """Real MATH rows (through the build) with outputs under `max_output` characters, the
    first `rows` of them, as a jsonl training set."""
    result = build_only(tmp / "build", "math")
    kept = [r for r in read_jsonl(result.paths["jsonl"]) if len(r["output"]) < max_output]
    path = tmp / "math.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in kept[:rows]))
    return path


@pytest.fixture(scope="session")
def scibench_jsonl(tmp_path_factory) -> Path:
    """The real SciBench source built alone (a small set of real rows), shared by the tests
    that embed or dedup it."""
    out = tmp_path_factory.mktemp("scibench")
    return build_only(out, "scibench", path="scibench/original_2023-07-21").paths["jsonl"]


def random_llama(folder, tokenizer_dir, hidden: int, layers: int, intermediate: int):
    """A randomly initialised Llama with SmolLM2's tokenizer, saved as safetensors."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=max(hidden // 64, 2),
        num_key_value_heads=max(hidden // 128, 1),
        max_position_embeddings=2048,
        tie_word_embeddings=False,
    )
    import torch

    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory) -> Path:
    """A randomly initialised two-layer Llama (hidden 64) with SmolLM2's tokenizer: for the
    tests of training and merging mechanics, where a step of the real model would only cost
    time (the tests that show learning use SmolLM2 itself)."""
    from platypus.models import prepared_path

    folder = tmp_path_factory.mktemp("tiny-llama")
    random_llama(folder, prepared_path(), hidden=64, layers=2, intermediate=128)
    return folder


@pytest.fixture(scope="session")
def smollm2_pair():
    """SmolLM2 (fp32, CPU) twice, loaded once for the session: (model, tokenizer) for our
    scorer and lm-eval's HF model on the same weights; the task parity tests share them."""
    from platypus.eval.harness import harness_model
    from platypus.models import load_causal_lm, prepared_path

    model, tokenizer = load_causal_lm()
    return model, tokenizer, harness_model(str(prepared_path()))


def lm_eval_gold(task, doc) -> int:
    """lm-eval's gold index for a doc of one of its multiple-choice tasks (its
    process_results logic: a target string's place among the choices, -100 where it is none)."""
    gold, choices = task.doc_to_target(doc), task.doc_to_choice(doc)
    if isinstance(gold, str):
        return choices.index(gold) if gold in choices else -100
    return gold if gold < len(choices) else -100
