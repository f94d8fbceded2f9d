"""Tests for the checkpoint converters (convert_checkpoint.py and friends).

    PYTHONHASHSEED=0 /usr/bin/python3 models/export/convert/checkpoints_test.py

Synthetic checkpoints come from checkpoints_test_references.py: module trees with
the published key names and shapes (tiny widths; the layouts fix no width),
random values, saved in each published container. Each conversion is
checked three ways: the saved TorchScript against our module loaded with
the same weights (batches with padding), against the reference computation
(torch's own weight_norm included) on unpadded inputs, and, for corrupted
files, by the error it gives. Deterministic: fixed seeds, no clocks.
"""

import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from typing import Dict, List, Tuple

import torch
from torch import nn

# The converters beside this file, and the exporters (our modules, make_repository) one up.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import checkpoints_test_references as ref  # noqa: E402
import checkpoints  # noqa: E402
import convert_checkpoint  # noqa: E402
import fastpitch  # noqa: E402
import hifigan  # noqa: E402
import wav2vec2  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


class DictConfig:
    """Pickles as omegaconf's DictConfig does (its state holds _content);
    the converter never imports it: it loads as an inert stand-in."""

    def __init__(self, **content):
        self._content = {k: v if isinstance(v, DictConfig) else AnyNode(v)
                         for k, v in content.items()}

    def __getstate__(self):
        return {"_content": self._content, "_metadata": None,
                "_parent": None}


class AnyNode:
    def __init__(self, value):
        self._val = value

    def __getstate__(self):
        return {"_val": self._val, "_metadata": None, "_parent": None}


def _close(test: unittest.TestCase, got: torch.Tensor, want: torch.Tensor,
           what: str, rel: float = 1e-4) -> None:
    test.assertEqual(tuple(got.shape), tuple(want.shape), what)
    diff = float((got.double() - want.double()).abs().max())
    scale = float(want.double().abs().max()) or 1.0
    test.assertLessEqual(diff / scale, rel, f"{what}: max |diff| {diff:.3g}")


def _save_safetensors(weights: Dict[str, torch.Tensor], path: str) -> None:
    header, blobs, offset = {}, [], 0
    for name in sorted(weights):
        data = weights[name].contiguous().float().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(weights[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little") + text + b"".join(blobs))


class ConverterTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))

    def tearDown(self) -> None:
        shutil.rmtree(self.dir)

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def convert(self, *argv: str, ok: bool = True) -> str:
        """Runs the converter in-process; returns its stderr."""
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(
                io.StringIO()):
            status = convert_checkpoint.run(list(argv))
        if ok:
            self.assertEqual(status, 0, err.getvalue())
        else:
            self.assertEqual(status, 2, err.getvalue())
        return err.getvalue()

    def converted(self, model: str) -> torch.jit.ScriptModule:
        return torch.jit.load(self.path(f"repo/{model}/1/model.pt"))

    def ours(self, model: str, file: str, layout: str) -> nn.Module:
        """Our eager module with the checkpoint's weights."""
        adapter = convert_checkpoint._adapter(model)
        module, _ = adapter.build(checkpoints.load(self.path(file)), layout)
        return module.eval()

    def assert_same(self, converted, module, inputs: List[Tuple]) -> None:
        worst, problems = convert_checkpoint.compare(converted, module,
                                                     inputs)
        self.assertEqual(problems, [])
        self.assertLess(worst, 1e-4)


class WeightNormTest(unittest.TestCase):
    def test_fold_matches_torch_weight_norm(self) -> None:
        torch.manual_seed(0)
        cases = [(nn.Conv1d(6, 5, 3), 0), (nn.ConvTranspose1d(6, 4, 8, 4), 0),
                 (nn.Conv1d(8, 8, 16, groups=4), 2), (nn.Conv1d(3, 1, 7), 0)]
        for conv, dim in cases:
            wn = nn.utils.weight_norm(conv, dim=dim)
            with torch.no_grad():
                wn.weight_g.uniform_(0.5, 1.5)
            direct = torch._weight_norm(wn.weight_v, wn.weight_g, dim)
            folded = checkpoints.fold_weight_norm(wn.weight_g.detach(),
                                                  wn.weight_v.detach(), dim)
            torch.testing.assert_close(folded, direct.detach())
            # g is not ||v||: a fold that ignored g would fail here.
            self.assertGreater(float((folded - wn.weight_v).abs().max()),
                               1e-3)


