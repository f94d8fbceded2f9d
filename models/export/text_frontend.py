"""Text front-end `tts_frontend`: sentences -> FastPitch symbol ids, in TorchScript.

forward(text: List[str]) -> (symbols [B, T] int64, 0-padded; symbol_count
[B, 1]; dropped [B, 1]), one row per string. The ids are NVIDIA
DeepLearningExamples' `english_basic` set (alphabets.FASTPITCH_SYMBOLS, 148
ids) and the cleaning is DLE's `english_cleaners` as its TextProcessing
applies it (currency first, then per text: ASCII, lower case, numbers,
abbreviations, whitespace), rewritten as small scanners because TorchScript
has no regular expressions:

- currency: "$5.50" -> "five dollars, fifty cents", "£3" -> "three pounds",
  "€2" -> "two euros", "$2 million" -> "two million dollars";
- commas inside numbers go ("1,000" -> "1000"), decimals are read out
  ("3.5" -> "three point five"), ordinals ("22nd" -> "twenty second"),
  "3x4" -> "three by four", then every number in words as inflect writes
  them ("one hundred and one"); years 1001-2999 in pairs ("nineteen eighty
  four", "two thousand five"), round hundreds below 10000 as "fifteen
  hundred"; a trailing "s" or "'s" makes a plural ("1990s" -> "nineteen
  nineties");
- "%" -> " percent"; the abbreviations "mrs. ms. mr. dr. st. co. jr. maj.
  gen. drs. rev. lt. hon. sgt. capt. esq. ltd. col. ft. sen." spelled out;
- whitespace collapsed; "{HH AH0 L OW1}" is ARPAbet (DLE's braces), one id
  per known symbol.

Every character that is not in the symbol set afterwards is dropped and
counted in `dropped` (non-ASCII characters count once each, after the
accented Latin letters and typographic punctuation are transliterated the way
unidecode would). Deliberate differences from DLE: words are always separated
by spaces (inflect's hyphens and commas go everywhere, where DLE keeps them in
ordinals and amounts), "$5.5" is fifty cents, the plural of "won" is "won",
the round-hundreds rule stops at 9999 as DLE's _expand_hundreds does (its
_expand_number has a chained comparison that also catches 25300), "_" (the
pad, id 0, which FastPitch masks) is never emitted for text, runs of spaces
left by dropped characters are collapsed, and a text with nothing left to
speak (only characters outside the set, or only spaces) gets no symbols at all
(SYMBOL_COUNT 0): FastPitch's input constraint then refuses it with
INVALID_ARGUMENT in the `tts` ensemble, instead of the noise of one space.

TorchScript strings are UTF-8 bytes, so the module decodes code points itself;
run eagerly it reads Python's code points instead, with the same results.
"""

import unicodedata
from typing import Dict, List, Tuple

import torch
from torch import nn

import alphabets
from common import BatchOutputSpec, ModelSpec, TensorSpec

# Internal stand-ins for the non-ASCII currency signs between transliteration
# and currency expansion. Control characters from the text itself are dropped
# before, so these can only come from the signs.
_POUND, _EURO, _WON = "\x01", "\x02", "\x03"

_PUNCTUATION = {
    0x00A0: " ", 0x2000: " ", 0x2001: " ", 0x2002: " ", 0x2003: " ",
    0x2004: " ", 0x2005: " ", 0x2006: " ", 0x2007: " ", 0x2008: " ",
    0x2009: " ", 0x200A: " ", 0x202F: " ", 0x205F: " ", 0x3000: " ",
    0x2018: "'", 0x2019: "'", 0x201A: "'", 0x201B: "'", 0x2032: "'",
    0x00B4: "'", 0x201C: '"', 0x201D: '"', 0x201E: '"', 0x2033: '"',
    0x00AB: '"', 0x00BB: '"', 0x2010: "-", 0x2011: "-", 0x2012: "-",
    0x2013: "-", 0x2014: "-", 0x2015: "-", 0x2212: "-", 0x2026: "...",
    0x00A3: _POUND, 0x20AC: _EURO, 0x20A9: _WON,
    # Letters NFKD does not split into ASCII and a mark.
    0x00C6: "AE", 0x00E6: "ae", 0x00D8: "O", 0x00F8: "o", 0x00DF: "ss",
    0x00DE: "TH", 0x00FE: "th", 0x00D0: "D", 0x00F0: "d", 0x0152: "OE",
    0x0153: "oe", 0x0141: "L", 0x0142: "l", 0x0110: "D", 0x0111: "d",
    0x0131: "i",
}


