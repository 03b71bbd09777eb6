"""Sections from numbered headings (and, where a document has none, from short title lines)."""
from __future__ import annotations

from dataclasses import dataclass, field

from .layout import SENTENCE_END, Block


@dataclass
class Section:
    number: str
    title: str
    page: int | None
    blocks: list[Block] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)   # titles of enclosing sections


def _key(number: str) -> tuple[int, ...]:
    return tuple(int(x) for x in number.split(".") if x)


def _plausible_next(prev: tuple[int, ...], new: tuple[int, ...]) -> bool:
    """A numbered heading must continue the outline (so list items like '1. Mal for …' in §6 are not headings)."""
    if not prev:
        return len(new) <= 2 and new[0] <= 3
    for depth in range(min(len(prev), len(new))):
        if new[depth] != prev[depth]:
            return new[depth] == prev[depth] + 1 and all(x == 1 for x in new[depth + 1:]) or (
                new[depth] == prev[depth] + 1 and len(new) == depth + 1)
    return len(new) == len(prev) + 1 and new[-1] == 1 or len(new) > len(prev) and all(x == 1 for x in new[len(prev):])


def _title_like(block: Block) -> bool:
    s = block.raw.strip()
    return (block.kind == "text" and len(block.lines) == 1 and 3 <= len(s) <= 80
            and not SENTENCE_END.search(s.rstrip(":")) and s[:1].isupper()
            and not s.endswith(","))


def split_sections(blocks: list[Block], title: str, slides: bool = False) -> list[Section]:
    numbered = [b for b in blocks if b.kind == "heading" and b.number]
    sections: list[Section] = [Section("", title, blocks[0].page if blocks else None)]
    outline: tuple[int, ...] = ()
    chain: dict[int, str] = {}
    use_titles = len(numbered) < 3
    last_page = None
    for i, b in enumerate(blocks):
        if b.kind == "heading" and b.number:
            new = _key(b.number)
            if _plausible_next(outline, new):
                outline = new
                text = b.raw.strip()
                chain = {d: t for d, t in chain.items() if d < len(new)}
                chain[len(new)] = text
                parents = [chain[d] for d in sorted(chain) if d < len(new)]
                sections.append(Section(b.number, text[len(b.number):].lstrip(". ").strip(), b.page,
                                        parents=parents))
                continue
            b = Block("text", b.lines, b.page)
        elif b.kind == "heading":
            sections.append(Section("", b.raw.strip(), b.page))
            continue
        starts_page = b.page != last_page
        last_page = b.page
        if _title_like(b) and (use_titles or (starts_page and not outline)):
            nxt = blocks[i + 1] if i + 1 < len(blocks) else None
            if nxt is not None and nxt.kind != "heading" and (slides or starts_page or use_titles):
                sections.append(Section("", b.raw.strip().rstrip(":"), b.page))
                continue
        sections[-1].blocks.append(b)
    return [s for s in sections if s.blocks]
