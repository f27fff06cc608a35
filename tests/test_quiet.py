"""The default path prints no third-party noise: no bitsandbytes kernel-download warning (on
CPUs with AVX-512 bf16 it came with every command), no peft FutureWarning on a QLoRA setup, and
counts read as English ("1 step")."""

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO

pytest.importorskip("bitsandbytes")


def test_a_qlora_step_prints_no_third_party_warning(tiny_llama, tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"id": f"r{i}", "instruction": f"Add {i} and 3.",
                                        "input": "", "output": str(i + 3), "data_source": "t"})
                            + "\n" for i in range(4)))  # fmt: skip
    argv = [sys.executable, "-m", "platypus", "train", "--model", str(tiny_llama), "--input",
            str(rows), "--output-dir", str(tmp_path / "t"), "--max-steps", "1", "--no-bf16",
            "--set", "val_size=0", "--set", "micro_batch_size=2", "--set", "global_batch_size=2",
            "--set", "compute.quantization=4bit"]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=REPO,
                          env=dict(os.environ, HF_HUB_OFFLINE="1"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "gemm_4bit_forward" not in proc.stderr and "kernels-community" not in proc.stderr
    assert "FutureWarning" not in proc.stderr
    assert "trained 1 step on" in proc.stdout, proc.stdout
    # off a terminal, no load bar's carriage-return frames in the log
    assert "Loading weights" not in proc.stderr and "\r" not in proc.stderr, proc.stderr[-500:]
