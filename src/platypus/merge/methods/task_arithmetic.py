"""The task-arithmetic family, with mergekit's definitions (its GeneralizedTaskArithmeticMerge).

task_arithmetic: base + lambda * sum(w_i * (T_i - base)).
ties: deltas trimmed to the top `density` fraction by magnitude, weighted, a sign elected per
    entry by the sum, only deltas agreeing with it summed and divided by their weights.
dare_linear / dare_ties: deltas dropped at random with keep-probability `density` and rescaled
    to keep their L1 norm, then summed (linear) or sign-elected (ties). The randomness is a
    generator seeded from (seed, tensor name): reproducible and independent of tensor order.
breadcrumbs / breadcrumbs_ties: the largest `gamma` fraction of each delta (outliers) and the
    smallest are dropped, `density` kept, then summed (or sign-elected).
della / della_linear: DARE with keep-probabilities by magnitude rank within each row, from
    density - epsilon (smallest) to density + epsilon (largest), rescaled, then sign-elected
    and normalised (della) or summed (della_linear); `scale` is DELLA's lambda.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from platypus.errors import PlatypusError
from platypus.merge.methods.base import Parameter, TensorMerge, by_chunks, minus, taken, work
from platypus.merge.methods.selection import band_mask, inverse_permutation, top_k_mask

if TYPE_CHECKING:
    import torch

Sparsify = Literal["magnitude", "random", "magnitude_outliers", "della_magprune"]
RANDOM = {"random", "della_magprune"}  # the sparsifications that draw, from a seeded generator


class TaskArithmetic(TensorMerge):
    """One member of the family: how deltas are sparsified, whether signs are elected, and the
    defaults of `normalize` and `rescale` (mergekit registers the same four)."""

    needs_base = True

    def __init__(
        self,
        name: str,
        summary: str,
        sparsify: Sparsify | None,
        consensus: bool,
        normalize: bool,
        rescale: bool,
    ):
        self.name = name
        self.summary = summary
        self.sparsify = sparsify
        self.consensus = consensus
        params = [
            Parameter("weight", 1.0, per_model=True, help="the delta's weight"),
            Parameter("normalize", normalize, help="divide by the sum of the weights"),
            Parameter("scale", 1.0, mergekit="lambda", help="factor on the merged delta"),
            # mergekit stores its sign mask in int8 to save memory when set; ours are booleans
            # either way, so the result is the same: accepted so its configs read as they are
            Parameter("int8_mask", False, help="mergekit's memory option; no effect here"),
        ]
        if sparsify:
            params += [
                Parameter("density", 1.0, per_model=True, help="fraction of the delta kept"),
                Parameter("rescale", rescale, help="rescale kept deltas to their L1 norm"),
            ]
        if sparsify == "magnitude_outliers":
            params.append(
                Parameter("gamma", 0.01, per_model=True, help="fraction of largest deltas dropped")
            )
        if sparsify == "della_magprune":
            params.append(
                Parameter("epsilon", 0.15, per_model=True, help="keep-probability spread by rank")
            )
        if sparsify in RANDOM:
            params.append(Parameter("seed", 0, help="seeds the random drops"))
        self.parameters = tuple(params)

    def validate(self, config) -> None:
        super().validate(config)
        if self.sparsify != "della_magprune":
            return
        settings = self.settings(config)
        for m, density, eps in zip(
            config.models, settings["density"], settings["epsilon"], strict=True
        ):
            if 0 < density < 1 and not (0 < density - eps and density + eps < 1):
                raise PlatypusError(
                    f"{self.name}: {m.model}: density {density} +/- epsilon {eps} must lie "
                    "within (0, 1)"
                )

    def merge_tensor(self, name, base, tensors, settings: dict[str, Any]):
        n = len(tensors)
        return task_arithmetic(
            self,
            base,
            tensors,
            settings["weight"],
            settings.get("density", [1.0] * n),
            normalize=settings["normalize"],
            rescale=settings.get("rescale"),
            scale=settings["scale"],
            seed=settings.get("seed", 0),
            name=name,
            extra=settings.get("gamma") or settings.get("epsilon"),
            consume=True,  # the streaming loop's own list: each input freed once read
        )


TASK_ARITHMETIC = TaskArithmetic(
    "task_arithmetic", "base plus the weighted sum of the models' deltas", None, False, False, False
)
TIES = TaskArithmetic(
    "ties", "deltas trimmed by magnitude, signs elected", "magnitude", True, True, False
)
DARE_LINEAR = TaskArithmetic(
    "dare_linear", "deltas dropped at random and rescaled, summed", "random", False, False, True
)
DARE_TIES = TaskArithmetic(
    "dare_ties", "deltas dropped at random and rescaled, signs elected", "random", True, False, True
)
BREADCRUMBS = TaskArithmetic(
    "breadcrumbs", "largest and smallest deltas dropped, summed", "magnitude_outliers",
    False, False, False,
)  # fmt: skip
BREADCRUMBS_TIES = TaskArithmetic(
    "breadcrumbs_ties", "largest and smallest deltas dropped, signs elected",
    "magnitude_outliers", True, False, False,
)  # fmt: skip
DELLA = TaskArithmetic(
    "della", "deltas dropped at random, less often the larger, rescaled, signs elected",
    "della_magprune", True, True, True,
)  # fmt: skip
DELLA_LINEAR = TaskArithmetic(
    "della_linear", "deltas dropped at random, less often the larger, rescaled, summed",
    "della_magprune", False, False, True,
)  # fmt: skip
FAMILY = (
    TASK_ARITHMETIC, TIES, DARE_LINEAR, DARE_TIES, BREADCRUMBS, BREADCRUMBS_TIES, DELLA,
    DELLA_LINEAR,
)  # fmt: skip
_BY_NAME = {m.name: m for m in FAMILY}


def magnitude_mask(delta: torch.Tensor, density: float) -> torch.Tensor:
    """Keep the `density` fraction of entries largest in magnitude (at least one). A
    selection (kthvalue), not a sort, except where ties of a nonzero magnitude straddle the
    cut: there mergekit's (unstable) sort picks which survive, so the same sort runs (see
    selection.py); `delta * mask` is mergekit's in every case."""
    k = max(1, int(density * delta.numel()))
    return top_k_mask(delta, k)


