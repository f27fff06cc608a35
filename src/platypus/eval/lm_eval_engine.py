"""`platypus eval --engine lm-eval`: the same items scored by lm-evaluation-harness's own model
backends (`hf` here; `vllm` and `sglang` on GPU machines, where they scale past what our scorer
does), with results in our format: per-item log-likelihoods and metrics, the same cache, table
and clean/contaminated split.

The items are exported with each task's harness export (`Task.export`: local task YAMLs carrying
the harness's prompts), so both engines score exactly the same prompts; the parity tests check
that they give the same log-likelihoods.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from platypus.config import EvalConfig
from platypus.errors import PlatypusError
from platypus.eval.metrics import truthfulqa_mc1, truthfulqa_mc2
from platypus.eval.results import ItemResult
from platypus.tasks import get_task
from platypus.tasks.schema import TaskItem

BACKENDS = ("hf", "vllm", "sglang")


def model_args(config: EvalConfig, policy) -> dict:
    """The backend's model arguments from the eval config and its resolved compute policy
    (`platypus.compute.Policy`): the model folder or hub id, the adapter (hf: `peft`, vllm:
    `lora_local_path`), device, dtype and batch size."""
    import torch

    from platypus.models import resolve_causal_lm

    args: dict = {"pretrained": str(resolve_causal_lm(config.model))}
    low = policy.autocast or policy.dtype
    dtype = str(low).removeprefix("torch.") if low != torch.float32 else "float32"
    if config.lm_eval_backend == "hf":
        args |= {"dtype": dtype, "batch_size": config.batch_size, "device": policy.device}
        if config.adapter:
            args["peft"] = config.adapter
    else:
        args |= {"dtype": dtype}
        if config.adapter:
            if config.lm_eval_backend != "vllm":
                raise PlatypusError(
                    f"lm_eval_backend {config.lm_eval_backend!r} takes no adapter here; "
                    "merge it first (platypus merge) or use hf/vllm"
                )
            args |= {"enable_lora": True, "lora_local_path": config.adapter}
    return args


class LmEvalEngine:
    """Scores one task at a time through `lm_eval.simple_evaluate`; the harness model is
    loaded once."""

    def __init__(self, config: EvalConfig, policy):
        try:
            import lm_eval  # noqa: F401
        except ImportError:
            raise PlatypusError(
                "--engine lm-eval needs lm-evaluation-harness: pip install 'lm-eval>=0.4'"
            ) from None
        self.config = config
        self.policy = policy
        self._lm = None

    @property
    def lm(self):
        if self._lm is None:
            if self.config.lm_eval_backend not in BACKENDS:
                raise PlatypusError(f"lm_eval_backend must be one of {BACKENDS}")
            from lm_eval.api.registry import get_model

            cls = get_model(self.config.lm_eval_backend)
            self._lm = cls.create_from_arg_obj(model_args(self.config, self.policy))
        return self._lm

    def score_task(self, task: str, items: list[TaskItem], pool) -> list[ItemResult]:
        from lm_eval import simple_evaluate
        from lm_eval.tasks import TaskManager

        with tempfile.TemporaryDirectory(prefix="platypus-lmeval-") as root:
            names = get_task(task).export(Path(root), items, pool)
            out = simple_evaluate(
                model=self.lm,
                tasks=names,
                log_samples=True,
                task_manager=TaskManager(include_path=root),
            )
        samples = {name: sorted(out["samples"][name], key=lambda s: s["doc_id"]) for name in names}
        return _item_results(task, items, samples)


def _lls(sample: dict) -> list[float]:
    return [float(r[0][0]) for r in sample["resps"]]


def _item_results(task: str, items: list[TaskItem], samples: dict) -> list[ItemResult]:
    """The harness's per-sample output in our per-item form."""
    if task == "truthfulqa_mc":
        out = []
        for item, a, b in zip(items, samples["pl_tqa_mc1"], samples["pl_tqa_mc2"], strict=True):
            mc1, mc2 = _lls(a), _lls(b)
            metrics = {"mc1": truthfulqa_mc1(mc1), "mc2": truthfulqa_mc2(mc2, item.mc2_labels)}
            out.append(ItemResult(item.id, mc1, metrics, extra_lls=mc2))
        return out
    if len(samples) == 1:  # one harness task holds all items, in order
        rows = next(iter(samples.values()))
    else:  # one harness task per subject, items of each in order
        by_name = {name: iter(rows) for name, rows in samples.items()}
        rows = [next(by_name[f"pl_mmlu_{item.subject}"]) for item in items]
    if len(rows) != len(items):
        raise PlatypusError(f"lm-eval returned {len(rows)} samples for {len(items)} {task} items")
    out = []
    for item, row in zip(items, rows, strict=True):
        metrics = {m: float(row[m]) for m in ("acc", "acc_norm") if m in row}
        out.append(ItemResult(item.id, _lls(row), metrics))
    return out
