"""OCR repair for matching and embedding: map damaged words back to words seen in the clean documents.

Typical damage in the sample corpus: ø read as g/a/e, å as a/&, æ as ae/e, I as |. The citation keeps the original.
"""
from __future__ import annotations

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
        # why: most of an indexing run went into trying spellings no word starts with (#8: 20 kills must fit a minute)
        self._prefixes = {w[:i] for w in vocabulary for i in range(1, len(w) + 1)}
        self._fixed: dict[str, str] = {}

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
        """Every respelling of w's confusable sites, in itertools.product order, skipping those no vocabulary word
        begins with (they cannot be found, so leaving them out changes no result)."""
        sites = [(m.start(), m.group()) for m in re.finditer(r"ae|[gaeo&]", w)][:_MAX_SITES + 2]
        options = [[s] + _CONFUSIONS[s] for _, s in sites]
        ends = [pos + len(s) for pos, s in sites]
        gaps = [w[end:sites[i + 1][0]] if i + 1 < len(sites) else w[end:] for i, end in enumerate(ends)]
        head = w[:sites[0][0]] if sites else w

        def walk(i: int, prefix: str, changed: bool):
            if i == len(sites):
                if changed:
                    yield prefix
                return
            for c in options[i]:
                nxt = prefix + c + gaps[i]
                if nxt in self._prefixes:
                    yield from walk(i + 1, nxt, changed or c != sites[i][1])

        if sites and (not head or head in self._prefixes):
            yield from walk(0, head, False)

    def fix_word(self, word: str) -> str:
        fixed = self._fixed.get(word)
        if fixed is None:
            fixed = self._fixed[word] = self._fix_word(word)
        return fixed

    def _fix_word(self, word: str) -> str:
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
