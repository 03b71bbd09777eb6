"""OCR repair for matching and embedding: map damaged words back to words seen in the clean documents.

Typical damage in the sample corpus: ø read as g/a/e, å as a/&, æ as ae/e, I as |. The citation keeps the original.
"""
from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from pathlib import Path

_WORD = re.compile(r"[\w&|]+", re.UNICODE)
# damaged spelling -> what it may have been
_CONFUSIONS = {"g": ["ø"], "a": ["å", "ø"], "e": ["ø", "æ"], "ae": ["æ"], "&": ["å"], "o": ["ø"]}
_MAX_SITES = 4


class OcrRepair:
    def __init__(self, vocabulary: Counter):
        self.vocab = vocabulary

    @classmethod
    def from_files(cls, files) -> "OcrRepair":
        """Vocabulary from the files whose manifest does not call them OCR (plus a small built-in core)."""
        vocab: Counter = Counter()
        for f in files:
            f = Path(f)
            quality = ""
            mf = f.parent / "manifest.json"
            if mf.exists():
                try:
                    quality = str(json.loads(mf.read_text(encoding="utf-8")).get(f.name, {}).get("text_quality", ""))
                except (OSError, ValueError, AttributeError):
                    quality = "ocr"
            if "ocr" in quality.lower() or f.suffix.lower() not in (".txt", ".md"):
                continue
            try:
                vocab.update(w.lower() for w in _WORD.findall(f.read_text(encoding="utf-8", errors="ignore")))
            except OSError:
                continue
        vocab.update(_CORE)
        return cls(vocab)

    def _candidates(self, w: str):
        sites = [(m.start(), m.group()) for m in re.finditer(r"ae|[gaeo&]", w)][:_MAX_SITES * 2]
        sites = sites[:_MAX_SITES + 2]
        options = [[s] + _CONFUSIONS[s] for _, s in sites]
        for combo in itertools.product(*options):
            if all(c == s for c, (_, s) in zip(combo, sites)):
                continue
            out, last = [], 0
            for (pos, s), c in zip(sites, combo):
                out.append(w[last:pos])
                out.append(c)
                last = pos + len(s)
            out.append(w[last:])
            yield "".join(out)

    def fix_word(self, word: str) -> str:
        if word == "|":
            return "I"
        lw = word.lower().replace("|", "i")
        if self.vocab.get(lw, 0) >= 1 or len(lw) < 3 or lw.isdigit():
            return word.replace("|", "I") if "|" in word else word
        best, best_n = None, 0
        for cand in self._candidates(lw):
            n = self.vocab.get(cand, 0)
            if n > best_n:
                best, best_n = cand, n
        if best is None:
            return word
        return best.capitalize() if word[:1].isupper() else best

    def repair(self, text: str) -> str:
        return _WORD.sub(lambda m: self.fix_word(m.group()), text)


# A few very common words, so repair works even when no clean document is being indexed alongside.
_CORE = Counter({w: 50 for w in (
    "før følge følgende gjennomført gjennomføre større søke søknad første møte møter måte må år årlige også "
    "på så små å få være vært nærmere særlig økt øke økonomi ønske behøver høy høyere før kunnskapsgrunnlag "
    "målet mål måned månedlige samhandling tilrettelegge fylkeskommunene høgskole statsforvalteren grønne "
    "næringer næring nærings nøkkel fører føre først lønn løsning løsninger fått såkalte forankring område "
    "områder kjøre støtte bø bø kjøp utfordringer spørsmål hovedspørsmål oppfølging gjennomføringen").split()})
