"""The speech pipelines as Triton ensembles, and the same chains in Python.

`tts`: TEXT -> tts_frontend -> fastpitch -> hifigan -> AUDIO (and MEL);
`asr`: AUDIO -> wav2vec2 -> ctc_decoder -> TRANSCRIPT. Each step is an
ordinary model with its own batcher; between steps a tensor is each
request's own (cut by the step's batch_output), then padded again by the
next step's ragged_padding.

tts_chain() and asr_chain() run the saved step models the way the server
would: each step on a batch of requests, inputs padded to the longest as
ragged_padding does, batch inputs built from the item shapes, outputs cut
back per request by their batch_output rule. Run on requests together and
one by one, they show that no request's result depends on the others.
"""

from typing import Dict, List, Tuple

import torch
import torch.nn.functional as F

import ctc_decoder
import fastpitch
import hifigan
import text_frontend
import wav2vec2
from common import (EnsembleSpec, EnsembleStep, ModelSpec, PaddedCheck,
                    TensorSpec, float_type)

WAV2VEC2_SAMPLE_RATE = 16000


def _first_step_input(spec: ModelSpec, name: str) -> TensorSpec:
    """The ensemble input that feeds `spec`'s input `name`: the same type,
    dims and constraints, so that a request the first step cannot take is
    refused when it arrives, naming the ensemble's own input, rather than
    as something a step produced."""
    step_input = next(t for t in spec.inputs if t.name == name)
    return TensorSpec(name, step_input.data_type, list(step_input.dims),
                      constraints=dict(step_input.constraints or {}))


def tts(dtype: str) -> EnsembleSpec:
    ft = float_type(dtype)
    return EnsembleSpec(
        name="tts", max_batch_size=8,
        inputs=[_first_step_input(text_frontend.spec(), "TEXT")],
        outputs=[TensorSpec("AUDIO", ft, [-1]),
                 TensorSpec("MEL", ft, [hifigan.N_MEL_CHANNELS, -1])],
        steps=[
            EnsembleStep("tts_frontend", {"TEXT": "TEXT"},
                         {"SYMBOLS": "symbols"}),
            # FastPitch's mel is both the ensemble's MEL and HiFi-GAN's.
            EnsembleStep("fastpitch", {"INPUT__0": "symbols"},
                         {"OUTPUT__0": "MEL"}),
            EnsembleStep("hifigan", {"MEL": "MEL"}, {"AUDIO": "AUDIO"}),
        ])


def asr(dtype: str) -> EnsembleSpec:
    return EnsembleSpec(
        name="asr", max_batch_size=16,
        inputs=[_first_step_input(wav2vec2.spec(dtype), "AUDIO")],
        outputs=[TensorSpec("TRANSCRIPT", "TYPE_STRING", [1])],
        steps=[
            EnsembleStep("wav2vec2", {"AUDIO": "AUDIO"},
                         {"LOGITS": "logits"}),
            EnsembleStep("ctc_decoder", {"LOGITS": "logits"},
                         {"TRANSCRIPT": "TRANSCRIPT"}),
        ])


ENSEMBLES = {"tts": tts, "asr": asr}


def step_specs(dtype: str) -> Dict[str, ModelSpec]:
    """The configs of every model an ensemble here names."""
    return {"tts_frontend": text_frontend.spec(),
            "fastpitch": fastpitch.spec(dtype),
            "hifigan": hifigan.spec(dtype),
            "wav2vec2": wav2vec2.spec(dtype),
            "ctc_decoder": ctc_decoder.spec(dtype)}


def _pad_last(items: List[torch.Tensor]) -> torch.Tensor:
    """[1, ..., T_i] items -> [B, ..., max T] padded with 0 at the end."""
    longest = max(x.shape[-1] for x in items)
    return torch.cat([F.pad(x, (0, longest - x.shape[-1])) for x in items])


