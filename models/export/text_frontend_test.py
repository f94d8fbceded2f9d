"""Tests of the text front-end's cleaning and symbol ids, on the scripted module.

    /usr/bin/python3 models/export/text_frontend_test.py

The expectations are DeepLearningExamples' english_cleaners outputs (checked
against its regex + inflect implementation) but for the differences
text_frontend.py lists: spaces where inflect writes hyphens and commas, "$5.5"
as fifty cents, round hundreds below 10000 only.
"""

import os
import sys
import unittest

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import alphabets  # noqa: E402
import text_frontend  # noqa: E402

_SCRIPTED = torch.jit.script(text_frontend.TextFrontend().eval())
_EAGER = text_frontend.TextFrontend().eval()


def clean(text: str) -> str:
    return _SCRIPTED.clean(text)[0]


class SymbolSetTest(unittest.TestCase):
    def test_english_basic_has_148_ids_in_dle_order(self):
        s = alphabets.FASTPITCH_SYMBOLS
        self.assertEqual(len(s), 148)
        self.assertEqual(s[:12], list("_-!'(),.:;? "))
        self.assertEqual(s.index("A"), 12)
        self.assertEqual(s.index("a"), 38)
        self.assertEqual(s.index("z"), 63)
        self.assertEqual(s[64], "@AA")
        self.assertEqual(s[147], "@ZH")

    def test_ids_of_text(self):
        ids, dropped = _SCRIPTED.encode("Hi, you!")
        s = alphabets.FASTPITCH_SYMBOLS
        self.assertEqual([s[i] for i in ids], list("hi, you!"))
        self.assertEqual(dropped, 0)

    def test_arpabet_in_braces(self):
        ids, dropped = _SCRIPTED.encode("say {HH AH0 L ow1 XX} now")
        s = alphabets.FASTPITCH_SYMBOLS
        self.assertEqual([s[i] for i in ids],
                         list("say ") + ["@HH", "@AH0", "@L", "@OW1"]
                         + list(" now"))
        self.assertEqual(dropped, 2)         # "XX" is no ARPAbet symbol.
        self.assertEqual(clean("{3 ah0} 3"), "{3 AH0} three")
        self.assertEqual(clean("a {} b"), "a {} b")   # Not a group.


class CleanerTest(unittest.TestCase):
    def check(self, cases):
        for text, expected in cases:
            with self.subTest(text=text):
                self.assertEqual(clean(text), expected)

    def test_numbers(self):
        self.check([
            ("42", "forty two"), ("0", "zero"), ("007", "seven"),
            ("100", "one hundred"), ("101", "one hundred and one"),
            ("1,000", "one thousand"), ("1000", "one thousand"),
            ("5005", "five thousand and five"),
            ("5100", "fifty one hundred"),
            ("25300", "twenty five thousand three hundred"),
            ("1,234,567", "one million two hundred and thirty four thousand "
                          "five hundred and sixty seven"),
            ("1000020", "one million and twenty"),
            ("1000000000000", "one trillion"),
            ("3.5", "three point five"), ("0.25", "zero point twenty five"),
            ("1.2.3", "one point two.three"),
            ("3x4", "three by four"), ("a3x4", "athreexfour"),
        ])

    def test_years(self):
        self.check([
            ("1984", "nineteen eighty four"), ("1805", "eighteen oh five"),
            ("1500", "fifteen hundred"), ("2000", "two thousand"),
            ("2005", "two thousand five"), ("2010", "twenty ten"),
            ("2999", "twenty nine ninety nine"), ("3000", "three thousand"),
            ("1990s", "nineteen nineties"), ("80's", "eighties"),
            ("5s", "fives"),
        ])

    def test_ordinals(self):
        self.check([
            ("1st", "first"), ("2nd", "second"), ("3rd", "third"),
            ("4th", "fourth"), ("11th", "eleventh"), ("12th", "twelfth"),
            ("20th", "twentieth"), ("22nd", "twenty second"),
            ("103rd", "one hundred and third"),
            ("1000th", "one thousandth"), ("21st century",
                                           "twenty first century"),
        ])

    def test_currency(self):
        self.check([
            ("$5.50", "five dollars, fifty cents"),
            ("$1", "one dollar"), ("$1.01", "one dollar, one cent"),
            ("$0.99", "ninety nine cents"), ("$0", "zero dollars"),
            ("$5.5", "five dollars, fifty cents"),
            ("\u00a33", "three pounds"), ("\u20ac2", "two euros"),
            ("\u20a91000", "one thousand won"),
            ("$2,500", "twenty five hundred dollars"),
            ("$1,234", "one thousand two hundred and thirty four dollars"),
            ("$2 million.", "two million dollars."),
            ("$2.5m, then", "two point five million dollars, then"),
            ("$3 mil", "three dollars mil"),       # Not a magnitude word.
            ("$3m", "three dollarsm"),             # Nothing after "m".
            ("costs $ 5", "costs $ five"),         # "$" is dropped later.
            ("Paid $5 for 2", "paid five dollars for two"),
        ])

    def test_abbreviations_and_percent(self):
        self.check([
            ("Dr. Who", "doctor who"), ("Mrs. Smith", "misess smith"),
            ("Mr. and Ms. Lee", "mister and miss lee"),
            ("St. Louis", "saint louis"), ("Brown & Co.", "brown & company"),
            ("Jr. Maj. Gen. Drs. Rev. Lt. Hon. Sgt. Capt. Esq. Ltd. Col. "
             "Ft. Sen.", "junior major general doctors reverend lieutenant "
                         "honorable sergeant captain esquire limited colonel "
                         "fort senator"),
            ("first.", "first."),                   # "st." inside a word.
            ("Dr Who", "dr who"),                   # No period, no match.
            ("50%", "fifty percent"), ("50 %", "fifty percent"),
        ])

    def test_whitespace_and_case(self):
        self.check([
            ("  Hello\t\tWORLD \n", "hello world"),
            ("a\u00a0b\u2003c", "a b c"),
        ])

    def test_transliteration(self):
        self.check([
            ("caf\u00e9 r\u00e9sum\u00e9 na\u00efve", "cafe resume naive"),
            ("\u00c6sop stra\u00dfe \u0141\u00f3d\u017a",
             "aesop strasse lodz"),
            ("it\u2019s \u201cfine\u201d \u2014 ok\u2026",
             'it\'s "fine" - ok...'),
            ("\uff28\uff49", "hi"),                # Full-width letters.
        ])


