"""wav2vec 2.0 base with a CTC head (fairseq / DeepLearningExamples layout).

16 kHz audio -> 7-layer conv feature encoder (one frame per 20 ms) ->
LayerNorm + projection -> convolutional positional embedding -> post-LN
transformer -> linear to 32 CTC classes (fairseq's letter vocabulary size).
Weights are seeded random: the server cares about shapes and cost, not text.

forward(audio, audio_lengths) takes a padded batch and each item's sample
count, as the server's variable-length batching supplies them. Padding is
masked wherever it would leak into real frames, so an item's logits over its
own frames do not depend on what it was batched with: the input and every
conv block's output are zeroed past the item's valid length, the first
block's GroupNorm takes its statistics over valid frames only, the positional
conv sees zeros there, and attention ignores padded keys. On an unpadded item
every mask is all ones and the graph computes what an unmasked one would, up
to float rounding.
"""

import dataclasses
import math
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from common import (SPEECH_MODEL_PARAMETERS, BatchInputSpec, BatchOutputSpec,
                    ModelSpec, PaddedCheck, TensorSpec, float_type,
                    plain_triton, torch_dtype)


@dataclasses.dataclass
class Wav2Vec2Config:
    conv_channels: int = 512
    conv_kernels: Sequence[int] = (10, 3, 3, 3, 3, 2, 2)
    conv_strides: Sequence[int] = (5, 2, 2, 2, 2, 2, 2)
    d_model: int = 768
    n_layers: int = 12
    n_heads: int = 12
    d_ffn: int = 3072
    pos_conv_kernel: int = 128
    pos_conv_groups: int = 16
    n_classes: int = 32


CONFIGS = {
    "full": Wav2Vec2Config(),
    # Same kernels and strides, so frame counts match the full model.
    "tiny": Wav2Vec2Config(conv_channels=64, d_model=64, n_layers=2,
                           n_heads=4, d_ffn=256, pos_conv_kernel=16,
                           pos_conv_groups=4),
}


def conv_lengths(lengths: torch.Tensor, kernel: int,
                 stride: int) -> torch.Tensor:
    """Valid output frames of an unpadded conv for `lengths` valid inputs.

    Output frame t reads inputs [t * stride, t * stride + kernel), so it is
    valid when all of those are; fewer than `kernel` inputs give no frame.
    """
    out = torch.div(lengths - kernel, stride, rounding_mode="floor") + 1
    return out.clamp(min=0)


def time_mask(lengths: torch.Tensor, n_frames: int) -> torch.Tensor:
    """[B, n_frames] bool, true at each item's first lengths[b] frames."""
    frames = torch.arange(n_frames, device=lengths.device)
    return frames[None, :] < lengths[:, None]


class MaskedGroupNorm(nn.Module):
    """GroupNorm with one group per channel, over each item's valid frames.

    Same parameters and eps as nn.GroupNorm(channels, channels). Statistics
    are taken in fp32: a 35 s clip has ~112k frames here, whose sum of squares
    overflows fp16.
    """

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, mask: torch.Tensor,
                counts: torch.Tensor) -> torch.Tensor:
        # x: [B, C, T]; mask: [B, 1, T] 0/1; counts: [B] valid frames.
        h = x.float()
        m = mask.float().transpose(1, 2)                  # [B, T, 1]
        n = counts.clamp(min=1).float()[:, None, None]
        # Masked sums over time as [B, C, T] x [B, T, 1] products: this is
        # the largest activation of the model, and a product reads it once
        # without writing a masked copy.
        mean = torch.bmm(h, m) / n
        centered = h - mean
        var = torch.bmm(centered * centered, m) / n
        scale = torch.rsqrt(var + self.eps) * self.weight.float()[None, :,
                                                                  None]
        h = torch.addcmul(self.bias.float()[None, :, None], centered, scale)
        return h.to(x.dtype)


class NoNorm(nn.Module):
    """Stands in for MaskedGroupNorm on the blocks that have none."""

    def forward(self, x: torch.Tensor, mask: torch.Tensor,
                counts: torch.Tensor) -> torch.Tensor:
        return x


