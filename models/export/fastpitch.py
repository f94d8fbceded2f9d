"""FastPitch text-to-mel inference graph (NVIDIA DeepLearningExamples layout).

Structure and full-size hyperparameters follow the FastPitch paper and NVIDIA's
PyTorch implementation: symbol embedding -> FFT encoder -> duration, pitch
and energy predictors -> length regulator -> FFT decoder -> mel projection.
Weights are seeded random; only the duration bias is calibrated so outputs
have a realistic number of frames per symbol, which is what the server's
batching and memory sizing care about.

One deliberate difference from the reference: every conv stack re-applies the
padding mask between its convolutions. Without it, padded positions hold
bias/LayerNorm values that leak into the last real positions through the
kernel, and an item's output would depend on what it was batched with.
"""

import dataclasses
import math
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import nn

from common import (SPEECH_MODEL_PARAMETERS, BatchOutputSpec, ModelSpec,
                    PaddedCheck, TensorSpec, float_type, torch_dtype)


@dataclasses.dataclass
class FastPitchConfig:
    n_symbols: int = 148
    padding_idx: int = 0
    d_model: int = 384          # symbols_embedding_dim; also FFT width.
    n_mel_channels: int = 80
    in_fft_layers: int = 6
    out_fft_layers: int = 6
    n_heads: int = 1
    d_head: int = 64
    conv_inner: int = 1536      # FFT conv feed-forward filter size.
    conv_kernel: int = 3
    predictor_filters: int = 256
    predictor_kernel: int = 3
    predictor_layers: int = 2
    pitch_emb_kernel: int = 3
    energy_emb_kernel: int = 3
    max_duration: int = 75      # Frames per symbol cap, as in the reference.


CONFIGS = {
    "full": FastPitchConfig(),
    "tiny": FastPitchConfig(d_model=64, in_fft_layers=2, out_fft_layers=2,
                            d_head=32, conv_inner=128, predictor_filters=64),
}

# Trained FastPitch models average roughly 5-6 mel frames per input symbol.
TARGET_FRAMES_PER_SYMBOL = 5.5


class SinusoidalPositions(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, length: int, like: torch.Tensor) -> torch.Tensor:
        # Computed in fp32 each call: fp16 loses the phase of large positions,
        # and there are no weights here to store.
        inv_freq = 1.0 / (10000.0 ** (
            torch.arange(0, self.dim, 2, device=like.device).float()
            / self.dim))
        pos = torch.arange(length, device=like.device).float()
        angles = pos[:, None] * inv_freq[None, :]
        return torch.cat([angles.sin(), angles.cos()], dim=1)[None].to(
            like.dtype)


class SelfAttention(nn.Module):
    """Post-LN multi-head self-attention with padded keys masked out."""

    def __init__(self, d_model: int, n_heads: int, d_head: int):
        super().__init__()
        self.n_heads = n_heads
        self.d_head = d_head
        self.scale = 1.0 / math.sqrt(d_head)
        self.qkv = nn.Linear(d_model, 3 * n_heads * d_head)
        self.out = nn.Linear(n_heads * d_head, d_model, bias=False)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[0], x.shape[1]
        qkv = self.qkv(x).view(b, t, 3, self.n_heads, self.d_head)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)   # Each [B, H, T, Dh].
        scores = torch.matmul(q, k.transpose(2, 3)) * self.scale
        scores = scores.masked_fill(~valid[:, None, None, :], float("-inf"))
        ctx = torch.matmul(scores.softmax(dim=-1), v)
        ctx = ctx.transpose(1, 2).reshape(b, t, self.n_heads * self.d_head)
        return self.norm(x + self.out(ctx))


