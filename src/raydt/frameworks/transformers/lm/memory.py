"""Memory preflight for ``framework: transformers``: will the fine-tune fit each worker, before Ray starts?

The model is built from its config on PyTorch's meta device (``accelerate.init_empty_weights()`` +
``AutoModelForCausalLM.from_config``): shapes only, no weights read or allocated, so a 7B config counts in well under
a second. Parameters are counted on that model; LoRA's trainable parameters are counted from the shapes of the linear
layers it would wrap.

The rule, per worker (bytes; ``P`` all parameters, ``T`` trainable ones, ``N`` workers, ``b`` the per-worker batch
size, ``s`` maxSeqLen, ``h`` the hidden size, ``L`` the decoder layers, ``V`` the vocabulary):

- **weights** = ``4 * T + c * (P - T)``, ``c`` the bytes of the compute precision (4 for fp32, 2 for bf16/fp16).
  raydt's training loop keeps fp32 master weights for what it trains and autocasts the compute to bf16/fp16, so a
  full fine-tune holds ``4 * P`` whatever the precision (autocast's transient low-precision copies are not counted);
  a LoRA run loads the frozen base model in the compute precision (``c`` bytes per parameter) and keeps its
  adapters (and their master weights) in fp32. ``P`` includes the adapters, as PEFT counts them. QLoRA
  (``lora.bits`` 4 or 8): the base's linear weights but the output layer's take ``bits / 8`` bytes each
  (``in * out`` per layer; the quantization constants are not counted), the rest of the base ``c``.
- **gradients** = ``4 * T`` (fp32, one per trainable parameter).
- **optimizer** = ``8 * T`` (AdamW: two fp32 moments per trainable parameter).
- **FSDP** shards those three over the workers: each is divided by ``N`` (rounded up); DDP keeps a full copy on
  every worker. Activations are never divided: each worker runs its own batch.
- **activations** (an allowance, not a measurement) = ``b * s * h * c * A + 8 * b * s * V``, where
  ``A = 16 * L`` without gradient checkpointing (about 16 stored values per token and hidden unit per layer, which
  is Korthikanti et al.'s ``34 s b h`` bytes per layer at 16 bits, without the ``5 a s^2 b`` attention-score term
  that SDPA/flash attention does not store), or ``A = 2 * L + 16`` with it (each layer keeps its input, plus one
  layer's full activations while it is recomputed); the ``8 * b * s * V`` term is the fp32 logits and their
  gradient.
- **total** = weights + gradients + optimizer + activations.

A spec fits when the total is at most 90% of the worker's memory: 10% headroom for the CUDA context / the Python
process and framework runtime, the allocator's fragmentation, and the data pipeline's buffers.

LoRA's trainable parameters are counted as PEFT adds them: ``r * (in + out)`` for every targeted ``nn.Linear`` (or
GPT-2 style ``Conv1D``), no bias. ``targetModules`` is a list of module names or name suffixes (``"q_proj"`` matches
``model.layers.0.self_attn.q_proj``), a regular expression matched against the whole module name, or
``"all-linear"``: every linear layer but the output layer (``lm_head``), as PEFT does. ``r`` defaults to
:data:`DEFAULT_LORA_R` (8), ``targetModules`` to :data:`DEFAULT_TARGET_MODULES` (all-linear), as in the spec.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from raydt.frameworks.transformers.lm.counting import LinearLayer, ModelCount, ModelSource, count_parameters

Precision: TypeAlias = Literal["fp32", "bf16", "fp16"]
Strategy: TypeAlias = Literal["ddp", "fsdp"]

COMPUTE_BYTES: dict[str, int] = {"fp32": 4, "bf16": 2, "fp16": 2}
WEIGHT_BYTES = 4  # fp32 master weights of what is trained, whatever the compute precision
GRADIENT_BYTES = 4  # fp32 gradient per trainable parameter
OPTIMIZER_BYTES = 8  # AdamW: exp_avg + exp_avg_sq in fp32
ACTIVATION_VALUES_PER_LAYER = 16  # stored values per token x hidden unit per layer, no checkpointing
CHECKPOINTED_VALUES_PER_LAYER = 2  # the layer input kept per layer with gradient checkpointing
LOGITS_BYTES_PER_VOCAB = 8  # fp32 logits + their gradient, per token x vocabulary entry
HEADROOM = 0.9  # a spec fits when its total is at most this share of the worker's memory
DEFAULT_LORA_R = 8  # the spec's trainConfig.lora.r default
DEFAULT_TARGET_MODULES = "all-linear"


@dataclass(frozen=True)
class Lora:
    """The LoRA inputs the estimate needs: rank, target modules, and QLoRA's bits (None: not quantized)."""

    r: int
    target_modules: str | tuple[str, ...]
    bits: int | None = None

    @classmethod
    def of(cls, lora: Lora | Mapping[str, Any] | Any) -> Lora:
        """From the spec's ``lora`` dict (``r``, ``targetModules``, ``bits``), or an object with those attributes
        (``target_modules``), such as the spec model."""
        if isinstance(lora, Lora):
            return lora
        get = lora.get if isinstance(lora, Mapping) else lambda key, default=None: getattr(lora, key, default)
        r = int(get("r", DEFAULT_LORA_R))
        if r < 1:
            raise ValueError(f"lora.r must be at least 1, got {r}")
        targets = get("targetModules", None) or get("target_modules", None) or DEFAULT_TARGET_MODULES
        bits = get("bits", None)
        if bits not in (None, 4, 8):
            raise ValueError(f"lora.bits must be 4 or 8, not {bits!r}")
        return cls(r, targets if isinstance(targets, str) else tuple(str(t) for t in targets), bits)

    def describe(self) -> str:
        targets = self.target_modules if isinstance(self.target_modules, str) else ",".join(self.target_modules)
        return f"{'Q' if self.bits else ''}LoRA r={self.r} on {targets}" + (
            f" ({self.bits}-bit base)" if self.bits else ""
        )


