"""The symbol tables the speech models share, in one place.

FASTPITCH_SYMBOLS: FastPitch's input ids, NVIDIA DeepLearningExamples'
`english_basic` set (PyTorch/SpeechSynthesis/FastPitch/common/text/symbols.py,
`get_symbols("english_basic")`): the pad "_", the special "-", the punctuation
"!'(),.:;? " (space included), the letters A-Z then a-z, then CMUdict's 84
ARPAbet symbols (common/text/cmudict.py `valid_symbols`), each prefixed "@".
1 + 1 + 10 + 52 + 84 = 148 ids; 0 is the pad, which FastPitch masks.

CTC_LABELS: wav2vec 2.0's 32 output classes, in the order of fairseq's letter
dictionary as Hugging Face's facebook/wav2vec2-base-960h ships it
(vocab.json): "<pad>" (0, also the CTC blank: pad_token_id 0), "<s>", "</s>",
"<unk>", the word separator "|", then letters by frequency and the apostrophe.
"""

from typing import List

_ARPABET = [
    "AA", "AA0", "AA1", "AA2", "AE", "AE0", "AE1", "AE2", "AH", "AH0", "AH1",
    "AH2", "AO", "AO0", "AO1", "AO2", "AW", "AW0", "AW1", "AW2", "AY", "AY0",
    "AY1", "AY2", "B", "CH", "D", "DH", "EH", "EH0", "EH1", "EH2", "ER", "ER0",
    "ER1", "ER2", "EY", "EY0", "EY1", "EY2", "F", "G", "HH", "IH", "IH0",
    "IH1", "IH2", "IY", "IY0", "IY1", "IY2", "JH", "K", "L", "M", "N", "NG",
    "OW", "OW0", "OW1", "OW2", "OY", "OY0", "OY1", "OY2", "P", "R", "S", "SH",
    "T", "TH", "UH", "UH0", "UH1", "UH2", "UW", "UW0", "UW1", "UW2", "V", "W",
    "Y", "Z", "ZH",
]

FASTPITCH_PAD = "_"
FASTPITCH_SYMBOLS: List[str] = (
    list(FASTPITCH_PAD + "-" + "!'(),.:;? "
         + "ABCDEFGHIJKLMNOPQRSTUVWXYZ" + "abcdefghijklmnopqrstuvwxyz")
    + ["@" + s for s in _ARPABET])

CTC_BLANK = "<pad>"
CTC_WORD_SEPARATOR = "|"
CTC_SPECIAL = ["<pad>", "<s>", "</s>", "<unk>"]
CTC_LABELS: List[str] = CTC_SPECIAL + [CTC_WORD_SEPARATOR] + list(
    "ETAONIHSRDLUMWCFGYPBVK'XJQZ")

assert len(_ARPABET) == 84 and len(FASTPITCH_SYMBOLS) == 148
assert len(set(FASTPITCH_SYMBOLS)) == len(FASTPITCH_SYMBOLS)
assert len(CTC_LABELS) == 32 and CTC_LABELS.index(CTC_BLANK) == 0