def generator(seed: int, name: str, index: int) -> torch.Generator:
    """The generator of model `index`'s drops in tensor `name`: seeded from all three, so a
    merge is reproducible and independent of the order tensors are visited in."""
    import torch

    digest = hashlib.sha256(f"{seed}/{name}/{index}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little"))


def outlier_mask(delta: torch.Tensor, density: float, gamma: float) -> torch.Tensor:
    """Breadcrumbs: drop the `gamma` fraction largest in magnitude, then the smallest, keeping
    `density` (fewer outliers dropped where both cannot hold). Two selections (kthvalue) for
    the band's ends, mergekit's sort only where ties of a nonzero magnitude straddle one."""
    n = delta.numel()
    keep, top = int(density * n), int(gamma * n)
    bottom = max(0, n - keep - top)
    return band_mask(delta, bottom, keep)


def random_mask(shape, density: float, g) -> torch.Tensor:
    import torch

    return torch.bernoulli(torch.full(shape, density, dtype=torch.float32), generator=g)


def della_probabilities(delta: torch.Tensor, density: float, epsilon: float) -> torch.Tensor:
    """DELLA's keep-probability of each entry: its magnitude rank within its row (the whole
    tensor as one row if 1-d), mapped linearly onto [density - epsilon, density + epsilon]."""
    import torch

    rows = delta.reshape(1, -1) if delta.dim() < 2 else delta  # a scalar: one row of one
    # mergekit's argsort of the magnitudes (its ties), then each entry's place in it: the
    # inverse permutation by a scatter, equal to its second argsort (a permutation has no ties)
    ranks = inverse_permutation(rows.abs().argsort(dim=1), dim=1).to(rows.dtype) + 1
    low = ranks.min(dim=1, keepdim=True).values
    high = ranks.max(dim=1, keepdim=True).values
    normed = ((ranks - low) / (high - low)).clamp(0, 1)
    if bool((high == low).any()):  # a one-entry row (mergekit's 0/0): the band's middle
        normed = torch.where(high == low, 0.5, normed)
    return ((density - epsilon) + normed * 2 * epsilon).reshape(delta.shape)


def della_mask(delta: torch.Tensor, density: float, epsilon: float, g) -> torch.Tensor:
    import torch

    return torch.bernoulli(della_probabilities(delta, density, epsilon), generator=g)


# How each sparsification draws the mask of one delta: (delta, density, its per-model extra
# parameter (gamma, epsilon), a function returning the seeded generator) -> 0/1 mask.
SPARSIFIERS = {
    "magnitude": lambda delta, density, extra, rng: magnitude_mask(delta, density),
    "random": lambda delta, density, extra, rng: random_mask(delta.shape, density, rng()),
    "magnitude_outliers": lambda delta, density, gamma, rng: outlier_mask(delta, density, gamma),
    "della_magprune": lambda delta, density, eps, rng: della_mask(delta, density, eps, rng()),
}


# The sparsifications that select by magnitude (one core each). The models' deltas are
# sparsified in threads where the tensor is large enough for a thread to pay (PARALLEL entries)
# and all workers' selection temporaries (about four float32 copies of the tensor each) fit in
# THREAD_BYTES; otherwise one after another, so a large tensor's peak is one selection's.
SELECTIONS = {"magnitude", "magnitude_outliers"}
PARALLEL = 1 << 20
THREAD_BYTES = 256 << 20