#: what an estimate is computed from, besides the model (``Estimate.replace`` recomputes with some changed)
INPUTS = ("precision", "lora", "strategy", "workers", "batch_size", "max_seq_len", "gradient_checkpointing")


@dataclass(frozen=True)
class Estimate:
    """Parameters and per-worker bytes of one fine-tune, with the inputs they were computed for."""

    params: int
    trainable: int
    weights: int
    gradients: int
    optimizer: int
    activations: int
    total: int
    precision: Precision
    lora: Lora | None
    strategy: Strategy
    workers: int
    batch_size: int
    max_seq_len: int
    gradient_checkpointing: bool
    model: ModelCount = field(repr=False, compare=False)

    def describe(self) -> str:
        kind = self.lora.describe() if self.lora else "full fine-tune"
        run = f"{self.precision}, {self.strategy.upper()} x {self.workers}"
        batch = f"batch {self.batch_size} x {self.max_seq_len} tokens" + (
            ", gradient checkpointing" if self.gradient_checkpointing else ""
        )
        return (
            f"weights {gb_text(self.weights)} + gradients {gb_text(self.gradients)} + "
            f"optimizer {gb_text(self.optimizer)} "
            f"+ activations {gb_text(self.activations)} = {gb_text(self.total)} per worker ({_count(self.params)} "
            f"parameters, {_count(self.trainable)} trainable, {kind}, {run}, {batch})"
        )

    def replace(self, **changes: Any) -> Estimate:
        """This estimate recomputed with some inputs changed (``precision=``, ``lora=`` a dict or None, ...)."""
        inputs: dict[str, Any] = {name: getattr(self, name) for name in INPUTS}
        return estimate(self.model, **{**inputs, **changes})


def gb_text(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:.1f} GB" if n_bytes >= 1e9 or n_bytes == 0 else f"{n_bytes / 1e6:.0f} MB"


