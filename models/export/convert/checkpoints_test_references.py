"""Test-only stand-ins for the published models, to make synthetic checkpoints.

Each class tree has the attribute names of the published code, so its
state_dict() has exactly the published key names and shapes, and each has
that code's inference computation (unpadded inputs only), written from the
same facts as the converters but independently of them: the tests compare a
converted TorchScript model with these, including torch's own weight_norm,
which the converters fold away.

  DleFastPitch  DeepLearningExamples FastPitch 1.1 (fastpitch/model.py,
                fastpitch/transformer.py, common/layers.py)
  DleHiFiGAN    DeepLearningExamples HiFi-GAN generator (hifigan/models.py)
  FairseqW2V    fairseq / DeepLearningExamples Wav2VecCtc
  hf_wav2vec2   the same modules arranged as transformers' Wav2Vec2ForCTC
"""

import math
from typing import List, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import weight_norm


def randomize(module: nn.Module, seed: int) -> nn.Module:
    """Deterministic, well-scaled random values in every parameter: norms'
    weights near 1, weight_norm's g away from ||v||, so that a swapped or
    unfolded tensor shows in the outputs."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(module.named_parameters()):
            r = torch.randn(p.shape, generator=gen)
            if name.endswith("weight_g") or name.endswith("original0"):
                p.copy_(0.5 + torch.rand(p.shape, generator=gen))
            elif p.dim() >= 2:
                p.copy_(r / math.sqrt(p[0].numel()))
            elif "norm" in name:
                p.copy_(1.0 + 0.1 * r if name.endswith("weight") else 0.1 * r)
            else:
                p.copy_(0.1 * r)
    return module


# ------------------------------------------------------------ FastPitch


class _PosEmb(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.register_buffer(
            "inv_freq", 1 / (10000 ** (torch.arange(0.0, d, 2.0) / d)))

    def forward(self, n: int) -> torch.Tensor:
        x = torch.arange(n).float()[:, None] * self.inv_freq[None, :]
        return torch.cat([x.sin(), x.cos()], dim=1)[None]


class _MultiHeadAttn(nn.Module):
    def __init__(self, h: int, d: int, dh: int):
        super().__init__()
        self.h, self.dh = h, dh
        self.qkv_net = nn.Linear(d, 3 * h * dh)
        self.o_net = nn.Linear(h * dh, d, bias=False)
        self.layer_norm = nn.LayerNorm(d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[:2]
        q, k, v = [y.view(b, t, self.h, self.dh).transpose(1, 2)
                   for y in torch.chunk(self.qkv_net(x), 3, dim=2)]
        p = torch.softmax(q @ k.transpose(2, 3) / self.dh ** 0.5, dim=-1)
        ctx = (p @ v).transpose(1, 2).reshape(b, t, self.h * self.dh)
        return self.layer_norm(x + self.o_net(ctx))


class _ConvFF(nn.Module):
    def __init__(self, d: int, inner: int, k: int):
        super().__init__()
        self.CoreNet = nn.Sequential(
            nn.Conv1d(d, inner, k, 1, k // 2), nn.ReLU(),
            nn.Conv1d(inner, d, k, 1, k // 2), nn.Dropout(0.1))
        self.layer_norm = nn.LayerNorm(d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer_norm(x + self.CoreNet(x.transpose(1, 2)).transpose(
            1, 2))


class _FFTLayer(nn.Module):
    def __init__(self, h, d, dh, inner, k):
        super().__init__()
        self.dec_attn = _MultiHeadAttn(h, d, dh)
        self.pos_ff = _ConvFF(d, inner, k)

    def forward(self, x):
        return self.pos_ff(self.dec_attn(x))


class _FFTransformer(nn.Module):
    def __init__(self, n_layer, h, d, dh, inner, k, n_embed=None):
        super().__init__()
        if n_embed is not None:
            self.word_emb = nn.Embedding(n_embed, d, padding_idx=0)
        self.pos_emb = _PosEmb(d)
        self.layers = nn.ModuleList([_FFTLayer(h, d, dh, inner, k)
                                     for _ in range(n_layer)])

    def forward(self, x):
        if hasattr(self, "word_emb"):
            x = self.word_emb(x)
        x = x + self.pos_emb(x.shape[1])
        for layer in self.layers:
            x = layer(x)
        return x


class _ConvReLUNorm(nn.Module):
    def __init__(self, d_in, d_out, k):
        super().__init__()
        self.conv = nn.Conv1d(d_in, d_out, k, padding=k // 2)
        self.norm = nn.LayerNorm(d_out)
        self.dropout = nn.Dropout(0.1)

    def forward(self, x):   # [B, C, T]
        return self.norm(F.relu(self.conv(x)).transpose(1, 2)).transpose(1, 2)


class _TemporalPredictor(nn.Module):
    def __init__(self, d, filters, k, n_layers):
        super().__init__()
        self.layers = nn.Sequential(*[
            _ConvReLUNorm(d if i == 0 else filters, filters, k)
            for i in range(n_layers)])
        self.fc = nn.Linear(filters, 1)

    def forward(self, x):   # [B, T, D] -> [B, T, 1]
        return self.fc(self.layers(x.transpose(1, 2)).transpose(1, 2))


class _ConvNorm(nn.Module):
    def __init__(self, c_in, c_out, k):
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, k, padding=k // 2)


class _ConvAttention(nn.Module):
    """Only its parameter names matter: the aligner is training-only."""

    def __init__(self, n_mel, d):
        super().__init__()
        self.key_proj = nn.Sequential(_ConvNorm(d, 2 * d, 3), nn.ReLU(),
                                      _ConvNorm(2 * d, 80, 1))
        self.query_proj = nn.Sequential(_ConvNorm(n_mel, 2 * n_mel, 3),
                                        nn.ReLU(), _ConvNorm(2 * n_mel, n_mel,
                                                             1))


class DleFastPitch(nn.Module):
    def __init__(self, n_symbols=148, d=32, layers=(2, 2), heads=2, d_head=16,
                 inner=64, k=3, filters=24, pred_k=3, pred_layers=2,
                 n_mel=80, n_speakers=1):
        super().__init__()
        self.encoder = _FFTransformer(layers[0], heads, d, d_head, inner, k,
                                      n_embed=n_symbols)
        if n_speakers > 1:
            self.speaker_emb = nn.Embedding(n_speakers, d)
        self.duration_predictor = _TemporalPredictor(d, filters, pred_k,
                                                     pred_layers)
        self.decoder = _FFTransformer(layers[1], heads, d, d_head, inner, k)
        self.pitch_predictor = _TemporalPredictor(d, filters, pred_k,
                                                  pred_layers)
        self.pitch_emb = nn.Conv1d(1, d, 3, padding=1)
        self.register_buffer("pitch_mean", torch.zeros(1))
        self.register_buffer("pitch_std", torch.zeros(1))
        self.energy_predictor = _TemporalPredictor(d, filters, pred_k,
                                                   pred_layers)
        self.energy_emb = nn.Conv1d(1, d, 3, padding=1)
        self.proj = nn.Linear(d, n_mel)
        self.attention = _ConvAttention(n_mel, d)

    def config(self, **over) -> dict:
        """The 'config' DLE's train.py saves (the parts that set sizes)."""
        enc, dec = self.encoder.layers[0].dec_attn, self.decoder.layers
        c = dict(n_mel_channels=self.proj.out_features,
                 n_symbols=self.encoder.word_emb.num_embeddings,
                 padding_idx=0,
                 symbols_embedding_dim=self.proj.in_features,
                 in_fft_n_layers=len(self.encoder.layers),
                 in_fft_n_heads=enc.h, in_fft_d_head=enc.dh,
                 out_fft_n_layers=len(dec), out_fft_n_heads=dec[0].dec_attn.h,
                 out_fft_d_head=dec[0].dec_attn.dh, energy_conditioning=True,
                 n_speakers=1, speaker_emb_weight=1.0)
        c.update(over)
        return c

    @torch.no_grad()
    def infer(self, text: torch.Tensor):
        """DLE's infer() for one unpadded text [1, T]."""
        enc = self.encoder(text)
        log_dur = self.duration_predictor(enc).squeeze(-1)
        dur = torch.clamp(torch.exp(log_dur) - 1, 0, 75)
        pitch = self.pitch_predictor(enc).permute(0, 2, 1)
        enc = enc + self.pitch_emb(pitch).transpose(1, 2)
        energy = self.energy_predictor(enc).squeeze(-1)
        enc = enc + self.energy_emb(energy.unsqueeze(1)).transpose(1, 2)
        reps = (dur + 0.5).long()
        frames = torch.repeat_interleave(enc[0], reps[0], dim=0)[None]
        mel = self.proj(self.decoder(frames)).permute(0, 2, 1)
        return mel, reps.sum(dim=1), dur, pitch, energy


