"""CTC decoder `ctc_decoder`: wav2vec 2.0 logits -> transcripts, greedily.

forward(logits [B, T, 32], logits_shape [B, 2] int64, each item's (frames,
32) from BATCH_ITEM_SHAPE) -> List[str], one transcript per item: the best
class of each valid frame, repeats collapsed, then the blank ("<pad>", 0)
and the other special tokens ("<s>", "</s>", "<unk>") dropped and the word
separator "|" read as a space (runs of spaces collapsed, none at the ends).
The labels are alphabets.CTC_LABELS, facebook/wav2vec2-base-960h's; letters
come out upper-case, as that dictionary has them and as Hugging Face's
Wav2Vec2CTCTokenizer returns them.

Frames past an item's own length are never read, so a padded item's
transcript is its transcript alone.
"""

from typing import List, Tuple

import torch
from torch import nn

import alphabets
from common import (BatchInputSpec, ModelSpec, PaddedCheck, TensorSpec,
                    float_type)


class CtcGreedyDecoder(nn.Module):
    def __init__(self):
        super().__init__()
        labels = alphabets.CTC_LABELS
        # What each class writes: nothing for the special tokens.
        self.text: List[str] = [
            "" if label in alphabets.CTC_SPECIAL
            else " " if label == alphabets.CTC_WORD_SEPARATOR else label
            for label in labels]
        self.first_written = len(alphabets.CTC_SPECIAL)
        assert all(labels.index(s) < self.first_written
                   for s in alphabets.CTC_SPECIAL)

    def forward(self, logits: torch.Tensor,
                logits_shape: torch.Tensor) -> List[str]:
        frames = logits_shape[:, 0].to(logits.device)
        # fp16 logits: take the best class in fp32 (CPU argmax needs it too).
        best = logits.float().argmax(dim=2)                      # [B, T]
        n = best.shape[1]
        valid = torch.arange(n, device=best.device)[None, :] < frames[:, None]
        changed = torch.ones_like(valid)
        changed[:, 1:] = best[:, 1:] != best[:, :-1]
        keep = valid & changed & (best >= self.first_written)
        best = best.cpu()
        keep = keep.cpu()
        transcripts: List[str] = []
        for b in range(best.shape[0]):
            ids: List[int] = best[b][keep[b]].tolist()
            text = "".join([self.text[i] for i in ids])
            transcripts.append(" ".join(text.split()))
        return transcripts


def spec(dtype: str) -> ModelSpec:
    """Logits of any length share a batch, padded with 0; the server passes
    each item's shape as LOGITS_SHAPE. LOGITS has wav2vec2's data type so
    that the `asr` ensemble can pass them on as they are."""
    return ModelSpec(
        name="ctc_decoder", max_batch_size=16,
        inputs=[TensorSpec("LOGITS", float_type(dtype),
                           [-1, len(alphabets.CTC_LABELS)], pad_value=0,
                           constraints={"min_length": 1})],
        outputs=[TensorSpec("TRANSCRIPT", "TYPE_STRING", [1])],
        batch_inputs=[BatchInputSpec("BATCH_ITEM_SHAPE", "LOGITS_SHAPE",
                                     "TYPE_INT64", "LOGITS")],
        instance_count=1, dynamic_batching=True, max_queue_delay_us=1000)


def build(dtype: str) -> Tuple[torch.jit.ScriptModule, ModelSpec]:
    return torch.jit.script(CtcGreedyDecoder().eval()), spec(dtype)


def item_shape(logits: torch.Tensor) -> torch.Tensor:
    """logits_shape [B, 2] for a batch without padding."""
    return torch.tensor([list(logits.shape[1:])] * logits.shape[0],
                        dtype=torch.long)


def decode_reference(ids: List[int]) -> str:
    """The same decoding in plain Python, from per-frame best classes."""
    out = []
    previous = -1
    for i in ids:
        if i != previous and i >= len(alphabets.CTC_SPECIAL):
            label = alphabets.CTC_LABELS[i]
            out.append(" " if label == alphabets.CTC_WORD_SEPARATOR
                       else label)
        previous = i
    return " ".join("".join(out).split())


def padded_batch_check(model: torch.jit.ScriptModule,
                       items: List[torch.Tensor]) -> PaddedCheck:
    """Decodes each [1, T, 32] item alone and all padded together (with 0);
    the transcripts must be equal, and equal to decode_reference's."""
    longest = max(x.shape[1] for x in items)
    width = items[0].shape[2]
    batch = torch.zeros(len(items), longest, width, dtype=items[0].dtype)
    for i, x in enumerate(items):
        batch[i, :x.shape[1]] = x[0]
    shapes = torch.tensor([[x.shape[1], width] for x in items])
    check = PaddedCheck()
    with torch.inference_mode():
        together = model(batch, shapes)
        for i, x in enumerate(items):
            alone = model(x, item_shape(x))[0]
            reference = decode_reference(x[0].float().argmax(dim=1).tolist())
            if together[i] != alone or alone != reference:
                check.failure = (f"item {i}: {together[i]!r} batched, "
                                 f"{alone!r} alone, {reference!r} expected")
                return check
    check.note = (f"frames {[x.shape[1] for x in items]}, transcripts "
                  f"equal")
    return check