class ConvBlock(nn.Module):
    """Bias-free conv -> (GroupNorm on the first block only) -> GELU.

    Frames past each item's valid length are zero on the way out.
    """

    def __init__(self, d_in: int, d_out: int, kernel: int, stride: int,
                 group_norm: bool):
        super().__init__()
        self.kernel = kernel
        self.stride = stride
        self.conv = nn.Conv1d(d_in, d_out, kernel, stride=stride, bias=False)
        nn.init.kaiming_normal_(self.conv.weight)
        # "default" extractor mode: per-channel GroupNorm over time, layer 0.
        self.norm = MaskedGroupNorm(d_out) if group_norm else NoNorm()

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> Tuple[
            torch.Tensor, torch.Tensor]:
        # x: [B, C_in, N], zero past lengths [B].
        h = self.conv(x)
        lengths = conv_lengths(lengths, self.kernel, self.stride)
        mask = time_mask(lengths, h.shape[2]).unsqueeze(1).to(h.dtype)
        h = F.gelu(self.norm(h, mask, lengths)) * mask
        return h, lengths


class FeatureEncoder(nn.Module):
    def __init__(self, cfg: Wav2Vec2Config):
        super().__init__()
        blocks = []
        d_in = 1
        for i, (k, s) in enumerate(zip(cfg.conv_kernels, cfg.conv_strides)):
            blocks.append(ConvBlock(d_in, cfg.conv_channels, k, s, i == 0))
            d_in = cfg.conv_channels
        self.blocks = nn.ModuleList(blocks)

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Tuple[
            torch.Tensor, torch.Tensor]:
        """Returns (features [B, T, C] zero past each item, frames [B])."""
        mask = time_mask(lengths, audio.shape[1]).to(audio.dtype)
        x = (audio * mask).unsqueeze(1)     # [B, 1, N]
        for block in self.blocks:
            x, lengths = block(x, lengths)
        return x.transpose(1, 2), lengths


class PositionalConv(nn.Module):
    """Grouped conv over time; weight norm is folded into a plain conv."""

    def __init__(self, d_model: int, kernel: int, groups: int):
        super().__init__()
        self.conv = nn.Conv1d(d_model, d_model, kernel, padding=kernel // 2,
                              groups=groups)
        nn.init.normal_(self.conv.weight, 0.0,
                        math.sqrt(4.0 / (kernel * d_model)))
        nn.init.zeros_(self.conv.bias)
        # An even kernel with padding k/2 yields one extra frame; drop it.
        self.trim = 1 if kernel % 2 == 0 else 0

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # x: [B, T, D]; mask: [B, T, 1] 0/1. Padded frames are zero going in,
        # as past the end of an unpadded item, and coming out.
        h = self.conv((x * mask).transpose(1, 2))
        if self.trim > 0:
            h = h[:, :, :-self.trim]
        return F.gelu(h).transpose(1, 2) * mask


class SelfAttention(nn.Module):
    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.n_heads = n_heads
        self.d_head = d_model // n_heads
        self.scale = self.d_head ** -0.5
        self.q = nn.Linear(d_model, d_model)
        self.k = nn.Linear(d_model, d_model)
        self.v = nn.Linear(d_model, d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor,
                key_bias: torch.Tensor) -> torch.Tensor:
        # key_bias: [B, 1, 1, T], -inf at padded frames so that no query
        # attends to them, 0 elsewhere.
        b, t = x.shape[0], x.shape[1]
        q = self.q(x).view(b, t, self.n_heads, self.d_head).transpose(1, 2)
        k = self.k(x).view(b, t, self.n_heads, self.d_head).transpose(1, 2)
        v = self.v(x).view(b, t, self.n_heads, self.d_head).transpose(1, 2)
        scores = torch.matmul(q * self.scale, k.transpose(2, 3)) + key_bias
        ctx = torch.matmul(scores.softmax(dim=-1), v)
        return self.out(ctx.transpose(1, 2).reshape(b, t, -1))