# ------------------------------------------------------------ HiFi-GAN


def _padding(k: int, d: int) -> int:
    return (k * d - d) // 2


class _ResBlock1(nn.Module):
    def __init__(self, ch: int, k: int, dilations: Sequence[int]):
        super().__init__()
        self.convs1 = nn.Sequential(*[
            weight_norm(nn.Conv1d(ch, ch, k, 1, _padding(k, d), d))
            for d in dilations])
        self.convs2 = nn.Sequential(*[
            weight_norm(nn.Conv1d(ch, ch, k, 1, _padding(k, 1)))
            for _ in dilations])

    def forward(self, x):
        for c1, c2 in zip(self.convs1, self.convs2):
            x = x + c2(F.leaky_relu(c1(F.leaky_relu(x, 0.1)), 0.1))
        return x


class DleHiFiGAN(nn.Module):
    def __init__(self, initial=32, rates=(4, 4), kernels=(8, 8),
                 res_kernels=(3, 5), res_dilations=((1, 3, 5), (1, 3, 5)),
                 n_mel=80, flat_resblocks=False):
        super().__init__()
        self.conf = dict(resblock="1", upsample_rates=list(rates),
                         upsample_kernel_sizes=list(kernels),
                         upsample_initial_channel=initial,
                         resblock_kernel_sizes=list(res_kernels),
                         resblock_dilation_sizes=[list(d)
                                                  for d in res_dilations])
        self.conv_pre = weight_norm(nn.Conv1d(n_mel, initial, 7, 1, 3))
        self.ups = nn.Sequential(*[
            weight_norm(nn.ConvTranspose1d(initial // 2 ** i,
                                           initial // 2 ** (i + 1), k, u,
                                           padding=(k - u) // 2))
            for i, (u, k) in enumerate(zip(rates, kernels))])
        groups = [[_ResBlock1(initial // 2 ** (i + 1), k, d)
                   for k, d in zip(res_kernels, res_dilations)]
                  for i in range(len(rates))]
        # Checkpoints before DLE's ONNX fix number resblocks flat.
        self.flat = flat_resblocks
        self.resblocks = (nn.ModuleList([b for g in groups for b in g])
                          if flat_resblocks else nn.Sequential(
                              *[nn.Sequential(*g) for g in groups]))
        self.conv_post = weight_norm(nn.Conv1d(initial // 2 ** len(rates), 1,
                                               7, 1, 3))

    @torch.no_grad()
    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.conv_pre(mel)
        n = len(self.conf["resblock_kernel_sizes"])
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, 0.1))
            blocks = (list(self.resblocks)[i * n:(i + 1) * n] if self.flat
                      else self.resblocks[i])
            x = sum(b(x) for b in blocks) / n
        return torch.tanh(self.conv_post(F.leaky_relu(x)))


# ------------------------------------------------------------ wav2vec 2.0


class _SamePad(nn.Module):
    def __init__(self, k: int):
        super().__init__()
        self.remove = 1 if k % 2 == 0 else 0

    def forward(self, x):
        return x[:, :, :-self.remove] if self.remove else x


class _MHA(nn.Module):
    def __init__(self, d: int, h: int):
        super().__init__()
        self.h = h
        self.k_proj, self.v_proj, self.q_proj, self.out_proj = [
            nn.Linear(d, d) for _ in range(4)]

    def forward(self, x):
        b, t, d = x.shape
        dh = d // self.h
        q = (self.q_proj(x) * dh ** -0.5).view(b, t, self.h, dh).transpose(
            1, 2)
        k = self.k_proj(x).view(b, t, self.h, dh).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.h, dh).transpose(1, 2)
        ctx = torch.softmax(q @ k.transpose(2, 3), dim=-1) @ v
        return self.out_proj(ctx.transpose(1, 2).reshape(b, t, d))