class FastPitchTest(ConverterTest):
    def checkpoint(self, seed: int = 1, **kw) -> ref.DleFastPitch:
        model = ref.randomize(ref.DleFastPitch(**kw), seed).eval()
        with torch.no_grad():   # About four frames a symbol.
            model.duration_predictor.fc.weight.mul_(0.1)
            model.duration_predictor.fc.bias.fill_(1.6)
        return model

    def test_dle_checkpoint(self) -> None:
        model, averaged = self.checkpoint(1), self.checkpoint(2)
        torch.save({"epoch": 7, "iteration": 70, "config": model.config(),
                    "state_dict": {"module." + k: v
                                   for k, v in model.state_dict().items()},
                    "ema_state_dict": averaged.state_dict(),
                    "optimizer": {"state": {}, "param_groups": []}},
                   self.path("fastpitch.pt"))
        self.convert("--model", "fastpitch", "--checkpoint",
                     self.path("fastpitch.pt"), "--layout", "dle", "--out",
                     self.path("repo"), "--instance-kind", "cpu")
        ts = self.converted("fastpitch")
        texts = [torch.randint(1, 148, (1, n), generator=torch.Generator()
                               .manual_seed(n)) for n in (9, 30)]
        for text in texts:
            got, want = ts(text), model.infer(text)
            _close(self, got[0], want[0], "mel")
            self.assertTrue(torch.equal(got[1], want[1]), "mel_lens")
            _close(self, got[2], want[2].round(), "durations")
            _close(self, got[3], want[3], "pitch")
            _close(self, got[4], want[4], "energy")
        batch = torch.zeros(2, 30, dtype=torch.long)
        batch[0, :9], batch[1] = texts[0][0], texts[1][0]
        self.assert_same(ts, self.ours("fastpitch", "fastpitch.pt", "dle"),
                         [(batch,)] + [(t,) for t in texts])
        with open(self.path("repo/fastpitch/config.pbtxt")) as f:
            config = f.read()
        self.assertIn("max_value: 147", config)
        self.assertIn("KIND_CPU", config)
        # --ema takes the averaged weights.
        self.convert("--model", "fastpitch", "--checkpoint",
                     self.path("fastpitch.pt"), "--layout", "dle", "--out",
                     self.path("repo"), "--instance-kind", "cpu", "--ema",
                     "--quick")
        _close(self, self.converted("fastpitch")(texts[1])[0],
               averaged.infer(texts[1])[0], "EMA mel")

    def test_heads_without_config(self) -> None:
        # DLE's default, one head of 64, is assumed when no config is saved.
        model = self.checkpoint(3, heads=1, d_head=64)
        torch.save({"state_dict": model.state_dict()}, self.path("fp.pt"))
        self.convert("--model", "fastpitch", "--checkpoint",
                     self.path("fp.pt"), "--layout", "dle", "--out",
                     self.path("repo"), "--instance-kind", "cpu", "--quick")
        text = torch.arange(1, 21)[None]
        _close(self, self.converted("fastpitch")(text)[0],
               model.infer(text)[0], "mel")
        # Two heads of 16 look like one of 32: refused, and a --config
        # naming them converts.
        model = self.checkpoint(3)
        torch.save({"state_dict": model.state_dict()}, self.path("fp.pt"))
        err = self.convert("--model", "fastpitch", "--checkpoint",
                           self.path("fp.pt"), "--layout", "dle", "--out",
                           self.path("repo"), ok=False)
        self.assertIn("cannot tell heads", err)
        with open(self.path("config.json"), "w") as f:
            json.dump(model.config(), f)
        self.convert("--model", "fastpitch", "--checkpoint",
                     self.path("fp.pt"), "--layout", "dle", "--out",
                     self.path("repo"), "--instance-kind", "cpu", "--quick")
        _close(self, self.converted("fastpitch")(text)[0],
               model.infer(text)[0], "mel")

    def test_trace_refused(self) -> None:
        torch.save({"state_dict": self.checkpoint().state_dict(),
                    "config": self.checkpoint().config()}, self.path("fp.pt"))
        err = self.convert("--model", "fastpitch", "--checkpoint",
                           self.path("fp.pt"), "--layout", "dle", "--out",
                           self.path("repo"), "--instance-kind", "cpu",
                           "--torchscript", "trace", ok=False)
        self.assertIn("fastpitch cannot be traced", err)
        self.assertIn("predicted durations", err)
        self.assertFalse(os.path.exists(self.path("repo/fastpitch")))

    def test_unsupported_variants_refused(self) -> None:
        model = self.checkpoint(n_speakers=4)
        sd = {k: v for k, v in model.state_dict().items()
              if not k.startswith(("energy_", "pitch_emb."))}
        sd["pitch_predictor.fc.weight"] = torch.zeros(2, 24)
        torch.save({"state_dict": sd, "config": model.config(padding_idx=3)},
                   self.path("fp.pt"))
        err = self.convert("--model", "fastpitch", "--checkpoint",
                           self.path("fp.pt"), "--layout", "dle", "--out",
                           self.path("repo"), ok=False)
        for reason in ("4 speakers", "no energy predictor", "padding_idx 3",
                       "predicts 2 values"):
            self.assertIn(reason, err)


