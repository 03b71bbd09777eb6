"""Passages: groups of blocks of about 60–160 words that never cross a section."""
from __future__ import annotations

import re

from knowledge.textnorm import tidy

from .layout import Block
from .sections import Section

MIN_WORDS, TARGET_WORDS, MAX_WORDS = 50, 110, 170


def _n(text: str) -> int:
    return len(text.split())


def _split_long(block: Block) -> list[Block]:
    """Split a block of more than MAX_WORDS at line ends near sentence ends, keeping the original lines."""
    if _n(block.raw) <= MAX_WORDS or len(block.lines) < 2:
        return [block]
    out, cur = [], []
    for line in block.lines:
        cur.append(line)
        words = _n("\n".join(cur))
        if words >= TARGET_WORDS and (re.search(r"[.!?:]\s*$", line) or words >= MAX_WORDS):
            out.append(Block(block.kind, cur, block.page))
            cur = []
    if cur:
        if out and _n("\n".join(cur)) < MIN_WORDS // 2:
            out[-1].lines.extend(cur)
        else:
            out.append(Block(block.kind, cur, block.page))
    return out


def _table_chunks(block: Block) -> list[Block]:
    """Tables split into runs of rows, each repeating the header row so a row can still be read alone."""
    header, rows = block.lines[0], block.lines[1:]
    if _n(block.raw) <= MAX_WORDS:
        return [block]
    out, cur = [], []
    for row in rows:
        cur.append(row)
        if _n("\n".join(cur)) >= TARGET_WORDS:
            out.append(Block("table", [header] + cur, block.page))
            cur = []
    if cur:
        out.append(Block("table", [header] + cur, block.page))
    return out


def chunk_section(section: Section) -> list[list[Block]]:
    pieces: list[Block] = []
    for b in section.blocks:
        pieces.extend(_table_chunks(b) if b.kind == "table" else _split_long(b))
    groups: list[list[Block]] = []
    cur: list[Block] = []
    for b in pieces:
        size = sum(_n(x.raw) for x in cur)
        if cur and (size >= TARGET_WORDS or size + _n(b.raw) > MAX_WORDS or b.kind == "table" or cur[-1].kind == "table"):
            groups.append(cur)
            cur = []
        cur.append(b)
    if cur:
        if groups and sum(_n(x.raw) for x in cur) < MIN_WORDS // 2 and cur[0].kind != "table" \
                and groups[-1][-1].kind != "table" and sum(_n(x.raw) for x in groups[-1]) < MAX_WORDS:
            groups[-1].extend(cur)
        else:
            groups.append(cur)
    return groups


def passage_text(group: list[Block]) -> str:
    """The original lines of the group (blank lines dropped), blocks separated by an empty line."""
    return "\n\n".join("\n".join(l for l in b.lines if l.strip()) for b in group)


def display_text(group_text: str) -> str:
    return tidy(group_text)