class _EncoderLayer(nn.Module):
    def __init__(self, d, h, ffn):
        super().__init__()
        self.self_attn = _MHA(d, h)
        self.self_attn_layer_norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, ffn)
        self.fc2 = nn.Linear(ffn, d)
        self.final_layer_norm = nn.LayerNorm(d)

    def forward(self, x):
        x = self.self_attn_layer_norm(x + self.self_attn(x))
        return self.final_layer_norm(x + self.fc2(F.gelu(self.fc1(x))))


class _Encoder(nn.Module):
    def __init__(self, d, layers, h, ffn, pos_k, pos_groups):
        super().__init__()
        conv = nn.Conv1d(d, d, pos_k, padding=pos_k // 2, groups=pos_groups)
        self.pos_conv = nn.Sequential(weight_norm(conv, name="weight", dim=2),
                                      _SamePad(pos_k), nn.GELU())
        self.layers = nn.ModuleList([_EncoderLayer(d, h, ffn)
                                     for _ in range(layers)])
        self.layer_norm = nn.LayerNorm(d)


class _W2VModel(nn.Module):
    def __init__(self, c, d, layers, h, ffn, pos_k, pos_groups):
        super().__init__()
        specs = [(10, 5)] + [(3, 2)] * 4 + [(2, 2)] * 2
        self.feature_extractor = nn.Module()
        self.feature_extractor.conv_layers = nn.ModuleList([
            nn.Sequential(nn.Conv1d(1 if i == 0 else c, c, k, stride=s,
                                    bias=False), nn.Dropout(0.0),
                          *([nn.GroupNorm(c, c)] if i == 0 else []),
                          nn.GELU())
            for i, (k, s) in enumerate(specs)])
        self.post_extract_proj = nn.Linear(c, d)
        self.mask_emb = nn.Parameter(torch.zeros(d))
        self.encoder = _Encoder(d, layers, h, ffn, pos_k, pos_groups)
        self.layer_norm = nn.LayerNorm(c)


class FairseqW2V(nn.Module):
    """Wav2VecCtc: w2v_encoder.{w2v_model, proj}."""

    def __init__(self, c=32, d=48, layers=2, heads=4, ffn=64, pos_k=16,
                 pos_groups=4, classes=32):
        super().__init__()
        self.heads = heads
        self.w2v_encoder = nn.Module()
        self.w2v_encoder.w2v_model = _W2VModel(c, d, layers, heads, ffn,
                                               pos_k, pos_groups)
        self.w2v_encoder.proj = nn.Linear(d, classes)

    def args(self) -> dict:
        return dict(encoder_attention_heads=self.heads,
                    conv_feature_layers="[(512, 10, 5)] + [(512, 3, 2)] * 4 "
                                        "+ [(512,2,2)] + [(512,2,2)]",
                    extractor_mode="default", layer_norm_first=False,
                    activation_fn="gelu")

    @torch.no_grad()
    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        m = self.w2v_encoder.w2v_model
        x = audio[:, None]
        for block in m.feature_extractor.conv_layers:
            x = block(x)
        x = m.post_extract_proj(m.layer_norm(x.transpose(1, 2)))
        x = x + m.encoder.pos_conv(x.transpose(1, 2)).transpose(1, 2)
        x = m.encoder.layer_norm(x)
        for layer in m.encoder.layers:
            x = layer(x)
        return self.w2v_encoder.proj(x)


def hf_wav2vec2(fs: FairseqW2V) -> nn.Module:
    """`fs`'s modules under transformers' Wav2Vec2ForCTC attribute names."""
    m = fs.w2v_encoder.w2v_model
    hf = nn.Module()
    hf.wav2vec2 = w = nn.Module()
    w.feature_extractor = nn.Module()
    layers: List[nn.Module] = []
    for i, block in enumerate(m.feature_extractor.conv_layers):
        layer = nn.Module()
        layer.conv = block[0]
        if i == 0:
            layer.layer_norm = block[2]
        layers.append(layer)
    w.feature_extractor.conv_layers = nn.ModuleList(layers)
    w.feature_projection = nn.Module()
    w.feature_projection.layer_norm = m.layer_norm
    w.feature_projection.projection = m.post_extract_proj
    w.masked_spec_embed = m.mask_emb
    w.encoder = nn.Module()
    w.encoder.pos_conv_embed = nn.Module()
    w.encoder.pos_conv_embed.conv = m.encoder.pos_conv[0]
    w.encoder.layer_norm = m.encoder.layer_norm
    hf_layers = []
    for src in m.encoder.layers:
        layer = nn.Module()
        layer.attention = src.self_attn
        layer.layer_norm = src.self_attn_layer_norm
        layer.feed_forward = nn.Module()
        layer.feed_forward.intermediate_dense = src.fc1
        layer.feed_forward.output_dense = src.fc2
        layer.final_layer_norm = src.final_layer_norm
        hf_layers.append(layer)
    w.encoder.layers = nn.ModuleList(hf_layers)
    hf.lm_head = fs.w2v_encoder.proj
    return hf