def sparsify(
    spec: TaskArithmetic,
    base: torch.Tensor,
    tensor: torch.Tensor,
    density: float,
    *,
    rescale: bool,
    extra: float,
    rng,
    mask: torch.Tensor | None = None,
    own: bool = False,
) -> torch.Tensor:
    """One model's delta from `base`, sparsified by `spec`'s rule. `tensor`: in the work dtype
    (`taken`); `own`: it is this call's to overwrite (the delta is computed in its memory)."""
    delta = minus(tensor, base, own)
    del tensor
    if not spec.sparsify or density >= 1:
        return delta
    if density <= 0:
        return delta.mul_(0.0)  # delta * a zero mask, signed zeros as mergekit's
    if mask is None:
        mask = SPARSIFIERS[spec.sparsify](delta, density, extra, rng)
    # a boolean mask multiplies as 0/1 (the selections' masks are boolean: less memory)
    return l1_rescaled_(delta, mask) if rescale else delta.mul_(mask)


def l1_rescaled_(delta: torch.Tensor, mask: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """mergekit's L1 rescale, `(delta * mask) * (|delta|_1 / |delta * mask|_1)`, in `delta`'s
    memory: the same products and sums, one delta's memory instead of three."""
    before = delta.abs().sum()
    delta.mul_(mask)
    after = delta.abs().sum()
    if before < eps or after < eps:
        return delta
    return delta.mul_(before / after)


def combine(
    base: torch.Tensor,
    deltas: Sequence[torch.Tensor],
    weights: Sequence[float],
    *,
    consensus: bool,
    normalize: bool,
    scale: float,
) -> torch.Tensor:
    """base + the weighted deltas, signs elected where `consensus`, divided by the weights
    where `normalize`, times `scale`: mergekit's operations entry by entry, computed over
    slices of `CHUNK` entries (`by_chunks`) so the temporaries are a slice's, not a tensor's."""
    import torch

    dtype = base.dtype
    w = torch.tensor(list(weights), dtype=dtype).reshape(-1, 1)

    def merged(b: torch.Tensor, *ds: torch.Tensor) -> torch.Tensor:
        stacked = torch.stack(ds) * w
        if consensus:
            sign = stacked.sign()
            majority = (stacked.sum(dim=0) >= 0).to(dtype) * 2 - 1
            agree = (sign == majority).to(dtype)
            del sign
            mixed = (stacked * agree).sum(dim=0)
            divisor = (w * agree).sum(dim=0)
            divisor[divisor == 0] = 1
        else:
            mixed = stacked.sum(dim=0)
            divisor = w.sum(dim=0).expand_as(mixed).clone()
            divisor[divisor.abs() < 1e-8] = 1
        if normalize:
            mixed = mixed / divisor
        if scale != 1:
            mixed = mixed * scale
        return b + mixed

    return by_chunks(merged, base, *deltas)


def task_arithmetic(
    method: str | TaskArithmetic,
    base: torch.Tensor,
    tensors: list[torch.Tensor],
    weights: Sequence[float],
    densities: Sequence[float],
    *,
    normalize: bool | None = None,
    rescale: bool | None = None,
    scale: float = 1.0,
    seed: int = 0,
    name: str = "",
    masks: Sequence[torch.Tensor] | None = None,
    extra: Sequence[float] | None = None,
    consume: bool = False,
) -> torch.Tensor:
    """One tensor merged by `method` (a member of the family or its name); None for normalize
    or rescale is the method's default. `extra`: per model, breadcrumbs' gamma or della's
    epsilon (None: the method's default). `masks` replaces the masks (tests replay another
    tool's random draws through it). `consume`: `tensors` is the caller's list to empty (each
    entry is dropped and its memory reused for its delta as soon as it is read)."""
    import torch

    spec = _BY_NAME[method] if isinstance(method, str) else method
    defaults = spec.defaults
    normalize = defaults["normalize"] if normalize is None else normalize
    rescale = defaults.get("rescale", False) if rescale is None else rescale
    if extra is None:
        default = next((p.default for p in spec.parameters if p.name in ("gamma", "epsilon")), 0)
        extra = [default] * len(tensors)
    b = work(base)
    densities = list(densities)
    if len(densities) != len(tensors):
        raise ValueError(f"{len(tensors)} tensors, {len(densities)} densities")

    def sparsified(i: int) -> torch.Tensor:
        tensor, own = taken(tensors, i, consume)
        return sparsify(spec, b, tensor, densities[i], rescale=rescale, extra=extra[i],
                        rng=lambda: generator(seed, name, i), own=own,
                        mask=None if masks is None else masks[i])  # fmt: skip

    workers = min(len(tensors), torch.get_num_threads())
    threads = (spec.sparsify in SELECTIONS and masks is None and workers > 1
               and b.numel() >= PARALLEL and 16 * b.numel() * workers <= THREAD_BYTES)  # fmt: skip
    if threads:
        # A selection's sort (where a tie at a cut needs one) and kthvalue run on one core:
        # the models' deltas take one thread each: the same output, about half the time where
        # a second core is free (two 28M-entry argsorts: 3.4 s at once, 6.4 s in turn)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            deltas = list(pool.map(sparsified, range(len(tensors))))
    else:
        deltas = [sparsified(i) for i in range(len(tensors))]
    return combine(b, deltas, weights, consensus=spec.consensus, normalize=normalize,
                   scale=scale)  # fmt: skip
