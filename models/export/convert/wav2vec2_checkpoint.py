"""wav2vec 2.0 CTC checkpoints -> our Wav2Vec2ForCTC module.

Two published layouts, one computation (post-LN base and large models):

fairseq's Wav2VecCtc (fairseq/models/wav2vec/wav2vec2.py, wav2vec2_asr.py),
which NVIDIA DeepLearningExamples' PyTorch/SpeechRecognition/wav2vec2
(wav2vec2/model.py) keeps; checkpoints are {'model', 'args' or 'cfg', ...}:

    w2v_encoder.w2v_model.feature_extractor.conv_layers.N.0.weight  [C, Cin, k]
        (DLE's masked extractor: conv_layers.N.conv.weight)
    w2v_encoder.w2v_model.feature_extractor.conv_layers.0.2.{weight,bias}
        GroupNorm(C, C) of layer 0 (DLE masked: conv_layers.0.norm.*)
    w2v_encoder.w2v_model.layer_norm.{weight,bias}                  [C]
    w2v_encoder.w2v_model.post_extract_proj.{weight,bias}           [D, C]
    w2v_encoder.w2v_model.encoder.pos_conv.0.{weight_g [1, 1, K],
        weight_v [D, D/groups, K], bias}        weight_norm(dim=2)
    w2v_encoder.w2v_model.encoder.layer_norm.{weight,bias}
    w2v_encoder.w2v_model.encoder.layers.N.self_attn.{q,k,v,out}_proj.*
        (DLE's fused attention saves the same names; a fused
        self_attn.qkv.* is read too)
    w2v_encoder.w2v_model.encoder.layers.N.{self_attn_layer_norm,fc1,fc2,
        final_layer_norm}.*
    w2v_encoder.proj.{weight,bias}                           [classes, D]
    w2v_encoder.w2v_model.mask_emb                           training only

Hugging Face transformers' Wav2Vec2ForCTC (modeling_wav2vec2.py),
pytorch_model.bin or model.safetensors with config.json beside it:

    wav2vec2.feature_extractor.conv_layers.N.conv.weight
    wav2vec2.feature_extractor.conv_layers.0.layer_norm.*  (the GroupNorm)
    wav2vec2.feature_projection.{layer_norm,projection}.*
    wav2vec2.encoder.pos_conv_embed.conv.{weight_g,weight_v,bias}
        (torch >= 2.1: conv.parametrizations.weight.original0 / original1)
    wav2vec2.encoder.layer_norm.*
    wav2vec2.encoder.layers.N.attention.{q,k,v,out}_proj.*
    wav2vec2.encoder.layers.N.{layer_norm,feed_forward.intermediate_dense,
        feed_forward.output_dense,final_layer_norm}.*
    lm_head.{weight,bias}
    wav2vec2.masked_spec_embed                               training only

Heads come from the saved settings (encoder_attention_heads,
num_attention_heads), else 12 for D=768 and 16 for D=1024.
"""

import ast
from typing import Any, List, Optional, Sequence

import wav2vec2
from checkpoints import (Checkpoint, CheckpointError, Chunk, FirstOf, Key,
                         Mapping, WeightNorm, count_indexed, find_setting)

_FAIRSEQ = "w2v_encoder.w2v_model."
_HF = "wav2vec2."
_DEFAULT = wav2vec2.Wav2Vec2Config()
_DEFAULT_HEADS = {768: 12, 1024: 16}


class _Layout:
    """Key names of one layout, relative to the checkpoint's root."""

    def __init__(self, name: str):
        self.name = name
        fs = name != "hf"
        p = _FAIRSEQ if fs else _HF
        self.conv_layers = f"{p}feature_extractor.conv_layers."
        # fairseq: nn.Sequential(conv, dropout, norm, gelu); DLE's masked
        # extractor and Hugging Face: named .conv.
        self.conv_names = ["0.", "conv."] if fs else ["conv."]
        # Where a norm of conv layer N > 0 would sit (layer_norm extractor).
        self.norm_names = ["2.", "norm."] if fs else ["layer_norm."]
        # Layer 0's GroupNorm.
        self.group_norm = [f"{self.conv_layers}0.{n}" for n in (
            ["2.", "norm."] if fs else ["layer_norm."])]
        self.feature_norm = (f"{p}layer_norm." if fs
                             else f"{p}feature_projection.layer_norm.")
        self.projection = (f"{p}post_extract_proj." if fs
                           else f"{p}feature_projection.projection.")
        self.pos_conv = (f"{p}encoder.pos_conv.0." if fs
                         else f"{p}encoder.pos_conv_embed.conv.")
        self.encoder_norm = f"{p}encoder.layer_norm."
        self.layers = f"{p}encoder.layers."
        self.attn = "self_attn." if fs else "attention."
        self.attn_norm = "self_attn_layer_norm." if fs else "layer_norm."
        self.fc1 = "fc1." if fs else "feed_forward.intermediate_dense."
        self.fc2 = "fc2." if fs else "feed_forward.output_dense."
        self.final_norm = "final_layer_norm."
        self.head = "w2v_encoder.proj." if fs else "lm_head."
        self.ignored = ((f"{p}mask_emb", f"{p}quantizer.", f"{p}project_q.",
                         f"{p}final_proj.", f"{p}target_glu.") if fs
                        else (f"{p}masked_spec_embed",))

    def conv(self, i: int) -> List[str]:
        return [f"{self.conv_layers}{i}.{n}" for n in self.conv_names]