class HiFiGANTest(ConverterTest):
    def generator(self, flat: bool = False) -> ref.DleHiFiGAN:
        # DLE's rates and kernels (hop 256), narrow and with two resblocks.
        return ref.randomize(ref.DleHiFiGAN(
            initial=32, rates=(8, 8, 2, 2), kernels=(16, 16, 4, 4),
            res_kernels=(3, 7), res_dilations=((1, 3, 5), (1, 3, 5)),
            flat_resblocks=flat), 5).eval()

    def run_layout(self, gen: ref.DleHiFiGAN, sd: Dict[str, torch.Tensor],
                   mode: str) -> None:
        torch.save({"generator": sd, "gen_ema": None, "config": gen.conf,
                    "train_setup": {"sampling_rate": 22050},
                    "train_state": {"epoch": 1}}, self.path("hifigan.pt"))
        self.convert("--model", "hifigan", "--checkpoint",
                     self.path("hifigan.pt"), "--layout", "dle", "--out",
                     self.path("repo"), "--instance-kind", "cpu",
                     "--torchscript", mode, "--quick")
        ts = self.converted("hifigan")
        mels = [hifigan.random_mel(n, seed=n) for n in (7, 19)]
        for mel in mels:
            audio, lengths = ts(mel, hifigan.item_shape(mel))
            _close(self, audio, gen(mel)[:, 0], f"{mode} audio")
            self.assertEqual(int(lengths[0, 0]), mel.shape[2] * 256)
        batch = torch.zeros(2, 80, 19)
        batch[0, :, :7], batch[1] = mels[0][0], mels[1][0]
        self.assert_same(ts, self.ours("hifigan", "hifigan.pt", "dle"),
                         [(batch, torch.tensor([[80, 7], [80, 19]]))])

    def test_weight_norm_checkpoint_script_and_trace(self) -> None:
        gen = self.generator()
        self.assertIn("resblocks.1.0.convs1.2.weight_g", gen.state_dict())
        for mode in ("script", "trace"):
            self.run_layout(gen, gen.state_dict(), mode)

    def test_older_layouts(self) -> None:
        # Flat resblock numbering (before DLE's ONNX fix), saved conv2d-
        # shaped, and weight norm already removed.
        gen = self.generator(flat=True)
        sd = gen.state_dict()
        self.assertIn("resblocks.3.convs2.0.weight_v", sd)
        self.run_layout(gen, {k: v[..., None] if v.dim() == 3 else v
                              for k, v in sd.items()}, "script")
        plain = {}
        for k, v in sd.items():
            if k.endswith("weight_g"):
                prefix = k[:-len("weight_g")]
                plain[prefix + "weight"] = torch._weight_norm(
                    sd[prefix + "weight_v"], v, 0)
            elif not k.endswith("weight_v"):
                plain[k] = v
        self.run_layout(gen, plain, "script")

    def test_config_required(self) -> None:
        torch.save({"generator": self.generator().state_dict()},
                   self.path("g.pt"))
        err = self.convert("--model", "hifigan", "--checkpoint",
                           self.path("g.pt"), "--layout", "dle", "--out",
                           self.path("repo"), ok=False)
        self.assertIn("no HiFi-GAN config", err)
        self.assertIn("upsample_rates", err)


