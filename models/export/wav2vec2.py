"""wav2vec 2.0 base with a CTC head (fairseq / DeepLearningExamples layout).

16 kHz audio -> 7-layer conv feature encoder (one frame per 20 ms) ->
LayerNorm + projection -> convolutional positional embedding -> post-LN
transformer -> linear to 32 CTC classes (fairseq's letter vocabulary size).
Weights are seeded random: the server cares about shapes and cost, not text.
"""

import dataclasses
import math
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from common import ModelSpec, TensorSpec, float_type, torch_dtype


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


class ConvBlock(nn.Module):
    """Bias-free conv -> (GroupNorm on the first block only) -> GELU."""

    def __init__(self, d_in: int, d_out: int, kernel: int, stride: int,
                 group_norm: bool):
        super().__init__()
        self.conv = nn.Conv1d(d_in, d_out, kernel, stride=stride, bias=False)
        nn.init.kaiming_normal_(self.conv.weight)
        # "default" extractor mode: per-channel GroupNorm over time, layer 0.
        self.norm = (nn.GroupNorm(d_out, d_out) if group_norm
                     else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.norm(self.conv(x)))


class FeatureEncoder(nn.Module):
    def __init__(self, cfg: Wav2Vec2Config):
        super().__init__()
        blocks = []
        d_in = 1
        for i, (k, s) in enumerate(zip(cfg.conv_kernels, cfg.conv_strides)):
            blocks.append(ConvBlock(d_in, cfg.conv_channels, k, s, i == 0))
            d_in = cfg.conv_channels
        self.blocks = nn.ModuleList(blocks)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        x = audio.unsqueeze(1)              # [B, 1, N]
        for block in self.blocks:
            x = block(x)
        return x.transpose(1, 2)            # [B, T, C]


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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(x.transpose(1, 2))
        if self.trim > 0:
            h = h[:, :, :-self.trim]
        return F.gelu(h).transpose(1, 2)


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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[0], x.shape[1]
        q = self.q(x).view(b, t, self.n_heads, self.d_head).transpose(1, 2)
        k = self.k(x).view(b, t, self.n_heads, self.d_head).transpose(1, 2)
        v = self.v(x).view(b, t, self.n_heads, self.d_head).transpose(1, 2)
        scores = torch.matmul(q * self.scale, k.transpose(2, 3))
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.attn_norm(x + self.attn(x))
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

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """audio: [B, N] 16 kHz samples. Returns logits [B, T_frames, 32]."""
        x = self.projection(self.feature_norm(self.features(audio)))
        x = self.encoder_norm(x + self.pos_conv(x))
        for layer in self.layers:
            x = layer(x)
        return self.ctc_head(x)


def frames_for(n_samples: int, cfg: Wav2Vec2Config = CONFIGS["full"]) -> int:
    """Output frame count for n_samples of audio (no padding in any conv)."""
    n = n_samples
    for k, s in zip(cfg.conv_kernels, cfg.conv_strides):
        n = (n - k) // s + 1
    return n


def spec(dtype: str) -> ModelSpec:
    ft = float_type(dtype)
    return ModelSpec(
        name="wav2vec2", max_batch_size=8,
        inputs=[TensorSpec("AUDIO", ft, [-1])],
        outputs=[TensorSpec("LOGITS", ft, [-1, 32])],
        instance_count=1, dynamic_batching=True,
        preferred_batch_sizes=[4, 8], max_queue_delay_us=1000,
        # The feature encoder needs at least 400 samples; warm up on a full
        # batch of one-second clips.
        warmup=('    name: "one_second"\n    batch_size: 8\n'
                '    inputs {\n      key: "AUDIO"\n      value {\n'
                f'        data_type: {ft}\n        dims: [ 16000 ]\n'
                '        random_data: true\n      }\n    }'))


def build(size: str, dtype: str) -> Tuple[torch.jit.ScriptModule, ModelSpec]:
    torch.manual_seed(20240602)
    model = Wav2Vec2ForCTC(CONFIGS[size]).eval().to(torch_dtype(dtype))
    return torch.jit.script(model), spec(dtype)


def random_audio(batch: int, n_samples: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return 0.1 * torch.randn(batch, n_samples, generator=gen)
