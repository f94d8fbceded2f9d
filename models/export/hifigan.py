"""HiFi-GAN vocoder `hifigan` (NVIDIA DeepLearningExamples' generator V1).

80-band mel at 22,050 Hz / hop 256 -> audio: conv_pre (7) -> four stages of
leaky ReLU, transposed conv (rates 8, 8, 2, 2; kernels 16, 16, 4, 4; channels
halving from 512) and the mean of three ResBlock1s (kernels 11, 7, 3, each
dilations 1, 3, 5) -> leaky ReLU -> conv_post (7) -> tanh. The hyperparameters
are DLE's defaults (PyTorch/SpeechSynthesis/HiFiGAN/hifigan/arg_parser.py;
the layers as in its hifigan/models.py); `tiny` keeps the rates and kernels,
so the hop stays 256, with 32 initial channels. Weights are seeded random and
weight norm is folded into plain convs as DLE does before inference
(remove_weight_norm). DLE initialises every conv but conv_pre with
normal(0, 0.01) for training; untrained, that leaves audio made of the biases
alone (the same for every mel, to 1e-8), so here those convs draw
normal(0, 0.5 / sqrt(fan-in)) instead: audio that follows the mel, within
about +-0.3, short of tanh's saturation.

One deliberate difference: every conv, transposed conv and residual sum is
followed by a mask that zeroes each item past its valid length at that
resolution (frames x the rates so far). An item padded in a batch then sees
zeros past its end exactly where it alone sees the convs' zero padding, so
its audio does not depend on its neighbours; on an unpadded item the masks
are all ones.
"""

import dataclasses
import math
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from common import (SPEECH_MODEL_PARAMETERS, BatchInputSpec, BatchOutputSpec,
                    ModelSpec, PaddedCheck, TensorSpec, float_type,
                    torch_dtype)

LRELU_SLOPE = 0.1
SAMPLE_RATE = 22050
N_MEL_CHANNELS = 80
# The longest mel one request may carry: about 47.5 s of audio.
MAX_FRAMES = 4096


@dataclasses.dataclass
class HiFiGANConfig:
    upsample_rates: Sequence[int] = (8, 8, 2, 2)
    upsample_kernel_sizes: Sequence[int] = (16, 16, 4, 4)
    upsample_initial_channel: int = 512
    resblock_kernel_sizes: Sequence[int] = (11, 7, 3)
    resblock_dilation_sizes: Sequence[Sequence[int]] = (
        (1, 3, 5), (1, 3, 5), (1, 3, 5))

    @property
    def hop_length(self) -> int:
        hop = 1
        for rate in self.upsample_rates:
            hop *= rate
        return hop


CONFIGS = {
    "full": HiFiGANConfig(),
    "tiny": HiFiGANConfig(upsample_initial_channel=32),
}
HOP_LENGTH = CONFIGS["full"].hop_length
assert all(c.hop_length == HOP_LENGTH == 256 for c in CONFIGS.values())


def _padding(kernel: int, dilation: int) -> int:
    return (kernel * dilation - dilation) // 2


# Weight scale of the convs DLE initialises itself (see the module comment).
INIT_GAIN = 0.5


def _folded(conv: nn.Module, init: bool) -> nn.Module:
    """`conv` with weight norm, as DLE holds it, then with the weight norm
    removed: a plain conv computing the same. `init` draws its weight."""
    if init:
        w = conv.weight
        if isinstance(conv, nn.ConvTranspose1d):
            # [in, out, k]: each output sample sums in * k / stride taps.
            fan_in = w.shape[0] * w.shape[2] / conv.stride[0]
        else:
            fan_in = w.shape[1] * w.shape[2]
        nn.init.normal_(w, 0.0, INIT_GAIN / math.sqrt(fan_in))
    conv = nn.utils.weight_norm(conv)
    nn.utils.remove_weight_norm(conv)
    return conv


def time_mask(lengths: torch.Tensor, n_frames: int,
              dtype: torch.dtype) -> torch.Tensor:
    """[B, 1, n_frames], 1 at each item's first lengths[b] frames."""
    frames = torch.arange(n_frames, device=lengths.device)
    return (frames[None, :] < lengths[:, None]).unsqueeze(1).to(dtype)


class ResUnit(nn.Module):
    """One dilated conv and one plain conv of a ResBlock1, with its skip."""

    def __init__(self, channels: int, kernel: int, dilation: int):
        super().__init__()
        self.slope = LRELU_SLOPE
        self.conv1 = _folded(nn.Conv1d(
            channels, channels, kernel, 1, _padding(kernel, dilation),
            dilation), init=True)
        self.conv2 = _folded(nn.Conv1d(
            channels, channels, kernel, 1, _padding(kernel, 1)), init=True)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.leaky_relu(x, self.slope)) * mask
        h = self.conv2(F.leaky_relu(h, self.slope)) * mask
        return h + x


class ResBlock(nn.Module):
    def __init__(self, channels: int, kernel: int, dilations: Sequence[int]):
        super().__init__()
        self.units = nn.ModuleList([ResUnit(channels, kernel, d)
                                    for d in dilations])

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for unit in self.units:
            x = unit(x, mask)
        return x


