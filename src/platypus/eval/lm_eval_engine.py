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
from contextlib import contextmanager
from pathlib import Path

from platypus.errors import PlatypusError
from platypus.eval.config import EvalConfig
from platypus.eval.results import ItemResult
from platypus.tasks import get_task
from platypus.tasks.schema import TaskItem

BACKENDS = ("hf", "vllm", "sglang")


@contextmanager
def no_git_describe():
    """lm-eval records the git commit of the working directory in its results by running
    `git describe` (`lm_eval.evaluator.get_git_commit_hash`), whose "fatal: not a git
    repository" reaches our stderr outside a repository. Our results do not use that field, so
    while we run the harness the function returns None without running git."""
    from lm_eval import evaluator

    original = evaluator.get_git_commit_hash
    evaluator.get_git_commit_hash = lambda: None
    try:
        yield
    finally:
        evaluator.get_git_commit_hash = original


def model_args(config: EvalConfig, policy) -> dict:
    """The backend's model arguments from the eval config and its resolved compute policy
    (`platypus.compute.Policy`): the model folder or hub id, the adapter (hf: `peft`, vllm:
    `lora_local_path`), device, dtype and batch size."""
    import torch

    from platypus.models import resolve_causal_lm

    # Explicit either way: the harness never asks on a terminal whether to run a folder's code
    # (a folder that ships some was refused, or recorded, when the engine was made).
    args: dict = {
        "pretrained": str(resolve_causal_lm(config.model)),
        "trust_remote_code": policy.trust_remote_code,
    }
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
        from platypus.models import resolve_causal_lm
        from platypus.models.remote_code import check_custom_code

        self.config = config
        self.policy = policy
        # Refused (or recorded, with the opt-in) before anything is scored or cached.
        policy.custom_code = check_custom_code(
            resolve_causal_lm(config.model), policy.trust_remote_code
        )
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

        with tempfile.TemporaryDirectory(prefix="platypus-lmeval-") as root, no_git_describe():
            names = get_task(task).export(Path(root), items, pool)
            out = simple_evaluate(
                model=self.lm,
                tasks=names,
                log_samples=True,
                task_manager=TaskManager(include_path=root),
                # as `prepare` drew the examples; None: the exported task's own number
                num_fewshot=self.config.num_fewshot,
            )
        samples = {name: sorted(out["samples"][name], key=lambda s: s["doc_id"]) for name in names}
        return get_task(task).from_harness(items, samples)
