"""Tests of the speech pipeline models (hifigan, ctc_decoder) and ensembles.

    /usr/bin/python3 models/export/pipeline_models_test.py

The text front-end has its own, text_frontend_test.py.
"""

import os
import sys
import unittest

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import alphabets  # noqa: E402
import common  # noqa: E402
import ctc_decoder  # noqa: E402
import hifigan  # noqa: E402
import pipelines  # noqa: E402
import wav2vec2  # noqa: E402


def one_hot_logits(labels):
    ids = [alphabets.CTC_LABELS.index(s) for s in labels]
    logits = torch.full((1, len(ids), 32), -3.0)
    for t, i in enumerate(ids):
        logits[0, t, i] = 3.0
    return logits


class CtcDecoderTest(unittest.TestCase):
    model = ctc_decoder.build("fp32")[0]

    def decode(self, labels):
        logits = one_hot_logits(labels)
        return self.model(logits, ctc_decoder.item_shape(logits))[0]

    def test_alphabet_is_wav2vec2_base_960h(self):
        self.assertEqual(alphabets.CTC_LABELS[:5],
                         ["<pad>", "<s>", "</s>", "<unk>", "|"])
        self.assertEqual("".join(alphabets.CTC_LABELS[5:]),
                         "ETAONIHSRDLUMWCFGYPBVK'XJQZ")
        self.assertEqual(wav2vec2.Wav2Vec2Config().n_classes,
                         len(alphabets.CTC_LABELS))

    def test_greedy_decoding(self):
        self.assertEqual(self.decode(
            ["H", "H", "E", "<pad>", "L", "L", "<pad>", "L", "O", "|", "|",
             "<pad>", "|", "I", "T", "'", "S"]), "HELLO IT'S")
        # Blanks and special tokens only: nothing.
        self.assertEqual(self.decode(["<pad>", "<s>", "</s>", "<unk>"]), "")
        # No spaces at the ends; special tokens separate repeats too.
        self.assertEqual(self.decode(["|", "A", "<unk>", "A", "|"]), "AA")

    def test_frames_past_the_length_are_not_read(self):
        logits = one_hot_logits(["O", "K", "|", "N", "O"])
        shape = torch.tensor([[2, 32]])
        self.assertEqual(self.model(logits, shape), ["OK"])

    def test_padded_batch(self):
        gen = torch.Generator().manual_seed(1)
        items = [torch.randn(1, n, 32, generator=gen) for n in (5, 49, 17)]
        check = ctc_decoder.padded_batch_check(self.model, items)
        self.assertTrue(check.ok, str(check))

    def test_fp16_logits(self):
        logits = one_hot_logits(["N", "O"]).half()
        model = ctc_decoder.build("fp16")[0]
        self.assertEqual(model(logits, ctc_decoder.item_shape(logits)),
                         ["NO"])


class HiFiGANTest(unittest.TestCase):
    model = hifigan.build("tiny", "fp32")[0]

    def test_full_size_is_dle_v1(self):
        cfg = hifigan.CONFIGS["full"]
        self.assertEqual(list(cfg.upsample_rates), [8, 8, 2, 2])
        self.assertEqual(list(cfg.upsample_kernel_sizes), [16, 16, 4, 4])
        self.assertEqual(cfg.upsample_initial_channel, 512)
        self.assertEqual(cfg.hop_length, 256)
        params = sum(p.numel() for p in hifigan.Generator(cfg).parameters())
        self.assertEqual(params, 13926017)   # HiFi-GAN V1: 13.9 M.

    def test_audio_is_256_samples_a_frame(self):
        mel = hifigan.random_mel(11, seed=1)
        audio, lengths = self.model(mel, hifigan.item_shape(mel))
        self.assertEqual(list(audio.shape), [1, 11 * 256])
        self.assertEqual(lengths.tolist(), [[11 * 256]])
        self.assertLess(float(audio.abs().max()), 1.0)
        # The audio follows the mel (weights not degenerate).
        other = hifigan.random_mel(11, seed=2)
        differs = (self.model(other, hifigan.item_shape(other))[0]
                   - audio).abs().mean()
        self.assertGreater(float(differs), 1e-3)

    def test_padded_batch(self):
        mels = [hifigan.random_mel(n, seed=n) for n in (1, 9, 30)]
        check = hifigan.padded_batch_check(self.model, mels)
        self.assertTrue(check.ok, str(check))

    def test_padding_past_the_end_is_zero(self):
        mels = [hifigan.random_mel(n, seed=n) for n in (4, 10)]
        batch = torch.zeros(2, 80, 10)
        batch[0, :, :4] = mels[0][0]
        batch[0, :, 4:] = 123.0          # Whatever the pad value.
        batch[1] = mels[1][0]
        audio, lengths = self.model(batch, torch.tensor([[80, 4], [80, 10]]))
        self.assertEqual(lengths.tolist(), [[1024], [2560]])
        self.assertTrue(bool((audio[0, 1024:] == 0).all()))
        alone = self.model(mels[0], hifigan.item_shape(mels[0]))[0]
        self.assertLess(float((audio[0, :1024] - alone[0]).abs().max()), 1e-5)


class EnsembleTest(unittest.TestCase):
    def test_wiring(self):
        for dtype in ("fp32", "fp16"):
            for name, make in pipelines.ENSEMBLES.items():
                with self.subTest(ensemble=name, dtype=dtype):
                    self.assertEqual(common.ensemble_problems(
                        make(dtype), pipelines.step_specs(dtype)), [])

    def test_wiring_problems_are_found(self):
        spec = pipelines.tts("fp32")
        spec.steps[1].input_map = {"INPUT__0": "nothing"}
        spec.steps[2].output_map = {"AUDIO": "SOUND"}
        spec.max_batch_size = 16
        problems = common.ensemble_problems(spec,
                                            pipelines.step_specs("fp32"))
        text = "\n".join(problems)
        self.assertIn("'nothing', which nothing produces", text)
        self.assertIn("ensemble output 'AUDIO' is produced by no step", text)
        self.assertIn("max_batch_size 8 < the ensemble's 16", text)
        mixed = pipelines.asr("fp32")
        problems = common.ensemble_problems(mixed,
                                            pipelines.step_specs("fp16"))
        self.assertIn("is TYPE_FP16", "\n".join(problems))

    def test_config_text(self):
        text = common.render_ensemble_config(pipelines.asr("fp32"))
        self.assertTrue(text.startswith(
            'name: "asr"\nplatform: "ensemble"\nmax_batch_size: 16\n'))
        self.assertIn('      model_name: "ctc_decoder"\n'
                      '      model_version: -1\n'
                      '      input_map {\n'
                      '        key: "LOGITS"\n'
                      '        value: "logits"\n'
                      '      }\n', text)
        self.assertTrue(text.endswith("    }\n  ]\n}\n"))


if __name__ == "__main__":
    unittest.main()
