"""NVIDIA DeepLearningExamples HiFi-GAN generator checkpoints -> hifigan.py.

The published layout (PyTorch/SpeechSynthesis/HiFiGAN, hifigan/models.py
`Generator`; common/utils.py's Checkpointer saves {'generator', 'gen_ema',
'config', 'train_setup', 'train_state'}, the discriminators in another
file). Every conv is under torch's weight_norm (dim 0), so each weight is a
pair weight_g [out, 1, 1] (a transposed conv: [in, 1, 1]) and weight_v:

    conv_pre.{weight_g,weight_v,bias}           Conv1d(80, C, 7)
    ups.I.{weight_g,weight_v,bias}              ConvTranspose1d(C/2^I,
                                                C/2^(I+1), k_I, rate_I)
    resblocks.I.J.convs1.N.{weight_g,weight_v,bias}   ResBlock1 J of stage I,
    resblocks.I.J.convs2.N.{weight_g,weight_v,bias}   dilated and plain convs
        (before DLE's ONNX fix: resblocks.(I*kernels+J).convs1.N...)
    conv_post.{weight_g,weight_v,bias}          Conv1d(C/2^stages, 1, 7)

and 'config' holds upsample_rates, upsample_kernel_sizes,
upsample_initial_channel, resblock ('1' or '2'), resblock_kernel_sizes and
resblock_dilation_sizes (jik876/hifi-gan keeps them in a config.json
beside the file). Rates and dilations are not in the shapes, so a
checkpoint without them is refused, as DLE's own loader does. A checkpoint
whose weight norm was removed (plain .weight) loads too, and so do weights
saved conv2d-shaped (a trailing dim of 1).

Our generator (hifigan.py) holds plain convs: conv_pre, stages.I.up,
stages.I.blocks.J.units.N.{conv1,conv2}, conv_post.
"""

import re
from typing import Any, Dict, List, Sequence

import torch
from torch import nn

import hifigan
from checkpoints import (Checkpoint, CheckpointError, Key, Mapping,
                         WeightNorm, apply, count_indexed, find_setting)
from common import plain_triton

_FIELDS = ("upsample_rates", "upsample_kernel_sizes",
           "upsample_initial_channel", "resblock_kernel_sizes",
           "resblock_dilation_sizes")


def infer_config(ckpt: Checkpoint) -> hifigan.HiFiGANConfig:
    w = ckpt.weights
    if not any(k.startswith("conv_pre.") for k in w) or not any(
            k.startswith("ups.") for k in w):
        raise CheckpointError(
            f"{ckpt.path}: not a HiFi-GAN generator (no conv_pre / ups "
            f"keys; {len(w)} keys, e.g. {sorted(w)[:3]}); a discriminator "
            f"file holds 'mpd' and 'msd'")
    settings = {f: find_setting(ckpt.meta, f) for f in _FIELDS}
    absent = [f for f, v in settings.items() if v is None]
    if absent:
        raise CheckpointError(
            f"{ckpt.path}: no HiFi-GAN config ({', '.join(absent)}): rates "
            f"and dilations are not in the weights' shapes; use a "
            f"DeepLearningExamples checkpoint, which saves its config, or "
            f"pass --config with the training config.json")
    reasons = []
    resblock = str(find_setting(ckpt.meta, "resblock") or "1")
    if resblock != "1":
        reasons.append(f"resblock '{resblock}' (V3): ours is ResBlock1")
    pre = next((w[k] for k in ("conv_pre.weight_v", "conv_pre.weight")
                if k in w), None)
    if pre is not None and pre.shape[1] != hifigan.N_MEL_CHANNELS:
        reasons.append(f"{pre.shape[1]} mel channels: ours take "
                       f"{hifigan.N_MEL_CHANNELS}")
    cfg = hifigan.HiFiGANConfig(
        upsample_rates=tuple(int(r) for r in settings["upsample_rates"]),
        upsample_kernel_sizes=tuple(
            int(k) for k in settings["upsample_kernel_sizes"]),
        upsample_initial_channel=int(settings["upsample_initial_channel"]),
        resblock_kernel_sizes=tuple(
            int(k) for k in settings["resblock_kernel_sizes"]),
        resblock_dilation_sizes=tuple(
            tuple(int(d) for d in ds)
            for ds in settings["resblock_dilation_sizes"]))
    if cfg.hop_length != hifigan.HOP_LENGTH:
        reasons.append(f"hop {cfg.hop_length} (rates "
                       f"{list(cfg.upsample_rates)}): the tts pipeline's mels "
                       f"are {hifigan.HOP_LENGTH} samples a frame")
    if count_indexed(w, "ups.") != len(cfg.upsample_rates):
        reasons.append(f"{count_indexed(w, 'ups.')} upsampling layers in "
                       f"the weights, {len(cfg.upsample_rates)} rates in the "
                       f"config")
    if reasons:
        raise CheckpointError(f"{ckpt.path}: cannot convert to our HiFi-GAN "
                              f"graph:\n  " + "\n  ".join(reasons))
    return cfg