def _transliterations() -> Dict[int, str]:
    """Code point -> ASCII for the Latin letters, full-width forms and
    typographic punctuation, as unidecode would write them.

    Accented letters come from their canonical decompositions (the letter
    without its marks); built at export time, so the table is data in
    model.pt, in code-point order.
    """
    table = {}
    ranges = [range(0x00C0, 0x0250), range(0x1E00, 0x1F00),
              range(0xFF01, 0xFF5F)]
    for cp in (c for r in ranges for c in r):
        base = "".join(ch for ch in unicodedata.normalize("NFKD", chr(cp))
                       if not unicodedata.combining(ch))
        if base and all(32 <= ord(ch) < 127 for ch in base):
            table[cp] = base
    table.update(_PUNCTUATION)
    return dict(sorted(table.items()))


_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven",
         "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen",
         "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy",
         "eighty", "ninety"]
# Groups of three digits, as inflect names them; longer numbers are read
# digit by digit.
_MILLS = ["", "thousand", "million", "billion", "trillion", "quadrillion",
          "quintillion", "sextillion", "septillion", "octillion",
          "nonillion", "decillion"]
# DLE's list, in its order (the first match wins, though no two overlap).
_ABBREVIATIONS = {
    "mrs": "misess", "ms": "miss", "mr": "mister", "dr": "doctor",
    "st": "saint", "co": "company", "jr": "junior", "maj": "major",
    "gen": "general", "drs": "doctors", "rev": "reverend",
    "lt": "lieutenant", "hon": "honorable", "sgt": "sergeant",
    "capt": "captain", "esq": "esquire", "ltd": "limited",
    "col": "colonel", "ft": "fort", "sen": "senator",
}
# Words after an amount, as DLE's _currency_re allows them (in this order).
_MAGNITUDES = ["trillion", "billion", "million", "thousand", "hundred", "m",
               "b", "t"]
# inflect's ordinal endings, the rest take "th".
_ORDINAL_ENDINGS = [("ty", "tieth"), ("one", "first"), ("two", "second"),
                    ("three", "third"), ("five", "fifth"),
                    ("eight", "eighth"), ("nine", "ninth"),
                    ("twelve", "twelfth")]

# One text may hold at most this many UTF-8 bytes (the config's constraint):
# FastPitch's cap on symbols (fastpitch.spec), so that a text refused for its
# length is refused when it arrives, naming TEXT. Cleaning can still make a
# shorter text longer ("1000" is "one thousand"); FastPitch's step refuses
# those.
MAX_TEXT_BYTES = 512