def _pad_rows(items: List[torch.Tensor]) -> torch.Tensor:
    """[1, T_i, C] items -> [B, max T, C] padded with 0."""
    longest = max(x.shape[1] for x in items)
    return torch.cat([F.pad(x, (0, 0, 0, longest - x.shape[1]))
                      for x in items])


def tts_chain(models: Dict[str, torch.jit.ScriptModule],
              texts: List[str]) -> List[Tuple[torch.Tensor, torch.Tensor]]:
    """Each text's (mel [1, 80, frames], audio [1, samples]), all texts going
    through every step as one batch."""
    with torch.inference_mode():
        symbols, counts, _ = models["tts_frontend"](texts)
        per_text = [symbols[i:i + 1, :int(counts[i, 0])]
                    for i in range(len(texts))]
        mel, mel_lens = models["fastpitch"](_pad_last(per_text))[:2]
        mels = [mel[i:i + 1, :, :int(mel_lens[i])]
                for i in range(len(texts))]
        shapes = torch.tensor([list(m.shape[1:]) for m in mels])
        audio, lengths = models["hifigan"](_pad_last(mels), shapes)
    return [(mels[i], audio[i:i + 1, :int(lengths[i, 0])])
            for i in range(len(texts))]


def asr_chain(models: Dict[str, torch.jit.ScriptModule],
              clips: List[torch.Tensor]) -> List[str]:
    """Each [1, N] 16 kHz clip's transcript, all clips as one batch."""
    with torch.inference_mode():
        lengths = torch.tensor([[c.shape[1]] for c in clips])
        logits, frames = models["wav2vec2"](_pad_last(clips), lengths)
        per_clip = [logits[i:i + 1, :int(frames[i, 0])]
                    for i in range(len(clips))]
        shapes = torch.tensor([list(x.shape[1:]) for x in per_clip])
        return models["ctc_decoder"](_pad_rows(per_clip), shapes)


def to_16k(audio: torch.Tensor) -> torch.Tensor:
    """[1, N] 22,050 Hz audio resampled (linearly) for wav2vec 2.0."""
    n = max(wav2vec2.MIN_SAMPLES, round(
        audio.shape[1] * WAV2VEC2_SAMPLE_RATE / hifigan.SAMPLE_RATE))
    return F.interpolate(audio[:, None], size=n, mode="linear",
                         align_corners=False)[:, 0]


def tts_check(models: Dict[str, torch.jit.ScriptModule],
              texts: List[str]) -> Tuple[PaddedCheck, List[torch.Tensor]]:
    """The texts through tts together and one by one; returns the check
    (mel and audio compared) and each text's audio alone."""
    together = tts_chain(models, texts)
    check = PaddedCheck()
    audios = []
    for i, text in enumerate(texts):
        mel, audio = tts_chain(models, [text])[0]
        if (mel.shape != together[i][0].shape
                or audio.shape != together[i][1].shape):
            check.failure = (f"text {i}: mel {list(together[i][0].shape)} "
                             f"and audio {list(together[i][1].shape)} "
                             f"together, {list(mel.shape)} and "
                             f"{list(audio.shape)} alone")
            return check, audios
        check.add(together[i][0], mel)
        check.add(together[i][1], audio)
        audios.append(audio)
    seconds = [round(a.shape[1] / hifigan.SAMPLE_RATE, 2) for a in audios]
    check.note = f"{len(texts)} texts, audio s {seconds} equal"
    return check, audios


def asr_check(models: Dict[str, torch.jit.ScriptModule],
              clips: List[torch.Tensor]) -> Tuple[PaddedCheck, List[str]]:
    """The clips through asr together and one by one; transcripts must be
    equal."""
    together = asr_chain(models, clips)
    check = PaddedCheck()
    for i, clip in enumerate(clips):
        alone = asr_chain(models, [clip])[0]
        if alone != together[i]:
            check.failure = (f"clip {i}: {together[i]!r} together, "
                             f"{alone!r} alone")
            return check, together
    check.note = f"{len(clips)} clips, transcripts equal"
    return check, together