class Wav2Vec2Test(ConverterTest):
    def model(self, seed: int = 2) -> ref.FairseqW2V:
        return ref.randomize(ref.FairseqW2V(), seed).eval()

    def audio(self, n: int) -> torch.Tensor:
        return 0.1 * torch.randn(1, n, generator=torch.Generator().manual_seed(
            n))

    def check(self, model: ref.FairseqW2V, file: str, layout: str,
              plain: bool = False) -> None:
        ts = self.converted("wav2vec2")
        clips = [self.audio(n) for n in (16000, 5555)]
        for clip in clips:
            args = (clip,) if plain else (clip,
                                          torch.tensor([[clip.shape[1]]]))
            _close(self, ts(*args)[0], model(clip), f"{layout} logits")
        batch = torch.zeros(2, 16000)
        batch[0], batch[1, :5555] = clips[0][0], clips[1][0]
        inputs = (batch,) if plain else (batch, torch.tensor([[16000],
                                                              [5555]]))
        ours = self.ours("wav2vec2", file, layout)
        if plain:
            ours = convert_checkpoint.Wav2Vec2Adapter().wrap(ours, True)
        self.assert_same(ts, ours, [inputs])

    def test_fairseq_checkpoint(self) -> None:
        model = self.model()
        # fairseq pickles its arguments as an argparse.Namespace (newer
        # versions an omegaconf 'cfg'), which torch's weights-only loader
        # refuses; the converter reads them without importing anything.
        torch.save({"args": argparse.Namespace(**model.args()),
                    "model": model.state_dict(), "optimizer_history": [],
                    "extra_state": {"epoch": 3}}, self.path("w2v.pt"))
        self.convert("--model", "wav2vec2", "--checkpoint",
                     self.path("w2v.pt"), "--layout", "fairseq", "--out",
                     self.path("repo"), "--instance-kind", "cpu")
        self.check(model, "w2v.pt", "fairseq")
        cfg = DictConfig(model=DictConfig(
            _name="wav2vec_ctc", w2v_args=DictConfig(model=DictConfig(
                **model.args()))))
        torch.save({"cfg": cfg, "model": model.state_dict()},
                   self.path("w2v.pt"))
        self.assertEqual(checkpoints.load(self.path("w2v.pt")).meta["cfg"][
            "model"]["w2v_args"]["model"]["encoder_attention_heads"], 4)
        self.convert("--model", "wav2vec2", "--checkpoint",
                     self.path("w2v.pt"), "--layout", "fairseq", "--out",
                     self.path("repo"), "--instance-kind", "cpu", "--quick")
        self.check(model, "w2v.pt", "fairseq")

    def test_dle_checkpoint(self) -> None:
        # DLE's masked feature extractor names its convs and norm; its fused
        # attention saves q/k/v (a fused qkv is read too).
        model, averaged = self.model(2), self.model(3)
        sd = {}
        for k, v in averaged.state_dict().items():
            k = k.replace("conv_layers.0.2.", "conv_layers.0.norm.")
            for i in range(7):
                k = k.replace(f"conv_layers.{i}.0.", f"conv_layers.{i}.conv.")
            sd[k] = v
        for i in range(2):
            p = f"w2v_encoder.w2v_model.encoder.layers.{i}.self_attn."
            for param in ("weight", "bias"):
                sd[f"{p}qkv.{param}"] = torch.cat(
                    [sd.pop(f"{p}{x}_proj.{param}") for x in "qkv"])
        torch.save({"args": model.args(), "model": model.state_dict(),
                    "ema_model": sd, "train_state": {"step": 10}},
                   self.path("w2v.pt"))
        for ema, expected in ((False, model), (True, averaged)):
            self.convert("--model", "wav2vec2", "--checkpoint",
                         self.path("w2v.pt"), "--layout", "dle", "--out",
                         self.path("repo"), "--instance-kind", "cpu",
                         "--quick", *(["--ema"] if ema else []))
            _close(self, self.converted("wav2vec2")(
                self.audio(8000), torch.tensor([[8000]]))[0],
                expected(self.audio(8000)), f"ema={ema}")

    def test_hugging_face_folder_and_safetensors(self) -> None:
        model = self.model()
        os.makedirs(self.path("hf"))
        hf = ref.hf_wav2vec2(model).state_dict()
        self.assertIn("wav2vec2.encoder.pos_conv_embed.conv.weight_g", hf)
        torch.save(hf, self.path("hf/pytorch_model.bin"))
        with open(self.path("hf/config.json"), "w") as f:
            json.dump({"architectures": ["Wav2Vec2ForCTC"],
                       "num_attention_heads": 4, "feat_extract_norm": "group",
                       "do_stable_layer_norm": False, "hidden_act": "gelu",
                       "conv_stride": [5, 2, 2, 2, 2, 2, 2],
                       "vocab_size": 32}, f)
        self.convert("--model", "wav2vec2", "--checkpoint", self.path("hf"),
                     "--layout", "hf", "--out", self.path("repo"),
                     "--instance-kind", "cpu", "--torchscript", "trace",
                     "--quick")
        self.check(model, "hf/pytorch_model.bin", "hf")
        # torch >= 2.1 names weight_norm's g and v after its parametrization.
        renamed = {k.replace("conv.weight_g",
                             "conv.parametrizations.weight.original0")
                   .replace("conv.weight_v",
                            "conv.parametrizations.weight.original1"): v
                   for k, v in hf.items()}
        os.remove(self.path("hf/pytorch_model.bin"))
        _save_safetensors(renamed, self.path("hf/model.safetensors"))
        self.convert("--model", "wav2vec2", "--checkpoint", self.path("hf"),
                     "--layout", "hf", "--out", self.path("repo"),
                     "--instance-kind", "cpu", "--quick")
        self.check(model, "hf/model.safetensors", "hf")

    def test_plain_triton_trace(self) -> None:
        model = self.model()
        torch.save({"args": model.args(), "model": model.state_dict()},
                   self.path("w2v.pt"))
        self.convert("--model", "wav2vec2", "--checkpoint",
                     self.path("w2v.pt"), "--layout", "fairseq", "--out",
                     self.path("repo"), "--instance-kind", "cpu",
                     "--torchscript", "trace", "--plain-triton", "--quick")
        self.check(model, "w2v.pt", "fairseq", plain=True)
        with open(self.path("repo/wav2vec2/config.pbtxt")) as f:
            config = f.read()
        self.assertNotIn("batch_input", config)

    def test_unsupported_variants_refused(self) -> None:
        model = self.model()
        sd = model.state_dict()
        p = "w2v_encoder.w2v_model.feature_extractor.conv_layers."
        sd[p + "3.0.bias"] = torch.zeros(32)
        sd[p + "3.2.1.weight"] = torch.ones(32)
        torch.save({"args": dict(model.args(), layer_norm_first=True),
                    "model": sd}, self.path("w2v.pt"))
        err = self.convert("--model", "wav2vec2", "--checkpoint",
                           self.path("w2v.pt"), "--layout", "fairseq",
                           "--out", self.path("repo"), ok=False)
        for reason in ("conv layer 3 has a bias", "conv layer 3 has a norm",
                       "layer_norm_first=True"):
            self.assertIn(reason, err)
        # Names of the other layout get a hint.
        torch.save(ref.hf_wav2vec2(model).state_dict(), self.path("hf.bin"))
        err = self.convert("--model", "wav2vec2", "--checkpoint",
                           self.path("hf.bin"), "--layout", "fairseq",
                           "--out", self.path("repo"), ok=False)
        self.assertIn("use --layout hf", err)

    def test_deterministic_across_processes(self) -> None:
        model = self.model()
        torch.save({"args": model.args(), "model": model.state_dict()},
                   self.path("w2v.pt"))
        argv = ["--model", "wav2vec2", "--checkpoint", self.path("w2v.pt"),
                "--layout", "fairseq", "--instance-kind", "cpu", "--quick"]
        # Fresh processes: within one, TorchScript renames the classes of
        # each further module it compiles.
        for out in "ab":
            subprocess.run([sys.executable, os.path.join(
                HERE, "convert_checkpoint.py"), *argv, "--out",
                self.path(out)], check=True, stdout=subprocess.DEVNULL)
        files = []
        for out in "ab":
            with open(self.path(f"{out}/wav2vec2/1/model.pt"), "rb") as f:
                files.append(f.read())
        self.assertEqual(files[0], files[1])