def layout(name: str) -> _Layout:
    if name not in ("fairseq", "dle", "hf"):
        raise CheckpointError(f"wav2vec2 layouts are fairseq, dle and hf; "
                              f"not {name}")
    return _Layout(name)


def ignored(lay: _Layout):
    return lambda key: key.startswith(lay.ignored)


def _conv_layers(value: Any) -> Optional[List[Sequence[int]]]:
    """fairseq's conv_feature_layers, e.g. "[(512, 10, 5)] + [(512, 3, 2)] *
    4", evaluated with literals, + and * only."""
    if not isinstance(value, str):
        return None

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.List, ast.Tuple)):
            return [ev(e) for e in node.elts]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return ev(node.left) + ev(node.right)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            return ev(node.left) * ev(node.right)
        raise ValueError(ast.dump(node))
    try:
        return ev(ast.parse(value, mode="eval"))
    except (SyntaxError, ValueError):
        return None


def infer_config(ckpt: Checkpoint, lay: _Layout) -> wav2vec2.Wav2Vec2Config:
    """The Wav2Vec2Config the checkpoint describes, or a refusal naming each
    variant our graph does not compute (pre-LN "stable" layer norm,
    layer-norm feature extractor, conv biases, another conv stack)."""
    w = ckpt.weights
    meta = ckpt.meta
    first = lay.conv(0)
    if not any(p + "weight" in w for p in first):
        hint = ""
        if "feature_extractor.conv_layers.0.0.weight" in w:
            hint = (" (a pre-trained wav2vec 2.0 without the w2v_encoder "
                    "wrapper and CTC head; convert a fine-tuned one)")
        elif any(k.startswith(_HF) for k in w) and lay.name != "hf":
            hint = " (Hugging Face names: use --layout hf)"
        elif any(k.startswith(_FAIRSEQ) for k in w) and lay.name == "hf":
            hint = " (fairseq names: use --layout fairseq)"
        raise CheckpointError(f"{ckpt.path}: not a {lay.name} wav2vec 2.0 "
                              f"CTC checkpoint: no {first[0]}weight{hint}")
    reasons = []
    n_conv = count_indexed(w, lay.conv_layers)
    kernels, channels = [], []
    for i in range(n_conv):
        key = next((p + "weight" for p in lay.conv(i) if p + "weight" in w),
                   None)
        if key is not None:
            channels.append(w[key].shape[0])
            kernels.append(w[key].shape[2])
        if any(p + "bias" in w for p in lay.conv(i)):
            reasons.append(f"conv layer {i} has a bias (conv_bias=True, as "
                           f"in large-lv60): ours has none")
        norms = tuple(f"{lay.conv_layers}{i}.{n}" for n in lay.norm_names)
        if i > 0 and any(k.startswith(norms) for k in w):
            reasons.append(f"conv layer {i} has a norm (the layer_norm "
                           f"feature extractor of large-lv60): ours has a "
                           f"GroupNorm on layer 0 only")
    strides = list(_DEFAULT.conv_strides)
    declared = _conv_layers(find_setting(meta, "conv_feature_layers"))
    if declared is not None:
        strides = [int(s) for _, _, s in declared]
    hf_strides = find_setting(meta, "conv_stride")
    if isinstance(hf_strides, list):
        strides = [int(s) for s in hf_strides]
    if (tuple(kernels) != tuple(_DEFAULT.conv_kernels)
            or tuple(strides) != tuple(_DEFAULT.conv_strides)):
        reasons.append(f"conv kernels {kernels} strides {strides}: ours are "
                       f"wav2vec 2.0's {list(_DEFAULT.conv_kernels)} / "
                       f"{list(_DEFAULT.conv_strides)} (20 ms frames)")
    if len(set(channels)) > 1:
        reasons.append(f"conv widths {channels}: ours share one")
    for name in ("layer_norm_first", "do_stable_layer_norm"):
        if find_setting(meta, name) is True:
            reasons.append(f"{name}=True (pre-LN transformer): ours is "
                           f"post-LN")
    for name in ("extractor_mode", "feat_extract_norm"):
        mode = find_setting(meta, name)
        if mode not in (None, "default", "group"):
            reasons.append(f"{name}={mode}: ours is the group-norm extractor")
    for name in ("activation_fn", "hidden_act", "feat_extract_activation"):
        act = find_setting(meta, name)
        if act not in (None, "gelu"):
            reasons.append(f"{name}={act}: ours uses gelu")

    proj = w.get(lay.projection + "weight")
    v = next((w[k] for k in (lay.pos_conv + "weight_v", lay.pos_conv
                             + "parametrizations.weight.original1",
                             lay.pos_conv + "weight") if k in w), None)
    fc1 = w.get(f"{lay.layers}0.{lay.fc1}weight")
    head = w.get(lay.head + "weight")
    for key, tensor in ((lay.projection + "weight", proj),
                        (lay.pos_conv + "weight_v", v),
                        (f"{lay.layers}0.{lay.fc1}weight", fc1),
                        (lay.head + "weight", head)):
        if tensor is None:
            reasons.append(f"no {key}: cannot tell the model's size")
    if reasons:
        raise CheckpointError(f"{ckpt.path}: cannot convert to our wav2vec2 "
                              f"graph:\n  " + "\n  ".join(reasons))
    d_model = proj.shape[0]
    heads = find_setting(meta, "encoder_attention_heads",
                         "num_attention_heads")
    if heads is None:
        if d_model not in _DEFAULT_HEADS:
            raise CheckpointError(
                f"{ckpt.path}: cannot tell attention heads from shapes (width "
                f"{d_model}) and the checkpoint saves no "
                f"encoder_attention_heads / num_attention_heads; pass a "
                f"--config JSON")
        heads = _DEFAULT_HEADS[d_model]
    heads = int(heads)
    if d_model % heads:
        raise CheckpointError(f"width {d_model} is not a multiple of "
                              f"{heads} heads")
    return wav2vec2.Wav2Vec2Config(
        conv_channels=channels[0], d_model=d_model,
        n_layers=count_indexed(w, lay.layers), n_heads=heads,
        d_ffn=fc1.shape[0], pos_conv_kernel=v.shape[2],
        pos_conv_groups=d_model // v.shape[1], n_classes=head.shape[0])


def _linear(ours: str, prefix: str, m: Mapping) -> None:
    m[ours + ".weight"] = Key(prefix + "weight")
    m[ours + ".bias"] = Key(prefix + "bias")


def mapping(cfg: wav2vec2.Wav2Vec2Config, lay: _Layout) -> Mapping:
    """Our parameter name -> its source in `lay`."""
    m: Mapping = {}
    for i in range(len(cfg.conv_kernels)):
        m[f"features.blocks.{i}.conv.weight"] = Key(
            *[p + "weight" for p in lay.conv(i)])
    for p in ("weight", "bias"):
        m[f"features.blocks.0.norm.{p}"] = Key(*[g + p
                                                 for g in lay.group_norm])
    _linear("feature_norm", lay.feature_norm, m)
    _linear("projection", lay.projection, m)
    m["pos_conv.conv.weight"] = WeightNorm(lay.pos_conv, dim=2)
    m["pos_conv.conv.bias"] = Key(lay.pos_conv + "bias")
    _linear("encoder_norm", lay.encoder_norm, m)
    for i in range(cfg.n_layers):
        theirs = f"{lay.layers}{i}."
        for j, x in enumerate("qkv"):
            for p in ("weight", "bias"):
                m[f"layers.{i}.attn.{x}.{p}"] = FirstOf(
                    Key(f"{theirs}{lay.attn}{x}_proj.{p}"),
                    Chunk(f"{theirs}{lay.attn}qkv.{p}", j, 3))
        _linear(f"layers.{i}.attn.out", f"{theirs}{lay.attn}out_proj.", m)
        _linear(f"layers.{i}.attn_norm", theirs + lay.attn_norm, m)
        _linear(f"layers.{i}.fc1", theirs + lay.fc1, m)
        _linear(f"layers.{i}.fc2", theirs + lay.fc2, m)
        _linear(f"layers.{i}.final_norm", theirs + lay.final_norm, m)
    _linear("ctc_head", lay.head, m)
    return m


def spec_for(cfg: wav2vec2.Wav2Vec2Config, dtype: str, plain: bool):
    """wav2vec2.spec() (or its plain-Triton form) with `cfg`'s classes."""
    spec = wav2vec2.spec(dtype)
    spec.outputs[0].dims = [-1, cfg.n_classes]
    if plain:
        from common import plain_triton
        spec = plain_triton(spec)
    return spec
