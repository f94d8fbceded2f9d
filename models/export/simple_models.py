"""The two trivial models: `identity` (echo) and Triton's quick-start `simple`.

They exist to exercise the server's plumbing (batching, tensor copies, error
paths) without model compute getting in the way, so they stay as cheap as a
TorchScript module can be.
"""

from typing import Tuple

import torch

from common import ModelSpec, TensorSpec


class Identity(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # A copy, not `x` itself: the server may reuse its input buffer after
        # the call, so the output must own its memory.
        return x.clone()


class Simple(torch.nn.Module):
    def forward(self, input0: torch.Tensor,
                input1: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return input0 + input1, input0 - input1


def build_identity() -> Tuple[torch.jit.ScriptModule, ModelSpec]:
    spec = ModelSpec(
        name="identity", max_batch_size=64,
        inputs=[TensorSpec("INPUT0", "TYPE_FP32", [-1])],
        outputs=[TensorSpec("OUTPUT0", "TYPE_FP32", [-1])],
        # No queue delay: a lone request runs at once, and under load batches
        # still grow while the instance is busy.
        dynamic_batching=True, max_queue_delay_us=0,
        # A copy takes microseconds: a lone request runs on the gRPC thread
        # that received it instead of crossing two thread hand-offs.
        parameters={"execute_inline_when_idle": "true"})
    return torch.jit.script(Identity().eval()), spec


def build_simple() -> Tuple[torch.jit.ScriptModule, ModelSpec]:
    spec = ModelSpec(
        name="simple", max_batch_size=8,
        inputs=[TensorSpec("INPUT0", "TYPE_INT32", [16]),
                TensorSpec("INPUT1", "TYPE_INT32", [16])],
        outputs=[TensorSpec("OUTPUT0", "TYPE_INT32", [16]),
                 TensorSpec("OUTPUT1", "TYPE_INT32", [16])])
    return torch.jit.script(Simple().eval()), spec
