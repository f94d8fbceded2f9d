"""Shared helpers for the exporters: Triton config text, seeding, timing.

Each model module exposes `build(size, dtype)` returning a scripted module and
a `ModelSpec` describing its Triton config; this file turns the spec into
config.pbtxt text and keeps the writers free of formatting details.
"""

import dataclasses
import time
from typing import Callable, Dict, List, Optional, Sequence

import torch


@dataclasses.dataclass
class TensorSpec:
    name: str
    data_type: str        # Triton enum name, e.g. "TYPE_FP32".
    dims: Sequence[int]   # Excludes the batch dimension.
    # The model's own per-item shape when it differs from `dims` (Triton's
    # `reshape`), e.g. [] for a per-item scalar that clients see as [1].
    reshape: Optional[Sequence[int]] = None


@dataclasses.dataclass
class ModelSpec:
    name: str
    max_batch_size: int
    inputs: List[TensorSpec]
    outputs: List[TensorSpec]
    instance_count: int = 1
    # When false no dynamic_batching block is written and the two fields
    # below are ignored; when true each field is written if set.
    dynamic_batching: bool = False
    preferred_batch_sizes: Optional[Sequence[int]] = None
    max_queue_delay_us: Optional[int] = None
    # Triton instance kind: KIND_CPU or KIND_GPU.
    instance_kind: str = "KIND_CPU"
    # A `model_warmup` block's body (Triton text format), when the server's
    # default warm-up (ones, variable dims of 128) does not suit the model.
    warmup: Optional[str] = None
    # Triton `parameters` (string values), e.g. the server's
    # execute_inline_when_idle.
    parameters: Optional[Dict[str, str]] = None


def _tensor_block(tensors: List[TensorSpec]) -> str:
    items = []
    for t in tensors:
        dims = ", ".join(str(d) for d in t.dims)
        reshape = ""
        if t.reshape is not None:
            shape = ", ".join(str(d) for d in t.reshape)
            reshape = f"    reshape {{ shape: [ {shape} ] }}\n"
        items.append(
            "  {\n"
            f'    name: "{t.name}"\n'
            f"    data_type: {t.data_type}\n"
            f"    dims: [ {dims} ]\n"
            + reshape +
            "  }")
    return "[\n" + ",\n".join(items) + "\n]"


def render_config(spec: ModelSpec) -> str:
    """Returns config.pbtxt text in Triton's protobuf text format."""
    lines = [
        f'name: "{spec.name}"',
        'platform: "pytorch_libtorch"',
        f"max_batch_size: {spec.max_batch_size}",
        "input " + _tensor_block(spec.inputs),
        "output " + _tensor_block(spec.outputs),
        "instance_group [\n  {\n"
        f"    count: {spec.instance_count}\n    kind: {spec.instance_kind}\n  }}\n]",
    ]
    if spec.dynamic_batching:
        body = []
        if spec.preferred_batch_sizes:
            sizes = ", ".join(str(s) for s in spec.preferred_batch_sizes)
            body.append(f"  preferred_batch_size: [ {sizes} ]")
        if spec.max_queue_delay_us is not None:
            body.append(
                f"  max_queue_delay_microseconds: {spec.max_queue_delay_us}")
        lines.append("dynamic_batching {\n" + "\n".join(body) + "\n}")
    for key, value in sorted((spec.parameters or {}).items()):
        lines.append(f'parameters {{\n  key: "{key}"\n'
                     f'  value {{ string_value: "{value}" }}\n}}')
    if spec.warmup:
        lines.append("model_warmup [\n  {\n" + spec.warmup + "\n  }\n]")
    return "\n".join(lines) + "\n"


def float_type(dtype: str) -> str:
    return {"fp32": "TYPE_FP32", "fp16": "TYPE_FP16"}[dtype]


def torch_dtype(dtype: str) -> torch.dtype:
    return {"fp32": torch.float32, "fp16": torch.float16}[dtype]


def median_ms(fn: Callable[[], object], threads: int = 2,
              repeats: int = 20) -> float:
    """Median wall time of fn() in milliseconds on `threads` intra-op threads.

    Two threads mirrors the CPU budget the server gives one model instance.
    """
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            for _ in range(3):  # Warm up: the JIT profiles the first runs.
                fn()
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(old)
    times.sort()
    return 1000.0 * times[len(times) // 2]
