"""Text repair: rebuild paragraphs, headings, bullets and tables from the way PDF/OCR exports broke them.

Blocks keep the original lines (for citations); `tidy()` makes the readable form used for matching and display.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from knowledge.textnorm import BULLET, tidy  # noqa: F401  (tidy: indexer.pipeline reads it from here)

from .readers import Page

NUMBERED_HEADING = re.compile(r"^\s*(\d{1,2}(?:\.\d{1,2}){0,3})(\.?)\s+([A-ZÆØÅ«\"].{1,110})$")
PAGE_NUMBER = re.compile(r"^\s*(?:side\s+)?\d{1,3}\s*$", re.I)
SENTENCE_END = re.compile(r"[.!?:;]\s*$")


@dataclass
class Block:
    kind: str            # heading | text | bullet | table
    lines: list[str]     # original lines, as in the source
    page: int | None
    number: str = ""     # section number for numbered headings

    @property
    def raw(self) -> str:
        return "\n".join(self.lines)


def _repeated_lines(pages: list[Page]) -> set[str]:
    """Short lines that recur on many pages: running headers and footers."""
    if len(pages) < 4:
        return set()
    seen = Counter()
    for p in pages:
        seen.update({l.strip() for l in p.text.split("\n") if 0 < len(l.strip()) <= 60})
    return {l for l, n in seen.items() if n >= max(3, len(pages) // 8) and not BULLET.match(l) and len(l) > 3}


def _double_spaced(lines: list[str]) -> bool:
    """True when every wrapped line is followed by a blank one (so blank lines are not paragraph breaks)."""
    nonblank = [i for i, l in enumerate(lines) if l.strip()]
    if len(nonblank) < 8:
        return False
    alternating = sum(1 for a, b in zip(nonblank, nonblank[1:]) if b - a == 2)
    return alternating / (len(nonblank) - 1) > 0.6


def blocks_from_pages(pages: list[Page]) -> list[Block]:
    drop = _repeated_lines(pages)
    all_lines = [l for p in pages for l in p.text.split("\n") if l.strip()]
    lengths = sorted(len(l.rstrip()) for l in all_lines if "\t" not in l)
    full = lengths[int(len(lengths) * 0.7)] if lengths else 80
    blocks: list[Block] = []
    for page in pages:
        lines = [l.rstrip() for l in page.text.split("\n")]
        double = _double_spaced(lines)
        first = next((l.strip() for l in lines if l.strip()), "")
        current: Block | None = None

        def close():
            nonlocal current
            if current and current.lines:
                blocks.append(current)
            current = None

        for i, line in enumerate(lines):
            s = line.strip()
            if not s:
                if not double:
                    close()
                continue
            if s in drop or PAGE_NUMBER.match(s):
                continue
            if s in page.headings:
                close()
                blocks.append(Block("heading", [line], page.number))
                continue
            m = NUMBERED_HEADING.match(s)
            if m and not SENTENCE_END.search(s) and len(s) < 100:
                close()
                blocks.append(Block("heading", [line], page.number, number=m.group(1)))
                continue
            if double and s == first and len(s) <= 60 and s[:1].isupper() and not SENTENCE_END.search(s):
                close()   # a page title in double-spaced PDF text ("Sammendrag") stands alone
                blocks.append(Block("text", [line], page.number))
                continue
            if "\t" in line:
                if not current or current.kind != "table":
                    close()
                    current = Block("table", [], page.number)
                current.lines.append(line)
                continue
            if BULLET.match(line):
                if current and current.kind == "table":
                    close()
                if not current or current.kind not in ("bullet",):
                    close()
                    current = Block("bullet", [], page.number)
                current.lines.append(line)
                continue
            if current is None or current.kind == "table":
                close()
                current = Block("text", [], page.number)
            current.lines.append(line)
            # double-spaced PDF text: a short line that ends a sentence ends the paragraph
            if double and SENTENCE_END.search(s) and len(s) < 0.8 * full:
                close()
        close()
    return blocks