def _conv(ours: str, theirs: str, m: Mapping) -> None:
    m[f"{ours}.weight"] = WeightNorm(f"{theirs}.", dim=0)
    m[f"{ours}.bias"] = Key(f"{theirs}.bias")


def mapping(cfg: hifigan.HiFiGANConfig, flat: bool) -> Mapping:
    """Our parameter name -> its source; `flat` for pre-ONNX-fix numbering
    of the resblocks."""
    m: Mapping = {}
    _conv("conv_pre", "conv_pre", m)
    n_kernels = len(cfg.resblock_kernel_sizes)
    for i in range(len(cfg.upsample_rates)):
        _conv(f"stages.{i}.up", f"ups.{i}", m)
        for j, dilations in enumerate(cfg.resblock_dilation_sizes):
            block = (f"resblocks.{i * n_kernels + j}" if flat
                     else f"resblocks.{i}.{j}")
            for n in range(len(dilations)):
                unit = f"stages.{i}.blocks.{j}.units.{n}"
                _conv(f"{unit}.conv1", f"{block}.convs1.{n}", m)
                _conv(f"{unit}.conv2", f"{block}.convs2.{n}", m)
    _conv("conv_post", "conv_post", m)
    return m


def is_flat(weights: Dict[str, torch.Tensor]) -> bool:
    return any(re.match(r"resblocks\.\d+\.convs", k) for k in weights)


class Unpadded(nn.Module):
    """forward(mel) for plain Triton: every item its full length."""

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator

    def forward(self, mel: torch.Tensor):
        shape = torch.tensor([mel.shape[1], mel.shape[2]], dtype=torch.long,
                             device=mel.device)
        return self.generator(mel, shape[None, :].expand(mel.shape[0], 2))


class Adapter:
    """convert_checkpoint's hooks for hifigan (see its Adapter)."""

    layouts = ("dle",)
    trace_blocker = None

    def build(self, ckpt: Checkpoint, layout: str):
        cfg = infer_config(ckpt)
        module = hifigan.Generator(cfg)
        apply(module, mapping(cfg, is_flat(ckpt.weights)), ckpt,
                          squeeze_trailing=True)
        return module, cfg

    def spec(self, cfg, dtype: str, plain: bool):
        spec = hifigan.spec(dtype)
        return plain_triton(spec) if plain else spec

    def wrap(self, module: nn.Module, plain: bool) -> nn.Module:
        return Unpadded(module).eval() if plain else module

    def _mels(self, frames: Sequence[int], seed: int, plain: bool):
        mel = torch.zeros(len(frames), hifigan.N_MEL_CHANNELS, max(frames))
        for i, n in enumerate(frames):
            mel[i, :, :n] = hifigan.random_mel(n, seed + i)[0]
        if plain:
            return (mel,)
        return (mel, torch.tensor([[hifigan.N_MEL_CHANNELS, n]
                                   for n in frames]))

    def example(self, cfg, plain: bool):
        return self._mels([40] if plain else [40, 23], 1, plain)

    def checks(self, cfg, plain: bool) -> List[Any]:
        if plain:
            return [self._mels([31], 3, True), self._mels([50] * 3, 4, True)]
        return [self._mels([31], 3, False), self._mels([50, 17, 1], 4, False)]

    def note(self, cfg) -> str:
        return (f"{cfg.upsample_initial_channel} channels, rates "
                f"{list(cfg.upsample_rates)}")