def _count(n: int) -> str:
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def lora_targets(model: ModelCount, lora: Lora) -> list[LinearLayer]:
    """The linear layers PEFT would wrap for ``lora`` (its matching rules: suffix list, full-name regex, all-linear)."""
    targets = lora.target_modules
    if isinstance(targets, str) and targets.lower() == "all-linear":
        chosen = [layer for layer in model.linears if layer.name != model.output_layer]
    elif isinstance(targets, str):
        chosen = [layer for layer in model.linears if re.fullmatch(targets, layer.name)]
    else:
        chosen = [
            layer
            for layer in model.linears
            if layer.name in targets or any(layer.name.endswith(f".{t}") for t in targets)
        ]
    if not chosen:
        raise ValueError(f"lora.targetModules {targets!r} matches no linear layer of the model")
    return chosen


def lora_trainable(model: ModelCount, lora: Lora) -> int:
    """LoRA's trainable parameters: ``r * (in + out)`` per targeted linear layer (A: r x in, B: out x r, no bias)."""
    return sum(lora.r * (layer.in_features + layer.out_features) for layer in lora_targets(model, lora))


def _activations(model: ModelCount, precision: str, batch_size: int, max_seq_len: int, checkpointing: bool) -> int:
    tokens = batch_size * max_seq_len
    values = (
        CHECKPOINTED_VALUES_PER_LAYER * model.num_layers + ACTIVATION_VALUES_PER_LAYER
        if checkpointing
        else ACTIVATION_VALUES_PER_LAYER * model.num_layers
    )
    return tokens * model.hidden_size * COMPUTE_BYTES[precision] * values + LOGITS_BYTES_PER_VOCAB * tokens * (
        model.vocab_size
    )


def estimate(
    model_source: ModelSource | ModelCount,
    *,
    precision: Precision = "fp32",
    lora: Mapping[str, Any] | Any | None = None,
    strategy: Strategy = "ddp",
    workers: int = 1,
    batch_size: int = 1,
    max_seq_len: int = 512,
    gradient_checkpointing: bool = False,
) -> Estimate:
    """Per-worker memory of fine-tuning ``model_source`` (the rule is in this module's docstring).

    ``lora`` is the spec's ``{r, targetModules, bits}`` (a dict, the spec's model or a :class:`Lora`; None: full
    fine-tune); ``batch_size`` is per worker.
    ``model_source`` may also be a :class:`ModelCount` already counted, which skips building the meta model.
    """
    model = model_source if isinstance(model_source, ModelCount) else count_parameters(model_source)
    if precision not in COMPUTE_BYTES:
        raise ValueError(f"precision must be one of {', '.join(COMPUTE_BYTES)}, not {precision!r}")
    if strategy not in ("ddp", "fsdp"):
        raise ValueError(f"strategy must be ddp or fsdp, not {strategy!r}")
    if min(workers, batch_size, max_seq_len) < 1:
        raise ValueError("workers, batch_size and max_seq_len must be at least 1")
    spec = Lora.of(lora) if lora is not None else None
    trainable = lora_trainable(model, spec) if spec else model.params
    params = model.params + (trainable if spec else 0)  # PEFT adds the adapters to the base model
    shards = workers if strategy == "fsdp" else 1
    frozen = params - trainable
    quantized = 0  # QLoRA: bitsandbytes quantizes the base's linear weights but the output layer's
    if spec and spec.bits:
        quantized = min(
            frozen, sum(x.in_features * x.out_features for x in model.linears if x.name != model.output_layer)
        )
    frozen_bytes = (
        COMPUTE_BYTES[precision] * (frozen - quantized) + (spec.bits if spec and spec.bits else 0) * quantized / 8
    )
    weights = math.ceil((WEIGHT_BYTES * trainable + frozen_bytes) / shards)
    gradients = math.ceil(GRADIENT_BYTES * trainable / shards)
    optimizer = math.ceil(OPTIMIZER_BYTES * trainable / shards)
    activations = _activations(model, precision, batch_size, max_seq_len, gradient_checkpointing)
    return Estimate(
        params=params,
        trainable=trainable,
        weights=weights,
        gradients=gradients,
        optimizer=optimizer,
        activations=activations,
        total=weights + gradients + optimizer + activations,
        precision=precision,
        lora=spec,
        strategy=strategy,
        workers=workers,
        batch_size=batch_size,
        max_seq_len=max_seq_len,
        gradient_checkpointing=gradient_checkpointing,
        model=model,
    )