class PublishedSizesTest(unittest.TestCase):
    """Full-size published shapes (default values, no forward pass) infer
    exactly our full configs and pass every shape check."""

    def build(self, adapter, reference: nn.Module, meta, layout: str):
        ckpt = checkpoints.Checkpoint("full", reference.state_dict(), meta,
                                      "")
        return convert_checkpoint._adapter(adapter).build(ckpt, layout)[1]

    def test_fastpitch(self) -> None:
        # DLE's defaults (fastpitch/arg_parser.py); no saved config.
        cfg = self.build("fastpitch", ref.DleFastPitch(
            d=384, layers=(6, 6), heads=1, d_head=64, inner=1536,
            filters=256), {}, "dle")
        self.assertEqual(cfg, fastpitch.CONFIGS["full"])

    def test_hifigan(self) -> None:
        gen = ref.DleHiFiGAN(initial=512, rates=(8, 8, 2, 2),
                             kernels=(16, 16, 4, 4), res_kernels=(11, 7, 3),
                             res_dilations=((1, 3, 5),) * 3)
        self.assertEqual(self.build("hifigan", gen, {"config": gen.conf},
                                    "dle"), hifigan.CONFIGS["full"])

    def test_wav2vec2_base(self) -> None:
        # wav2vec2-base: 12 heads assumed for width 768.
        cfg = self.build("wav2vec2", ref.FairseqW2V(
            c=512, d=768, layers=12, heads=12, ffn=3072, pos_k=128,
            pos_groups=16), {}, "fairseq")
        self.assertEqual(cfg, wav2vec2.CONFIGS["full"])


