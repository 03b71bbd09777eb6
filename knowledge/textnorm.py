"""Text folding shared by indexing and querying, so Norwegian letters and OCR damage match on both sides."""
from __future__ import annotations

import re
import unicodedata

# why fold æøå: OCR turns ø into g/a/e and å into a/&; folding both sides to ASCII lets
# character n-grams meet halfway (stack-facts: folding did as well as OCR repair).
_FOLD = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "ä": "a", "ö": "o", "é": "e", "è": "e", "ü": "u",
                       "|": "i", "«": " ", "»": " ", "•": " ", "¢": " ", "—": " ", "–": " ", "’": "'",
                       "‘": "'", "“": '"', "”": '"'})
_AMP_IN_WORD = re.compile(r"(?<=\w)&(?=\w)|(?<=\s)&(?=\s)")
_NON_WORD = re.compile(r"[^\w]+")
_WORD = re.compile(r"\w+", re.UNICODE)
BULLET = re.compile(r"^\s*(?:[-•*·»«¢●▪◦]|e(?=\s+[A-ZÆØÅa-zæøå])|\d+\)|[a-z]\))\s+")

NB_STOP = set("og i er det som på en av for til med har at de ikke den et var om fra kan vi hva hvem hvilke hvordan "
              "hvorfor når hvor mange ble skal seg sin også eller men etter under dette jeg du meg oss deres sitt "
              "være vært blitt mellom mot hvilken hvilket hos ved slik både noen mer enn".split())
EN_STOP = set("the and of to in is are was were what which who how why when where did does do for with on a an "
              "that this from by at as be it its their they have has had about many much can could would should "
              "between into than more most".split())


def fold(text: str) -> str:
    """Lower-case, fold Norwegian letters and OCR look-alikes to ASCII, and squeeze punctuation to spaces."""
    text = unicodedata.normalize("NFC", text).lower()
    text = _AMP_IN_WORD.sub("a", text).translate(_FOLD)
    return " ".join(_NON_WORD.sub(" ", text).split())


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def detect_language(text: str, default: str = "nb") -> str:
    """'en' or 'nb' from stop-word counts; Norwegian letters tip a tie towards Norwegian."""
    toks = words(text)
    en = sum(t in EN_STOP for t in toks)
    nb = sum(t in NB_STOP for t in toks) + 2 * sum(ch in "æøå" for ch in text.lower())
    if en > nb:
        return "en"
    if nb > en:
        return "nb"
    return default


def collapse(text: str) -> str:
    """Whitespace collapsed and lower-cased: how evidence is compared with passages."""
    return " ".join(text.split()).lower()


def tidy(raw: str) -> str:
    """Readable text: lines re-joined, words hyphenated across lines rejoined, bullets kept on their own lines."""
    out: list[str] = []
    for line in raw.split("\n"):
        line = line.strip()
        if not line:
            continue
        if "\t" in line:
            out.append(" | ".join(c.strip() for c in line.split("\t") if c.strip()))
            continue
        if out and not BULLET.match(line) and not out[-1].startswith("|"):
            prev = out[-1]
            if re.search(r"[a-zæøå]-$", prev) and re.match(r"[a-zæøå]", line):
                out[-1] = prev[:-1] + line
                continue
            out[-1] = prev + " " + line
        else:
            out.append(line)
    return "\n".join(out)
