"""NVIDIA DeepLearningExamples FastPitch checkpoints -> our FastPitch module.

The published layout (PyTorch/SpeechSynthesis/FastPitch, fastpitch/model.py
and fastpitch/transformer.py; train.py saves {'state_dict', 'ema_state_dict',
'config', ...}, 'module.'-prefixed when trained with DDP):

    encoder.word_emb.weight                     [n_symbols, D]
    {encoder,decoder}.layers.N.dec_attn.qkv_net.{weight,bias}  [3*H*Dh, D]
    {encoder,decoder}.layers.N.dec_attn.o_net.weight           [D, H*Dh]
    {encoder,decoder}.layers.N.dec_attn.layer_norm.{weight,bias}
    {encoder,decoder}.layers.N.pos_ff.CoreNet.0.{weight,bias}  [inner, D, k]
    {encoder,decoder}.layers.N.pos_ff.CoreNet.2.{weight,bias}  [D, inner, k]
    {encoder,decoder}.layers.N.pos_ff.layer_norm.{weight,bias}
    {encoder,decoder}.pos_emb.inv_freq          buffer, recomputed by us
    {duration,pitch,energy}_predictor.layers.N.{conv,norm}.{weight,bias}
    {duration,pitch,energy}_predictor.fc.{weight,bias}         [1, filters]
    pitch_emb.{weight,bias}, energy_emb.{weight,bias}          [D, 1, k]
    proj.{weight,bias}                          [n_mel, D]
    pitch_mean, pitch_std                       only for pitch transforms
    attention.*                                 alignment, training only

Our module (fastpitch.py) has the same structure under shorter names; the
qkv split (chunk into q, k, v, then heads) and post-LN order match. Sizes
come from the shapes; heads from the saved 'config' (in_fft_n_heads, ...),
or DLE's default of one head of 64 when there is none.
"""

from typing import Any, Dict, List, Optional, Tuple

import torch

import fastpitch
from checkpoints import (Checkpoint, CheckpointError, Key, Mapping,
                         count_indexed, find_setting)

# Keys the graph does not use: recomputed buffers, pitch-transform
# statistics, and the aligner that only training runs.
_IGNORED_PREFIXES = ("attention.", "encoder.pos_emb.", "decoder.pos_emb.",
                     "pitch_mean", "pitch_std")


def ignored(key: str) -> bool:
    return key.startswith(_IGNORED_PREFIXES)


def _shape(weights: Dict[str, torch.Tensor], key: str) -> Optional[
        Tuple[int, ...]]:
    return tuple(weights[key].shape) if key in weights else None


def _first_shape(weights: Dict[str, torch.Tensor],
                 keys: List[str]) -> Optional[Tuple[int, ...]]:
    return next((_shape(weights, k) for k in keys if k in weights), None)


def _heads(meta: Dict[str, Any], side: str, rows: int) -> Tuple[int, int]:
    """(n_heads, d_head) of one FFT stack whose qkv_net has `rows` rows."""
    n_heads = find_setting(meta, f"{side}_fft_n_heads")
    d_head = find_setting(meta, f"{side}_fft_d_head")
    if n_heads is None and d_head is None:
        if rows != 3 * 64:
            raise CheckpointError(
                f"cannot tell heads from shapes: {side} qkv_net has {rows} "
                f"rows (3 * heads * d_head) and the checkpoint saves no "
                f"config with {side}_fft_n_heads; pass a --config JSON")
        return 1, 64      # DLE's default (--in-fft-n-heads 1, d_head 64).
    n_heads = int(n_heads) if n_heads is not None else rows // 3 // int(
        d_head)
    d_head = int(d_head) if d_head is not None else rows // 3 // n_heads
    if 3 * n_heads * d_head != rows:
        raise CheckpointError(
            f"config says {side}_fft_n_heads={n_heads}, d_head={d_head} but "
            f"qkv_net has {rows} rows, not {3 * n_heads * d_head}")
    return n_heads, d_head