class Stage(nn.Module):
    """Leaky ReLU, upsampling by `rate`, then the mean of the ResBlocks."""

    def __init__(self, cfg: HiFiGANConfig, i: int):
        super().__init__()
        rate = cfg.upsample_rates[i]
        kernel = cfg.upsample_kernel_sizes[i]
        channels = cfg.upsample_initial_channel // (2 ** (i + 1))
        self.rate = rate
        self.slope = LRELU_SLOPE
        # Output length exactly rate x input: (T-1)r - 2(k-r)/2 + k = rT.
        self.up = _folded(nn.ConvTranspose1d(
            channels * 2, channels, kernel, rate, padding=(kernel - rate) // 2),
            init=True)
        self.blocks = nn.ModuleList([
            ResBlock(channels, k, d) for k, d in zip(
                cfg.resblock_kernel_sizes, cfg.resblock_dilation_sizes)])

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> Tuple[
            torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.up(F.leaky_relu(x, self.slope))
        lengths = lengths * self.rate
        mask = time_mask(lengths, x.shape[2], x.dtype)
        x = x * mask
        total = torch.zeros_like(x)
        for block in self.blocks:
            total = total + block(x, mask)
        return total / float(len(self.blocks)), lengths, mask


class Generator(nn.Module):
    def __init__(self, cfg: HiFiGANConfig):
        super().__init__()
        self.hop_length = cfg.hop_length
        self.conv_pre = _folded(nn.Conv1d(
            N_MEL_CHANNELS, cfg.upsample_initial_channel, 7, 1, padding=3),
            init=False)
        self.stages = nn.ModuleList([
            Stage(cfg, i) for i in range(len(cfg.upsample_rates))])
        last = cfg.upsample_initial_channel // (2 ** len(cfg.upsample_rates))
        self.conv_post = _folded(nn.Conv1d(last, 1, 7, 1, padding=3),
                                 init=True)

    def forward(self, mel: torch.Tensor,
                mel_shape: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """mel: [B, 80, T], padded past each item's frames; mel_shape [B, 2]
        int64, each item's (80, frames) (BATCH_ITEM_SHAPE).

        Returns audio [B, T * 256] (zero past each item's samples) and
        audio_lengths [B, 1] int64 = frames * 256.
        """
        frames = mel_shape[:, 1].to(torch.long)
        mask = time_mask(frames, mel.shape[2], mel.dtype)
        x = self.conv_pre(mel * mask) * mask
        lengths = frames
        for stage in self.stages:
            x, lengths, mask = stage(x, lengths)
        # DLE's last activation uses leaky_relu's default slope.
        x = torch.tanh(self.conv_post(F.leaky_relu(x))) * mask
        return x.squeeze(1), (frames * self.hop_length).unsqueeze(1)


def spec(dtype: str) -> ModelSpec:
    """Mels of any length share a batch, padded with 0 (see below); the
    server passes each item's shape as MEL_SHAPE and cuts AUDIO back to its
    AUDIO_LENGTHS.

    The pad value never reaches a conv (the model zeroes the input past each
    item's frames), so any value would do; 0 is what an unpadded item's
    convs see past its end, and FastPitch's own mel is 0 past mel_lens.
    """
    ft = float_type(dtype)
    return ModelSpec(
        name="hifigan", max_batch_size=8,
        inputs=[TensorSpec("MEL", ft, [N_MEL_CHANNELS, -1], pad_value=0,
                           constraints={"min_length": 1,
                                        "max_length": MAX_FRAMES})],
        outputs=[TensorSpec("AUDIO", ft, [-1]),
                 TensorSpec("AUDIO_LENGTHS", "TYPE_INT64", [1])],
        batch_inputs=[BatchInputSpec("BATCH_ITEM_SHAPE", "MEL_SHAPE",
                                     "TYPE_INT64", "MEL")],
        batch_outputs=[BatchOutputSpec("BATCH_SCATTER_WITH_OUTPUT_LENGTHS",
                                       ["AUDIO"],
                                       source_output="AUDIO_LENGTHS")],
        instance_count=1, dynamic_batching=True, max_queue_delay_us=2000,
        parameters=dict(SPEECH_MODEL_PARAMETERS))


def build(size: str, dtype: str) -> Tuple[torch.jit.ScriptModule, ModelSpec]:
    torch.manual_seed(20240603)
    model = Generator(CONFIGS[size]).eval().to(torch_dtype(dtype))
    return torch.jit.script(model), spec(dtype)


def item_shape(mel: torch.Tensor) -> torch.Tensor:
    """mel_shape [B, 2] for a batch without padding."""
    return torch.tensor([list(mel.shape[1:])] * mel.shape[0],
                        dtype=torch.long)


def random_mel(frames: int, seed: int) -> torch.Tensor:
    """[1, 80, frames], roughly in FastPitch's output range."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(1, N_MEL_CHANNELS, frames, generator=gen) * 2.0 - 5.0


def padded_batch_check(model: torch.jit.ScriptModule,
                       mels: List[torch.Tensor]) -> PaddedCheck:
    """Runs each [1, 80, T] mel alone and all padded together.

    Each item's audio is compared over its own samples; its audio_lengths
    must be frames * 256 both ways.
    """
    longest = max(m.shape[2] for m in mels)
    batch = torch.zeros(len(mels), N_MEL_CHANNELS, longest, dtype=mels[0].dtype)
    for i, mel in enumerate(mels):
        batch[i, :, :mel.shape[2]] = mel[0]
    shapes = torch.tensor([[N_MEL_CHANNELS, m.shape[2]] for m in mels])
    with torch.inference_mode():
        alone = [model(m, item_shape(m)) for m in mels]
        audio, lengths = model(batch, shapes)
    check = PaddedCheck()
    frames = []
    for i, (mel, (single, single_lengths)) in enumerate(zip(mels, alone)):
        n = mel.shape[2] * HOP_LENGTH
        if int(single_lengths[0, 0]) != n or int(lengths[i, 0]) != n:
            check.failure = (f"item {i} audio_lengths {int(lengths[i, 0])} "
                             f"batched, {int(single_lengths[0, 0])} alone, "
                             f"{n} expected")
            return check
        check.add(audio[i, :n], single[0, :n])
        frames.append(mel.shape[2])
    check.note = f"frames {frames} equal"
    return check