class DroppedTest(unittest.TestCase):
    def encode(self, text):
        ids, dropped = _SCRIPTED.encode(text)
        s = alphabets.FASTPITCH_SYMBOLS
        return "".join(s[i] for i in ids), dropped

    def test_characters_outside_the_set_are_counted(self):
        self.assertEqual(self.encode("a#b*c"), ("abc", 2))
        self.assertEqual(self.encode('say "hi"'), ("say hi", 2))
        self.assertEqual(self.encode("snake_case"), ("snakecase", 1))
        self.assertEqual(self.encode("\u4f60\u597d a"), ("a", 2))
        self.assertEqual(self.encode("\U0001F600!"), ("!", 1))
        self.assertEqual(self.encode("a\x07b"), ("ab", 1))

    def test_spaces_left_by_dropped_characters_collapse(self):
        self.assertEqual(self.encode("a # b #"), ("a b", 2))

    def test_nothing_left_is_no_symbols(self):
        self.assertEqual(self.encode("###"), ("", 3))
        self.assertEqual(self.encode(" "), ("", 0))
        self.assertEqual(self.encode("\u65e5\u672c"), ("", 2))


class ModuleTest(unittest.TestCase):
    def test_forward_pads_with_zero_and_counts(self):
        texts = ["Hi.", "It costs $5.", "#"]
        symbols, counts, dropped = _SCRIPTED(texts)
        self.assertEqual(symbols.dtype, torch.long)
        self.assertEqual(counts[:, 0].tolist(), [3, 22, 0])
        self.assertEqual(dropped[:, 0].tolist(), [0, 0, 1])
        self.assertEqual(list(symbols.shape), [3, 22])
        for i, text in enumerate(texts):
            ids, _ = _SCRIPTED.encode(text)
            n = len(ids)
            self.assertEqual(symbols[i, :n].tolist(), ids)
            self.assertTrue(bool((symbols[i, n:] == 0).all()))
            self.assertTrue(bool((symbols[i, :n] != 0).all()))

    def test_batched_equals_alone(self):
        ok, note = text_frontend.batched_check(_SCRIPTED)
        self.assertTrue(ok, note)

    def test_eager_and_scripted_agree(self):
        for text in text_frontend.SAMPLE_TEXTS + ["\u4f60 {AA1} 3rd #"]:
            with self.subTest(text=text):
                self.assertEqual(_EAGER.clean(text), _SCRIPTED.clean(text))
                self.assertEqual(_EAGER.encode(text), _SCRIPTED.encode(text))

    def test_saved_module_gives_the_same(self):
        import io
        buffer = io.BytesIO()
        torch.jit.save(_SCRIPTED, buffer)
        buffer.seek(0)
        loaded = torch.jit.load(buffer)
        texts = text_frontend.SAMPLE_TEXTS
        for a, b in zip(loaded(texts), _SCRIPTED(texts)):
            self.assertTrue(torch.equal(a, b))

    def test_longest_text_stays_fast_enough(self):
        text = ("On May 3rd, 2021 Dr. Lee paid $1,234.56 for 12 books. "
                * 40)[:text_frontend.MAX_TEXT_BYTES]
        ids, dropped = _SCRIPTED.encode(text)
        self.assertGreater(len(ids), len(text))
        self.assertEqual(dropped, 0)


if __name__ == "__main__":
    unittest.main()