def infer_config(ckpt: Checkpoint) -> fastpitch.FastPitchConfig:
    """The FastPitchConfig the checkpoint's shapes describe.

    Refuses what our graph cannot express: several speakers, no energy
    predictor (FastPitch 1.0), several pitch formants, a pad id other than
    0, or stacks / predictors of different sizes where ours share one.
    """
    w = ckpt.weights
    meta = ckpt.meta
    emb = _shape(w, "encoder.word_emb.weight")
    if emb is None:
        raise CheckpointError(
            f"{ckpt.path}: not a DeepLearningExamples FastPitch checkpoint "
            f"(no encoder.word_emb.weight; {len(w)} keys, e.g. "
            f"{sorted(w)[:3]})")
    reasons = []
    if "speaker_emb.weight" in w:
        reasons.append(f"{w['speaker_emb.weight'].shape[0]} speakers "
                       f"(speaker_emb.weight): our graph has no speaker input")
    if "energy_emb.weight" not in w and not any(
            k.startswith("energy_predictor.") for k in w):
        reasons.append("no energy predictor (a FastPitch 1.0 checkpoint, "
                       "energy_conditioning off): our graph predicts energy")
    padding_idx = find_setting(meta, "padding_idx")
    if padding_idx not in (None, 0):
        reasons.append(f"padding_idx {padding_idx}: our graph masks id 0")

    def layer_key(side: str, suffix: str) -> List[str]:
        n = max(count_indexed(w, f"{side}.layers."), 1)
        return [f"{side}.layers.{i}.{suffix}" for i in range(n)]

    sizes: Dict[str, Dict[str, Any]] = {}
    for side, tag in (("encoder", "in"), ("decoder", "out")):
        qkv = _first_shape(w, layer_key(side, "dec_attn.qkv_net.weight"))
        ff = _first_shape(w, layer_key(side, "pos_ff.CoreNet.0.weight"))
        if qkv is None or ff is None:
            raise CheckpointError(f"{ckpt.path}: no {side} layers with "
                                  f"dec_attn.qkv_net / pos_ff.CoreNet.0")
        n_heads, d_head = _heads(meta, tag, qkv[0])
        sizes[side] = {"layers": count_indexed(w, f"{side}.layers."),
                       "heads": (n_heads, d_head), "inner": ff[0],
                       "kernel": ff[2]}
    for what in ("heads", "inner", "kernel"):
        if sizes["encoder"][what] != sizes["decoder"][what]:
            reasons.append(f"encoder and decoder differ in {what} "
                           f"({sizes['encoder'][what]} vs "
                           f"{sizes['decoder'][what]}): ours share one")

    predictors = {}
    for name in ("duration", "pitch", "energy"):
        conv = _shape(w, f"{name}_predictor.layers.0.conv.weight")
        fc = _shape(w, f"{name}_predictor.fc.weight")
        if fc is not None and fc[0] != 1:
            reasons.append(f"{name} predictor predicts {fc[0]} values "
                           f"(pitch_conditioning_formants): ours one")
        if conv is not None:
            predictors[name] = (conv[0], conv[2], count_indexed(
                w, f"{name}_predictor.layers."))
    if len(set(predictors.values())) > 1:
        reasons.append(f"predictors differ in (filters, kernel, layers) "
                       f"{predictors}: ours share one")
    filters, kernel, layers = next(iter(predictors.values()), (256, 3, 2))
    pitch_emb = _shape(w, "pitch_emb.weight") or (emb[1], 1, 3)
    energy_emb = _shape(w, "energy_emb.weight") or (emb[1], 1, 3)
    proj = _shape(w, "proj.weight") or (80, emb[1])
    if reasons:
        raise CheckpointError(f"{ckpt.path}: cannot convert to our FastPitch "
                              f"graph:\n  " + "\n  ".join(reasons))
    n_heads, d_head = sizes["encoder"]["heads"]
    return fastpitch.FastPitchConfig(
        n_symbols=emb[0], padding_idx=0, d_model=emb[1],
        n_mel_channels=proj[0],
        in_fft_layers=sizes["encoder"]["layers"],
        out_fft_layers=sizes["decoder"]["layers"],
        n_heads=n_heads, d_head=d_head,
        conv_inner=sizes["encoder"]["inner"],
        conv_kernel=sizes["encoder"]["kernel"],
        predictor_filters=filters, predictor_kernel=kernel,
        predictor_layers=layers, pitch_emb_kernel=pitch_emb[2],
        energy_emb_kernel=energy_emb[2])


def _same(ours: str, theirs: str, mapping: Mapping) -> None:
    for p in ("weight", "bias"):
        mapping[f"{ours}.{p}"] = Key(f"{theirs}.{p}")


def mapping(cfg: fastpitch.FastPitchConfig) -> Mapping:
    """Our parameter name -> its source in the DLE layout."""
    m: Mapping = {"embedding.weight": Key("encoder.word_emb.weight")}
    for side, n in (("encoder", cfg.in_fft_layers),
                    ("decoder", cfg.out_fft_layers)):
        for i in range(n):
            ours, theirs = f"{side}.layers.{i}", f"{side}.layers.{i}"
            _same(f"{ours}.attn.qkv", f"{theirs}.dec_attn.qkv_net", m)
            m[f"{ours}.attn.out.weight"] = Key(
                f"{theirs}.dec_attn.o_net.weight")
            _same(f"{ours}.attn.norm", f"{theirs}.dec_attn.layer_norm", m)
            _same(f"{ours}.ff.conv1", f"{theirs}.pos_ff.CoreNet.0", m)
            _same(f"{ours}.ff.conv2", f"{theirs}.pos_ff.CoreNet.2", m)
            _same(f"{ours}.ff.norm", f"{theirs}.pos_ff.layer_norm", m)
    for name in ("duration", "pitch", "energy"):
        p = f"{name}_predictor"
        for i in range(cfg.predictor_layers):
            _same(f"{p}.layers.{i}.conv", f"{p}.layers.{i}.conv", m)
            _same(f"{p}.layers.{i}.norm", f"{p}.layers.{i}.norm", m)
        _same(f"{p}.fc", f"{p}.fc", m)
    _same("pitch_embedding", "pitch_emb", m)
    _same("energy_embedding", "energy_emb", m)
    _same("projection", "proj", m)
    return m


def spec_for(cfg: fastpitch.FastPitchConfig, dtype: str):
    """fastpitch.spec() with the symbol range and mel width of `cfg`."""
    spec = fastpitch.spec(dtype)
    spec.inputs[0].constraints["max_value"] = cfg.n_symbols - 1
    spec.outputs[0].dims = [cfg.n_mel_channels, -1]
    return spec