class TransformerLayer(nn.Module):
    """Post-LN layer, as in the base model (layer_norm_first=False)."""

    def __init__(self, d_model: int, n_heads: int, d_ffn: int):
        super().__init__()
        self.attn = SelfAttention(d_model, n_heads)
        self.attn_norm = nn.LayerNorm(d_model)
        self.fc1 = nn.Linear(d_model, d_ffn)
        self.fc2 = nn.Linear(d_ffn, d_model)
        self.final_norm = nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor,
                key_bias: torch.Tensor) -> torch.Tensor:
        x = self.attn_norm(x + self.attn(x, key_bias))
        return self.final_norm(x + self.fc2(F.gelu(self.fc1(x))))


class Wav2Vec2ForCTC(nn.Module):
    def __init__(self, cfg: Wav2Vec2Config):
        super().__init__()
        self.features = FeatureEncoder(cfg)
        self.feature_norm = nn.LayerNorm(cfg.conv_channels)
        self.projection = nn.Linear(cfg.conv_channels, cfg.d_model)
        self.pos_conv = PositionalConv(cfg.d_model, cfg.pos_conv_kernel,
                                       cfg.pos_conv_groups)
        self.encoder_norm = nn.LayerNorm(cfg.d_model)
        self.layers = nn.ModuleList([
            TransformerLayer(cfg.d_model, cfg.n_heads, cfg.d_ffn)
            for _ in range(cfg.n_layers)])
        self.ctc_head = nn.Linear(cfg.d_model, cfg.n_classes)
        # BERT-style init for the transformer side, as fairseq does.
        for module in [self.projection, self.ctc_head] + [
                m for layer in self.layers for m in layer.modules()
                if isinstance(m, nn.Linear)]:
            nn.init.normal_(module.weight, 0.0, 0.02)
            nn.init.zeros_(module.bias)

    def forward(self, audio: torch.Tensor,
                audio_lengths: torch.Tensor) -> Tuple[torch.Tensor,
                                                      torch.Tensor]:
        """audio: [B, N] 16 kHz samples, padded past audio_lengths [B, 1].

        Returns logits [B, T, 32] (zero past each item's frames) and frames
        [B, 1] int64, the number of valid logit frames of each item.
        """
        features, frames = self.features(audio, audio_lengths.reshape(-1))
        valid = time_mask(frames, features.shape[1])
        mask = valid.unsqueeze(2).to(features.dtype)
        x = self.projection(self.feature_norm(features))
        x = self.encoder_norm(x + self.pos_conv(x, mask))
        key_bias = torch.zeros_like(mask).squeeze(2).masked_fill(
            ~valid, float("-inf"))[:, None, None, :]
        for layer in self.layers:
            x = layer(x, key_bias)
        return self.ctc_head(x) * mask, frames.unsqueeze(1)


def full_lengths(audio: torch.Tensor) -> torch.Tensor:
    """audio_lengths [B, 1] for a batch without padding."""
    return torch.full((audio.shape[0], 1), audio.shape[1], dtype=torch.long,
                      device=audio.device)


class Wav2Vec2Unpadded(nn.Module):
    """Takes audio alone, every item its full length (plain Triton batching).

    Same outputs as the model it wraps, so clients do not tell them apart.
    """

    def __init__(self, model: Wav2Vec2ForCTC):
        super().__init__()
        self.model = model

    def forward(self, audio: torch.Tensor) -> Tuple[torch.Tensor,
                                                    torch.Tensor]:
        return self.model(audio, full_lengths(audio))