class ConvFeedForward(nn.Module):
    """Post-LN conv1d -> ReLU -> conv1d block of an FFT layer."""

    def __init__(self, d_model: int, d_inner: int, kernel: int):
        super().__init__()
        self.conv1 = nn.Conv1d(d_model, d_inner, kernel, padding=kernel // 2)
        self.conv2 = nn.Conv1d(d_inner, d_model, kernel, padding=kernel // 2)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # mask: [B, 1, T] here, channels-first like the convs.
        h = F.relu(self.conv1(x.transpose(1, 2))) * mask
        h = self.conv2(h).transpose(1, 2)
        return self.norm(x + h)


class FFTLayer(nn.Module):
    def __init__(self, cfg: FastPitchConfig):
        super().__init__()
        self.attn = SelfAttention(cfg.d_model, cfg.n_heads, cfg.d_head)
        self.ff = ConvFeedForward(cfg.d_model, cfg.conv_inner,
                                  cfg.conv_kernel)

    def forward(self, x: torch.Tensor, mask: torch.Tensor,
                valid: torch.Tensor) -> torch.Tensor:
        x = self.attn(x, valid) * mask
        return self.ff(x, mask.transpose(1, 2)) * mask


class FFTransformer(nn.Module):
    """Positional encoding plus a stack of FFT layers; used on both sides."""

    def __init__(self, cfg: FastPitchConfig, n_layers: int):
        super().__init__()
        self.positions = SinusoidalPositions(cfg.d_model)
        self.layers = nn.ModuleList([FFTLayer(cfg) for _ in range(n_layers)])

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        # x: [B, T, D]; valid: [B, T] bool.
        mask = valid.unsqueeze(2).to(x.dtype)
        x = x + self.positions(x.shape[1], x) * mask
        for layer in self.layers:
            x = layer(x, mask, valid)
        return x


class ConvReLUNorm(nn.Module):
    def __init__(self, d_in: int, d_out: int, kernel: int):
        super().__init__()
        self.conv = nn.Conv1d(d_in, d_out, kernel, padding=kernel // 2)
        self.norm = nn.LayerNorm(d_out)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)
        return self.norm(h) * mask


class TemporalPredictor(nn.Module):
    """Per-symbol scalar regressor (log-duration, pitch or energy)."""

    def __init__(self, d_in: int, filters: int, kernel: int, n_layers: int):
        super().__init__()
        dims = [d_in] + [filters] * n_layers
        self.layers = nn.ModuleList([
            ConvReLUNorm(dims[i], dims[i + 1], kernel)
            for i in range(n_layers)])
        self.fc = nn.Linear(filters, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = x * mask
        for layer in self.layers:
            h = layer(h, mask)
        return (self.fc(h) * mask).squeeze(2)   # [B, T]


def regulate_length(enc: torch.Tensor,
                    durations: torch.Tensor) -> Tuple[torch.Tensor,
                                                      torch.Tensor]:
    """Repeats enc[b, i] durations[b, i] times; pads to the longest item.

    Returns (frames [B, T_mel, D] zero past each item's length, lengths [B]).
    Frame t of an item comes from the first symbol whose cumulative duration
    exceeds t, which a sorted search over the cumulative sums finds directly.
    """
    lengths = durations.sum(dim=1)
    ends = durations.cumsum(dim=1).contiguous()
    n_frames = int(lengths.max().item())
    frames = torch.arange(n_frames, device=enc.device)
    frames = frames[None, :].expand(enc.shape[0], n_frames).contiguous()
    source = torch.searchsorted(ends, frames, right=True)
    source = source.clamp(max=enc.shape[1] - 1)   # Only hit by padding.
    out = enc.gather(1, source.unsqueeze(2).expand(-1, -1, enc.shape[2]))
    frame_valid = frames < lengths[:, None]
    return out * frame_valid.unsqueeze(2).to(out.dtype), lengths


class FastPitch(nn.Module):
    def __init__(self, cfg: FastPitchConfig):
        super().__init__()
        self.padding_idx = cfg.padding_idx
        self.max_duration = cfg.max_duration
        self.embedding = nn.Embedding(cfg.n_symbols, cfg.d_model,
                                      padding_idx=cfg.padding_idx)
        self.encoder = FFTransformer(cfg, cfg.in_fft_layers)

        def predictor() -> TemporalPredictor:
            return TemporalPredictor(cfg.d_model, cfg.predictor_filters,
                                     cfg.predictor_kernel,
                                     cfg.predictor_layers)
        self.duration_predictor = predictor()
        self.pitch_predictor = predictor()
        self.energy_predictor = predictor()
        self.pitch_embedding = nn.Conv1d(
            1, cfg.d_model, cfg.pitch_emb_kernel,
            padding=cfg.pitch_emb_kernel // 2)
        self.energy_embedding = nn.Conv1d(
            1, cfg.d_model, cfg.energy_emb_kernel,
            padding=cfg.energy_emb_kernel // 2)
        self.decoder = FFTransformer(cfg, cfg.out_fft_layers)
        self.projection = nn.Linear(cfg.d_model, cfg.n_mel_channels)

    def encode(self, text: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor,
                                                  torch.Tensor]:
        """Returns (encoder output, symbol mask [B, T, 1], durations [B, T])."""
        valid = text != self.padding_idx
        mask = valid.unsqueeze(2).to(self.projection.weight.dtype)
        enc = self.encoder(self.embedding(text), valid)
        log_dur = self.duration_predictor(enc, mask)
        durations = torch.clamp(torch.round(torch.exp(log_dur) - 1.0),
                                0.0, float(self.max_duration))
        durations = durations * mask.squeeze(2)
        # An utterance must produce at least one frame; give an all-zero
        # item's first symbol one frame rather than emit an empty mel.
        empty = (durations.sum(dim=1) == 0).to(durations.dtype)
        durations = torch.cat([durations[:, :1] + empty[:, None],
                               durations[:, 1:]], dim=1)
        return enc, mask, durations

    def forward(self, text: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor,
                                                   torch.Tensor, torch.Tensor,
                                                   torch.Tensor]:
        """text: [B, T] int64 symbol ids, 0-padded on the right.

        Returns, in the order of NVIDIA's Triton deployment (OUTPUT__0..4):
        mel [B, n_mel, T_mel] (zero past each item's length), mel_lens [B]
        int64, durations [B, T] float (whole frames per symbol, 0 at
        padding), pitch [B, 1, T] and energy [B, T] (normalised units).
        """
        enc, mask, durations = self.encode(text)
        pitch = self.pitch_predictor(enc, mask)
        enc = enc + self.pitch_embedding(pitch.unsqueeze(1)).transpose(1, 2)
        energy = self.energy_predictor(enc, mask)
        enc = enc + self.energy_embedding(energy.unsqueeze(1)).transpose(1, 2)

        frames, mel_lens = regulate_length(enc, durations.long())
        frame_valid = torch.arange(frames.shape[1], device=text.device)[
            None, :] < mel_lens[:, None]
        dec = self.decoder(frames, frame_valid)
        mel = self.projection(dec) * frame_valid.unsqueeze(2).to(dec.dtype)
        return (mel.transpose(1, 2).contiguous(), mel_lens, durations,
                pitch.unsqueeze(1), energy)


def random_text(batch: int, length: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(1, 148, (batch, length), generator=gen)


@torch.no_grad()
def _calibrate_duration_bias(model: FastPitch) -> None:
    # Rounding and clamping make frames/symbol a nonlinear function of the
    # bias, so correct it multiplicatively a few times instead of solving.
    text = random_text(32, 64, seed=1234)
    fc = model.duration_predictor.fc
    fc.bias.fill_(math.log(TARGET_FRAMES_PER_SYMBOL + 1.0))
    for _ in range(6):
        mean = model.encode(text)[2].mean().item()
        fc.bias += math.log((TARGET_FRAMES_PER_SYMBOL + 1.0) / (mean + 1.0))


def spec(dtype: str) -> ModelSpec:
    """Triton's FastPitch config, with variable-length batching.

    Texts of different lengths share a batch, padded with symbol 0, which the
    model already treats as padding (its mask is `text != 0`), so it needs no
    lengths input. The mel is cut back to each item's mel_lens, the
    per-symbol outputs to its own text length.
    """
    ft = float_type(dtype)
    return ModelSpec(
        name="fastpitch", max_batch_size=8,
        inputs=[TensorSpec(
            "INPUT__0", "TYPE_INT64", [-1], pad_value=0,
            # Symbol ids index the embedding; 512 symbols is about 30 s of
            # speech at 5.5 frames per symbol.
            constraints={"min_value": 0, "max_value": 147,
                         "min_length": 1, "max_length": 512,
                         # Symbol 0 alone has no mask left: refused, not run.
                         "not_all_pad": True})],
        outputs=[TensorSpec("OUTPUT__0", ft, [80, -1]),
                 TensorSpec("OUTPUT__1", "TYPE_INT64", [1], reshape=[]),
                 TensorSpec("OUTPUT__2", ft, [-1]),
                 TensorSpec("OUTPUT__3", ft, [1, -1]),
                 TensorSpec("OUTPUT__4", ft, [-1])],
        batch_outputs=[
            BatchOutputSpec("BATCH_SCATTER_WITH_OUTPUT_LENGTHS",
                            ["OUTPUT__0"], source_output="OUTPUT__1"),
            BatchOutputSpec("BATCH_SCATTER_WITH_INPUT_SHAPE",
                            ["OUTPUT__2", "OUTPUT__3", "OUTPUT__4"],
                            source_input="INPUT__0")],
        instance_count=2, dynamic_batching=True,
        # Texts of any length may share a batch now; waiting a little longer
        # fills batches more often.
        preferred_batch_sizes=[4, 8], max_queue_delay_us=2000,
        parameters=dict(SPEECH_MODEL_PARAMETERS))


def build(size: str, dtype: str) -> Tuple[torch.jit.ScriptModule, ModelSpec]:
    torch.manual_seed(20240601)
    model = FastPitch(CONFIGS[size]).eval()
    _calibrate_duration_bias(model)      # In fp32, before any cast.
    model = model.to(torch_dtype(dtype))
    return torch.jit.script(model), spec(dtype)


def padded_batch_check(model: torch.jit.ScriptModule) -> PaddedCheck:
    """Runs lengths 20 and 37 alone and padded together; measures the gap.

    Each item's mel is compared over its own frames, and its mel_len and
    durations must be equal.
    """
    a = random_text(1, 20, seed=7)
    b = random_text(1, 37, seed=8)
    batch = torch.zeros(2, 37, dtype=torch.long)
    batch[0, :20] = a[0]
    batch[1] = b[0]
    with torch.inference_mode():
        alone = [model(a), model(b)]
        together = model(batch)
    check = PaddedCheck()
    for i, single in enumerate(alone):
        n = int(single[1][0])
        if int(together[1][i]) != n:
            check.failure = (f"item {i} mel_len {int(together[1][i])} "
                             f"batched vs {n} alone")
            return check
        t = single[2].shape[1]
        if not torch.equal(together[2][i, :t], single[2][0]):
            check.failure = f"item {i} durations differ"
            return check
        check.add(together[0][i, :, :n], single[0][0, :, :n])
    lens = [int(x[1][0]) for x in alone]
    check.note = f"mel_lens {lens} equal"
    return check