class MismatchTest(ConverterTest):
    """A missing, an extra and a mis-shaped key: all three, in one error."""

    def corrupt(self, sd: Dict[str, torch.Tensor], missing: str,
                extra: str, reshaped: str) -> Dict[str, torch.Tensor]:
        sd = dict(sd)
        self.assertIn(missing, sd)
        self.assertIn(reshaped, sd)
        del sd[missing]
        sd[extra] = torch.zeros(3)
        shape = list(sd[reshaped].shape)
        shape[-1] += 1
        sd[reshaped] = torch.zeros(shape)
        self.expected = (missing, extra, reshaped, list(sd[reshaped].shape))
        return sd

    def assert_listed(self, model: str, layout: str) -> None:
        missing, extra, reshaped, found = self.expected
        with self.assertRaises(checkpoints.MismatchError) as caught:
            self.ours(model, "bad.pt", layout)
        e = caught.exception
        self.assertEqual(e.missing, [missing])
        self.assertEqual(e.unexpected, [extra])
        self.assertEqual([(k, list(f)) for k, _, f in e.misshaped],
                         [(reshaped, found)])
        err = self.convert("--model", model, "--checkpoint",
                           self.path("bad.pt"), "--layout", layout, "--out",
                           self.path("repo"), ok=False)
        self.assertIn(f"missing key: {missing}", err)
        self.assertIn(f"unexpected key: {extra}", err)
        self.assertIn(f"mis-shaped key: {reshaped} expected", err)
        self.assertIn(f"found {found}", err)
        self.assertFalse(os.path.exists(self.path(f"repo/{model}")))

    def test_fastpitch(self) -> None:
        model = ref.DleFastPitch()
        torch.save({"config": model.config(), "state_dict": self.corrupt(
            model.state_dict(), "decoder.layers.1.pos_ff.layer_norm.bias",
            "encoder.layers.0.dec_attn.extra.weight",
            "energy_predictor.layers.1.conv.weight")}, self.path("bad.pt"))
        self.assert_listed("fastpitch", "dle")

    def test_hifigan(self) -> None:
        gen = ref.DleHiFiGAN(rates=(8, 8, 2, 2), kernels=(16, 16, 4, 4))
        torch.save({"config": gen.conf, "generator": self.corrupt(
            gen.state_dict(), "resblocks.2.1.convs2.1.weight_g",
            "resblocks.2.1.convs3.0.weight", "ups.1.weight_v")},
            self.path("bad.pt"))
        self.assert_listed("hifigan", "dle")

    def test_wav2vec2(self) -> None:
        model = ref.FairseqW2V()
        p = "w2v_encoder.w2v_model.encoder.layers.1."
        torch.save({"args": model.args(), "model": self.corrupt(
            model.state_dict(), p + "self_attn.k_proj.bias",
            p + "self_attn.rotary.inv_freq", p + "fc2.weight")},
            self.path("bad.pt"))
        self.assert_listed("wav2vec2", "fairseq")


if __name__ == "__main__":
    unittest.main(verbosity=2)