def frames_for(n_samples: int, cfg: Wav2Vec2Config = CONFIGS["full"]) -> int:
    """Logit frames for n_samples of audio: the model's `frames` output.

    Zero below 400 samples (the feature encoder's receptive field, 25 ms).
    """
    n = n_samples
    for k, s in zip(cfg.conv_kernels, cfg.conv_strides):
        n = max(0, (n - k) // s + 1)
    return n


# The first frame needs 400 samples; 35 s bounds one request's memory.
MIN_SAMPLES = 400
MAX_SAMPLES = 35 * 16000


def spec(dtype: str) -> ModelSpec:
    """Variable-length batching: clips of any length share a batch.

    The server pads AUDIO with zeros (up to a few sizes per octave, at most
    1/16 more, so that oneDNN sees few shapes), passes each item's sample
    count as AUDIO_LENGTHS and cuts LOGITS back to each item's FRAMES.
    """
    ft = float_type(dtype)
    return ModelSpec(
        name="wav2vec2", max_batch_size=16,
        inputs=[TensorSpec(
            "AUDIO", ft, [-1], pad_value=0, bucket_fraction=0.0625,
            constraints={"min_length": MIN_SAMPLES,
                         "max_length": MAX_SAMPLES, "finite": True})],
        outputs=[TensorSpec("LOGITS", ft, [-1, 32]),
                 TensorSpec("FRAMES", "TYPE_INT64", [1])],
        batch_inputs=[BatchInputSpec("BATCH_ELEMENT_COUNT", "AUDIO_LENGTHS",
                                     "TYPE_INT64", "AUDIO")],
        batch_outputs=[BatchOutputSpec("BATCH_SCATTER_WITH_OUTPUT_LENGTHS",
                                       ["LOGITS"], source_output="FRAMES")],
        instance_count=1, dynamic_batching=True,
        preferred_batch_sizes=[4, 8, 16], max_queue_delay_us=5000,
        parameters=dict(SPEECH_MODEL_PARAMETERS),
        # Warm up on a full batch of one-second clips, a typical utterance
        # chunk (the server's default would be 400-sample clips).
        warmup=('    name: "one_second"\n    batch_size: 16\n'
                '    inputs {\n      key: "AUDIO"\n      value {\n'
                f'        data_type: {ft}\n        dims: [ 16000 ]\n'
                '        random_data: true\n      }\n    }'))


def _model(size: str, dtype: str) -> Wav2Vec2ForCTC:
    torch.manual_seed(20240602)
    return Wav2Vec2ForCTC(CONFIGS[size]).eval().to(torch_dtype(dtype))


def build(size: str, dtype: str) -> Tuple[torch.jit.ScriptModule, ModelSpec]:
    return torch.jit.script(_model(size, dtype)), spec(dtype)


def build_plain_triton(size: str, dtype: str) -> Tuple[
        torch.jit.ScriptModule, ModelSpec]:
    """The same weights behind forward(audio), with a Triton-only config."""
    model = Wav2Vec2Unpadded(_model(size, dtype)).eval()
    return torch.jit.script(model), plain_triton(spec(dtype))


def random_audio(batch: int, n_samples: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return 0.1 * torch.randn(batch, n_samples, generator=gen)


def padded_batch_check(model: torch.jit.ScriptModule) -> PaddedCheck:
    """Runs 16000 and 23456 samples alone and padded together.

    Each item's logits are compared over its own frames, and its frames
    output must equal frames_for() both ways.
    """
    clips = [random_audio(1, 16000, seed=11), random_audio(1, 23456, seed=12)]
    longest = max(c.shape[1] for c in clips)
    batch = torch.zeros(len(clips), longest)
    for i, clip in enumerate(clips):
        batch[i, :clip.shape[1]] = clip[0]
    lengths = torch.tensor([[c.shape[1]] for c in clips])
    with torch.inference_mode():
        alone = [model(c, full_lengths(c)) for c in clips]
        logits, frames = model(batch, lengths)
    check = PaddedCheck()
    counts = []
    for i, (clip, (single, single_frames)) in enumerate(zip(clips, alone)):
        n = frames_for(clip.shape[1])
        if int(single_frames[0, 0]) != n or int(frames[i, 0]) != n:
            check.failure = (f"item {i} frames {int(frames[i, 0])} batched, "
                             f"{int(single_frames[0, 0])} alone, {n} expected")
            return check
        check.add(logits[i, :n], single[0, :n])
        counts.append(n)
    check.note = f"frames {counts} equal"
    return check
