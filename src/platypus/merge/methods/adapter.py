"""Adapter methods: a LoRA delta (scale * B @ A) added to one model's weights.

adapter: into the base it was trained on (PEFT's merge_and_unload).
transplant: onto another fine-tune of that base (Platypus), refused unless the two share
    architecture, shapes and vocabulary and the delta is small next to the weights
    (`max_delta_ratio`); `force` applies it anyway.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from platypus.errors import PlatypusError
from platypus.merge.methods.base import MergeMethod, Parameter

if TYPE_CHECKING:
    from platypus.merge.config import MergeConfig


class AdapterMerge(MergeMethod):
    name = "adapter"
    summary = "LoRA adapter into its base"
    uses_adapter = True
    min_models = max_models = 0  # `models` is not read
    parameters: tuple[Parameter, ...] = ()  # `force` (the merge's own field) overrides checks
    target_role = "base"

    def validate(self, config: MergeConfig) -> None:
        if not config.adapter:
            raise PlatypusError(f"merge method {self.name!r} needs `adapter`")

    def _target(
        self, config: MergeConfig, base_name: str | None
    ) -> tuple[Path, dict | None, Path | None]:
        """The folder the delta lands on, the config of the adapter's base where it is another
        model (to compare with the target's), and the adapter's base folder where it is at hand
        (to compare weights the adapter saved with it)."""
        from platypus.merge.folders import model_folder

        target = model_folder(base_name, "base_model")
        return target, None, target

    def _limit(self, settings: dict) -> float:
        # The size limit guards transplants; an adapter on its own base is what it was trained as.
        return float("inf")

    def run(self, config: MergeConfig, out: Path) -> tuple[Path, dict]:
        from platypus.hashing import file_sha256
        from platypus.merge.folders import model_config, out_dtype, prepare_output, weight_hashes
        from platypus.merge.lora import check, load_adapter
        from platypus.merge.references import open_folder
        from platypus.merge.tensor_writer import StreamWriter
        from platypus.merge.tensors import TensorInfo
        from platypus.progress import progress

        settings = self.settings(config)
        adapter = load_adapter(config.adapter)
        base_name = config.base_model or trained_base(adapter.folder, adapter.config)
        target_folder, base_config, base_folder = self._target(config, base_name)
        # a hub cache snapshot's files are links into its blobs: read as the model's own
        target = open_folder(target_folder)
        base = target if base_folder == target_folder else base_folder and open_folder(base_folder)
        limit = self._limit(settings)
        compat = check(adapter, target, model_config(target_folder), base_config, limit, base)
        if self.name == "adapter":
            compat.problems += _other_base(adapter.folder, target_folder)
            compat.ok = not compat.problems
        if not compat.ok and not config.force:
            raise PlatypusError(
                f"refusing to apply {adapter.folder} to {target_folder}: "
                + "; ".join(compat.problems)
                + " (force: true applies it anyway)"
            )
        prepare_output(out)
        entries = [
            TensorInfo(n, out_dtype(config.dtype, i), i.shape) for n, i in target.info.items()
        ]
        writer = StreamWriter(out, entries, config.max_shard_bytes)
        changed = adapter.names
        for e in progress(entries, desc=f"merge ({self.name})", unit=" tensors", disable=None):
            t = target.get(e.name)
            if e.name in changed:
                t = t.float() + adapter.delta(e.name)
            writer.write(e.name, t.to(e.dtype))
        writer.close()
        weights = adapter.folder / "adapter_model.safetensors"
        card = {
            "inputs": [
                {
                    "role": "adapter",
                    "path": str(adapter.folder),
                    "sha256": {weights.name: file_sha256(weights)},
                },
                {
                    "role": self.target_role,
                    "path": str(target_folder),
                    "sha256": weight_hashes(target_folder, target),
                },
            ],
            "adapter": adapter.summary() | {"base": base_name},
            "compatibility": compat.summary(),
        }
        return target_folder, card


def trained_base(adapter_folder: Path, adapter_config: dict) -> str | None:
    """The base an adapter was trained on, as a folder here where there is one. Its
    adapter_config.json names the base's hub id where it has one (so the adapter loads wherever
    it is pushed: platypus.model_cards.link_adapter_to_hub); the local folder it was trained
    from is in platypus' own record beside it, used while it is still there. Else the hub
    cache's copy of the revision the config names, else what the config names."""
    import json

    from platypus.train.run_files import BASE_RECORD

    try:
        recorded = json.loads((adapter_folder / BASE_RECORD).read_text())["base_model"]
    except (OSError, ValueError, KeyError, TypeError):
        recorded = None
    if isinstance(recorded, str) and Path(recorded).is_dir():
        return recorded
    named, revision = adapter_config.get("base_model_name_or_path"), adapter_config.get("revision")
    if isinstance(named, str) and isinstance(revision, str) and not Path(named).exists():
        from huggingface_hub import try_to_load_from_cache

        try:
            cached = try_to_load_from_cache(named, "config.json", revision=revision)
        except ValueError:  # not a repository id after all
            cached = None
        if isinstance(cached, str):
            return str(Path(cached).parent)
    return named


def _other_base(adapter_folder: Path, target_folder: Path) -> list[str]:
    """Shapes can agree while the weights differ (another fine-tune of the same architecture):
    an adapter trained here records its base's weights hash, which must be the target's."""
    import json

    from platypus.hashing import weights_fingerprint
    from platypus.train.run_files import BASE_RECORD

    record = adapter_folder / BASE_RECORD
    try:
        trained_on = json.loads(record.read_text())["weights_fingerprint"]
    except (OSError, ValueError, KeyError, TypeError):
        return []  # an adapter from elsewhere: nothing recorded to compare
    here = weights_fingerprint(target_folder)
    if trained_on == here:
        return []
    return [
        f"the adapter was trained on base weights {trained_on[:16]}, {target_folder} has "
        f"{here[:16]} (another model of the same shapes; method 'transplant' is for that)"
    ]


class Transplant(AdapterMerge):
    name = "transplant"
    summary = "LoRA adapter onto another fine-tune of its base"
    parameters = (Parameter("max_delta_ratio", 0.5, help="refuse a larger ||delta|| / ||W||"),)
    target_role = "target"

    def validate(self, config: MergeConfig) -> None:
        super().validate(config)
        if not config.target_model:
            raise PlatypusError(
                "merge method 'transplant' needs `target_model` (the fine-tune "
                "the adapter is moved onto)"
            )

    def _target(
        self, config: MergeConfig, base_name: str | None
    ) -> tuple[Path, dict | None, Path | None]:
        from platypus.merge.folders import model_config, model_folder
        from platypus.models import resolve_causal_lm

        target = model_folder(config.target_model, "target_model")
        base_folder = Path(resolve_causal_lm(base_name)) if base_name else None
        if not (base_folder and base_folder.is_dir()):
            return target, None, None
        has_weights = any(base_folder.glob("*.safetensors"))
        return target, model_config(base_folder), base_folder if has_weights else None

    def _limit(self, settings: dict) -> float:
        return settings["max_delta_ratio"]


ADAPTER = AdapterMerge()
TRANSPLANT = Transplant()