class TextFrontend(nn.Module):
    def __init__(self):
        super().__init__()
        symbols = alphabets.FASTPITCH_SYMBOLS
        self.char_ids: Dict[str, int] = {
            s: i for i, s in enumerate(symbols)
            if len(s) == 1 and s != alphabets.FASTPITCH_PAD}
        self.arpabet_ids: Dict[str, int] = {
            s[1:]: i for i, s in enumerate(symbols) if s.startswith("@")}
        self.space_id = symbols.index(" ")
        self.transliterations: Dict[int, str] = _transliterations()
        self.currency_units: Dict[str, str] = {
            "$": "dollar", _POUND: "pound", _EURO: "euro", _WON: "won"}
        self.currency_plurals: Dict[str, str] = {
            "$": "dollars", _POUND: "pounds", _EURO: "euros", _WON: "won"}
        self.currency_signs = "".join(self.currency_units)
        self.abbreviations: Dict[str, str] = dict(_ABBREVIATIONS)
        self.magnitudes: List[str] = list(_MAGNITUDES)
        self.magnitude_words: Dict[str, str] = {
            "m": "million", "b": "billion", "t": "trillion"}
        self.ones: List[str] = list(_ONES)
        self.tens: List[str] = list(_TENS)
        self.mills: List[str] = list(_MILLS)
        self.ordinal_from: List[str] = [a for a, _ in _ORDINAL_ENDINGS]
        self.ordinal_to: List[str] = [b for _, b in _ORDINAL_ENDINGS]

    def forward(self, text: List[str]) -> Tuple[torch.Tensor, torch.Tensor,
                                                torch.Tensor]:
        rows: List[List[int]] = []
        dropped: List[int] = []
        longest = 1
        for t in text:
            ids, n_dropped = self.encode(t)
            rows.append(ids)
            dropped.append(n_dropped)
            longest = max(longest, len(ids))
        symbols = torch.zeros(len(rows), longest, dtype=torch.long)
        counts = torch.zeros(len(rows), 1, dtype=torch.long)
        for b, ids in enumerate(rows):
            symbols[b, :len(ids)] = torch.tensor(ids, dtype=torch.long)
            counts[b, 0] = len(ids)
        return symbols, counts, torch.tensor(dropped,
                                             dtype=torch.long).view(-1, 1)

    @torch.jit.export
    def encode(self, text: str) -> Tuple[List[int], int]:
        """(symbol ids, characters dropped) of one text; no ids when nothing
        in it can be spoken."""
        cleaned, dropped = self.clean(text)
        ids: List[int] = []
        i = 0
        n = len(cleaned)
        while i < n:
            c = cleaned[i]
            if c == "{":
                close = cleaned.find("}", i + 1)
                if close > i + 1:
                    for token in cleaned[i + 1:close].split():
                        if token in self.arpabet_ids:
                            ids.append(self.arpabet_ids[token])
                        else:
                            dropped += len(token)
                    i = close + 1
                    continue
            if c in self.char_ids:
                symbol = self.char_ids[c]
                # Dropped characters may leave spaces side by side.
                if symbol != self.space_id or (
                        len(ids) > 0 and ids[-1] != self.space_id):
                    ids.append(symbol)
            else:
                dropped += 1
            i += 1
        if len(ids) > 0 and ids[-1] == self.space_id:
            ids = ids[:-1]
        return ids, dropped

    @torch.jit.export
    def clean(self, text: str) -> Tuple[str, int]:
        """The cleaned text (ARPAbet groups as "{...}") and the characters
        dropped on the way to ASCII."""
        ascii, dropped = self._to_ascii(text)
        # "{...}" is ARPAbet and is not cleaned: "{" up to the first "}",
        # with something in between (DLE's `{[^}]+}`).
        pieces: List[str] = []
        start = 0
        search = 0
        while True:
            open_at = ascii.find("{", search)
            if open_at < 0:
                break
            close = ascii.find("}", open_at + 1)
            if close < 0:
                break
            if close == open_at + 1:
                search = close
                continue
            pieces.append(self._clean_words(ascii[start:open_at]))
            tokens = ascii[open_at + 1:close].upper().split()
            pieces.append("{" + " ".join(tokens) + "}" if len(tokens) > 0
                          else " ")
            start = close + 1
            search = start
        pieces.append(self._clean_words(ascii[start:]))
        return self._collapse_spaces("".join(pieces)).strip(), dropped

    def _clean_words(self, text: str) -> str:
        # Each pass scans character by character in the interpreter; those
        # that cannot match are skipped (plain words have no digits).
        if self._holds_any(text, self.currency_signs):
            text = self._expand_currency(text)
        text = text.lower()
        if self._holds_any(text, "0123456789"):
            text = self._remove_number_commas(text)
            text = self._expand_decimals(text)
            text = self._expand_ordinals(text)
            text = self._expand_multiplications(text)
            text = self._expand_numbers(text)
        text = text.replace(" %", "%").replace("%", " percent")
        if "." in text:
            text = self._expand_abbreviations(text)
        return self._collapse_spaces(text)

    # ----------------------------------------------------------- characters

    def _code_points(self, text: str) -> List[int]:
        """Unicode code points of `text`; -1 for each byte of bad UTF-8."""
        if not torch.jit.is_scripting():
            return [ord(c) for c in text]
        data = [ord(c) for c in text]     # TorchScript: one per byte.
        out: List[int] = []
        i = 0
        n = len(data)
        while i < n:
            b = data[i]
            if b < 0x80:
                out.append(b)
                i += 1
                continue
            need = 0
            cp = 0
            if 0xC2 <= b <= 0xDF:
                need, cp = 1, b & 0x1F
            elif 0xE0 <= b <= 0xEF:
                need, cp = 2, b & 0x0F
            elif 0xF0 <= b <= 0xF4:
                need, cp = 3, b & 0x07
            ok = need > 0 and i + need < n
            if ok:
                for k in range(1, need + 1):
                    c = data[i + k]
                    if (c & 0xC0) != 0x80:
                        ok = False
                        break
                    cp = (cp << 6) | (c & 0x3F)
            if ok:
                out.append(cp)
                i += need + 1
            else:
                out.append(-1)
                i += 1
        return out

    def _to_ascii(self, text: str) -> Tuple[str, int]:
        pieces: List[str] = []
        dropped = 0
        for cp in self._code_points(text):
            if 32 <= cp < 127:
                pieces.append(chr(cp))
            elif 9 <= cp <= 13:
                pieces.append(" ")
            elif cp in self.transliterations:
                pieces.append(self.transliterations[cp])
            else:
                dropped += 1
        return "".join(pieces), dropped

    def _collapse_spaces(self, text: str) -> str:
        while "  " in text:
            text = text.replace("  ", " ")
        return text

    def _holds_any(self, text: str, chars: str) -> bool:
        for c in chars:
            if c in text:
                return True
        return False

    def _is_word_char(self, c: str) -> bool:
        return c.isalnum() or c == "_"

    def _digits_end(self, text: str, i: int) -> int:
        """The end of the run of digits that starts at i."""
        n = len(text)
        while i < n and text[i].isdigit():
            i += 1
        return i

    # ------------------------------------------------------------ numbers

    def _small(self, n: int) -> str:
        """0-99."""
        if n < 20:
            return self.ones[n]
        if n % 10 == 0:
            return self.tens[n // 10]
        return self.tens[n // 10] + " " + self.ones[n % 10]

    def _hundreds(self, n: int) -> str:
        """1-999, with inflect's "and"."""
        if n < 100:
            return self._small(n)
        if n % 100 == 0:
            return self.ones[n // 100] + " hundred"
        return self.ones[n // 100] + " hundred and " + self._small(n % 100)

    @torch.jit.export
    def cardinal(self, digits: str) -> str:
        """A run of digits in words, as inflect's number_to_words writes it
        (without its hyphens and commas)."""
        d = digits.lstrip("0")
        if d == "":
            return "zero"
        if len(d) > 3 * len(self.mills):
            return " ".join([self.ones[int(c)] for c in d])
        groups: List[int] = []      # Least significant first.
        end = len(d)
        while end > 0:
            begin = max(0, end - 3)
            groups.append(int(d[begin:end]))
            end = begin
        words: List[str] = []
        for g in range(len(groups) - 1, -1, -1):
            if groups[g] == 0:
                continue
            w = self._hundreds(groups[g])
            if g > 0:
                w = w + " " + self.mills[g]
            words.append(w)
        if len(words) > 1 and groups[0] < 100 and groups[0] > 0:
            return " ".join(words[:-1]) + " and " + words[-1]
        return " ".join(words)

    def _round_hundreds(self, digits: str) -> str:
        """DLE's _expand_hundreds: 1100-9900 by hundreds as "X hundred"."""
        if len(digits.lstrip("0")) <= 4:
            n = int(digits)
            if 1000 < n < 10000 and n % 100 == 0 and n % 1000 != 0:
                return self.cardinal(str(n // 100)) + " hundred"
        return self.cardinal(digits)

    @torch.jit.export
    def number(self, digits: str) -> str:
        """DLE's _expand_number: a bare number, years in pairs."""
        if len(digits.lstrip("0")) <= 4:
            n = int(digits)
            if 1000 < n < 10000 and n % 100 == 0 and n % 1000 != 0:
                return self.cardinal(str(n // 100)) + " hundred"
            if 1000 < n < 3000:
                if n == 2000:
                    return "two thousand"
                if 2000 < n < 2010:
                    return "two thousand " + self._small(n % 100)
                low = n % 100
                tail = ("oh " + self.ones[low]) if low < 10 else self._small(
                    low)
                return self._small(n // 100) + " " + tail
        return self.cardinal(digits)

    @torch.jit.export
    def ordinal(self, digits: str) -> str:
        words = self.cardinal(digits)
        for k in range(len(self.ordinal_from)):
            ending = self.ordinal_from[k]
            if words.endswith(ending):
                return words[:len(words) - len(ending)] + self.ordinal_to[k]
        return words + "th"

    def _decimal(self, quantity: str) -> str:
        """"1.25" -> "one point two five" (inflect reads decimals digit by
        digit); quantity holds digits and dots."""
        dot = quantity.find(".")
        if dot < 0:
            return self._round_hundreds(quantity)
        head = quantity[:dot]
        tail = quantity[dot + 1:].replace(".", "")
        words: List[str] = []
        if head != "":
            words.append(self.cardinal(head))
        words.append("point")
        for c in tail:
            words.append(self.ones[int(c)])
        return " ".join(words)

    def _amount(self, sign: str, quantity: str, magnitude: str) -> str:
        """DLE's _expand_currency for one matched amount."""
        unit = self.currency_units[sign]
        units = self.currency_plurals[sign]
        quantity = quantity.replace(",", "")
        if magnitude != "":
            word = magnitude.lower()
            if word in self.magnitude_words:
                word = self.magnitude_words[word]
            return self._decimal(quantity) + " " + word + " " + units
        parts = quantity.split(".")
        if len(parts) > 2 or len(parts[0]) > 15 or (
                len(parts) == 2 and len(parts[1]) > 15):
            return quantity + " " + units     # Numbers are read later.
        whole = int(parts[0]) if parts[0] != "" else 0
        cents = 0
        if len(parts) == 2 and parts[1] != "":
            cents = int(parts[1]) * (10 if len(parts[1]) == 1 else 1)
        whole_words = self._round_hundreds(str(whole)) + " " + (
            unit if whole == 1 else units)
        cent_words = self.cardinal(str(cents)) + (
            " cent" if cents == 1 else " cents")
        if whole > 0 and cents > 0:
            return whole_words + ", " + cent_words
        if whole > 0:
            return whole_words
        if cents > 0:
            return cent_words
        return "zero " + units

    def _expand_currency(self, text: str) -> str:
        """A sign, then [0-9.,]* ending in a digit, then optionally a space
        and a magnitude word not followed by a letter."""
        out: List[str] = []
        i = 0
        n = len(text)
        while i < n:
            c = text[i]
            if c in self.currency_units:
                j = i + 1
                last = -1
                while j < n and (text[j].isdigit() or text[j] == "."
                                 or text[j] == ","):
                    if text[j].isdigit():
                        last = j
                    j += 1
                if last >= 0:
                    end = last + 1
                    at = end + 1 if end < n and text[end] == " " else end
                    magnitude = ""
                    for m in self.magnitudes:
                        stop = at + len(m)
                        if (stop < n and text[at:stop].lower() == m
                                and not text[stop].isalpha()):
                            magnitude = text[at:stop]
                            end = stop
                            break
                    out.append(self._amount(c, text[i + 1:last + 1],
                                            magnitude))
                    i = end
                    continue
            out.append(c)
            i += 1
        return "".join(out)

    def _remove_number_commas(self, text: str) -> str:
        """"1,000,000" -> "1000000": a digit, digits and commas, a digit."""
        out: List[str] = []
        i = 0
        n = len(text)
        while i < n:
            if not text[i].isdigit():
                out.append(text[i])
                i += 1
                continue
            j = i
            last = i
            while j < n and (text[j].isdigit() or text[j] == ","):
                if text[j].isdigit():
                    last = j
                j += 1
            run = text[i:last + 1]
            out.append(run.replace(",", "") if last - i >= 2 else run)
            i = last + 1
        return "".join(out)

    def _expand_decimals(self, text: str) -> str:
        """"3.5" -> "3 point 5"."""
        out: List[str] = []
        i = 0
        n = len(text)
        while i < n:
            if not text[i].isdigit():
                out.append(text[i])
                i += 1
                continue
            j = self._digits_end(text, i)
            if j + 1 < n and text[j] == "." and text[j + 1].isdigit():
                k = self._digits_end(text, j + 1)
                out.append(text[i:j] + " point " + text[j + 1:k])
                i = k
            else:
                out.append(text[i:j])
                i = j
        return "".join(out)

    def _expand_ordinals(self, text: str) -> str:
        out: List[str] = []
        i = 0
        n = len(text)
        while i < n:
            if not text[i].isdigit():
                out.append(text[i])
                i += 1
                continue
            j = self._digits_end(text, i)
            suffix = text[j:j + 2]
            if suffix == "st" or suffix == "nd" or suffix == "rd" or (
                    suffix == "th"):
                out.append(self.ordinal(text[i:j]))
                i = j + 2
            else:
                out.append(text[i:j])
                i = j
        return "".join(out)

    def _expand_multiplications(self, text: str) -> str:
        """"3x4" -> "3 by 4" where the first number starts a word."""
        out: List[str] = []
        i = 0
        n = len(text)
        while i < n:
            if not text[i].isdigit():
                out.append(text[i])
                i += 1
                continue
            j = self._digits_end(text, i)
            starts_word = i == 0 or not self._is_word_char(text[i - 1])
            if (starts_word and j + 1 < n and text[j] == "x"
                    and text[j + 1].isdigit()):
                k = self._digits_end(text, j + 1)
                out.append(text[i:j] + " by " + text[j + 1:k])
                i = k
            else:
                out.append(text[i:j])
                i = j
        return "".join(out)

    def _expand_numbers(self, text: str) -> str:
        """Every remaining number in words; "s" or "'s" after it makes a
        plural ("1990s" -> "nineteen nineties")."""
        out: List[str] = []
        i = 0
        n = len(text)
        while i < n:
            if not text[i].isdigit():
                out.append(text[i])
                i += 1
                continue
            j = self._digits_end(text, i)
            words = self.number(text[i:j])
            suffix = ""
            if text[j:j + 2] == "'s":
                suffix = "'s"
            elif text[j:j + 1] == "s":
                suffix = "s"
            if suffix != "":
                if words.endswith("y"):
                    words = words[:-1] + "ies"
                else:
                    words = words + suffix
            out.append(words)
            i = j + len(suffix)
        return "".join(out)

    def _expand_abbreviations(self, text: str) -> str:
        """"dr." -> "doctor" where the word starts at a word boundary."""
        out: List[str] = []
        i = 0
        n = len(text)
        while i < n:
            c = text[i]
            if c.isalpha() and (i == 0 or not self._is_word_char(text[i - 1])):
                j = i
                while j < n and text[j].isalpha():
                    j += 1
                word = text[i:j]
                if j < n and text[j] == "." and word in self.abbreviations:
                    out.append(self.abbreviations[word])
                    i = j + 1
                else:
                    out.append(word)
                    i = j
                continue
            out.append(c)
            i += 1
        return "".join(out)


def spec() -> ModelSpec:
    """One text per row in; its symbols, cut to each row's SYMBOL_COUNT.

    No input is padded (each row is one string), so texts of any length share
    a batch; SYMBOLS is padded with 0 to the longest row and cut back per
    request by SYMBOL_COUNT.
    """
    return ModelSpec(
        name="tts_frontend", max_batch_size=8,
        inputs=[TensorSpec(
            "TEXT", "TYPE_STRING", [1],
            constraints={"min_element_bytes": 1,
                         "max_element_bytes": MAX_TEXT_BYTES, "utf8": True})],
        outputs=[TensorSpec("SYMBOLS", "TYPE_INT64", [-1]),
                 TensorSpec("SYMBOL_COUNT", "TYPE_INT64", [1]),
                 TensorSpec("DROPPED", "TYPE_INT64", [1])],
        batch_outputs=[BatchOutputSpec("BATCH_SCATTER_WITH_OUTPUT_LENGTHS",
                                       ["SYMBOLS"],
                                       source_output="SYMBOL_COUNT")],
        instance_count=1, dynamic_batching=True, max_queue_delay_us=1000,
        # TorchScript's profiling executor compiles this graph (big: every
        # scanner) on the first two runs, about 0.3 s each; the server's
        # default warm-up is one run, which left the second compile to the
        # first request. random_data is "1" in every string.
        warmup=('    name: "compile"\n    batch_size: 8\n    count: 3\n'
                '    inputs {\n      key: "TEXT"\n      value {\n'
                '        data_type: TYPE_STRING\n        dims: [ 1 ]\n'
                '        random_data: true\n      }\n    }'))


def build() -> Tuple[torch.jit.ScriptModule, ModelSpec]:
    return torch.jit.script(TextFrontend().eval()), spec()


# Sentences for the self-checks: numbers, currency, ordinals, abbreviations.
SAMPLE_TEXTS = [
    "Dr. Smith paid $5.50 for 3 coffees on the 22nd of May.",
    "In 1984, about 1,000 people lived on St. John's street; now 12.5% do.",
    "Mr. Brown's company, Brown & Co., owes \u00a33 million and \u20ac2.",
    "The 103rd runner finished 1st in 2005\u2014a caf\u00e9 r\u00e9sum\u00e9!",
]


def batched_check(model: torch.jit.ScriptModule) -> Tuple[bool, str]:
    """The SAMPLE_TEXTS alone and as one batch must give the same ids."""
    with torch.inference_mode():
        symbols, counts, dropped = model(SAMPLE_TEXTS)
        for i, text in enumerate(SAMPLE_TEXTS):
            alone, alone_count, alone_dropped = model([text])
            n = int(alone_count[0, 0])
            if (int(counts[i, 0]) != n
                    or int(dropped[i, 0]) != int(alone_dropped[0, 0])
                    or not torch.equal(symbols[i, :n], alone[0, :n])
                    or bool((symbols[i, n:] != 0).any())):
                return False, f"text {i} differs batched"
    return True, f"counts {[int(c) for c in counts[:, 0]]}"
