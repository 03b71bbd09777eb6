"""Readers turn a file into pages of raw text (and, for .docx/.md, known headings); they never clean the text."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.errors import UnreadableFile

SUPPORTED = {".txt", ".md", ".pdf", ".docx"}
# why a cap: a DOCX is a zip, and a 40 KB zip bomb unpacks to gigabytes inside python-docx (#8); real reports with
# their images stay far below it
MAX_DOCX_UNPACKED = 200 * 1024 ** 2


@dataclass
class Page:
    number: int | None
    text: str
    # (line text, level) for headings the format marks itself (docx styles, markdown #)
    headings: set[str] = field(default_factory=set)


def read(path: Path) -> list[Page]:
    """Pages of `path`; raises UnreadableFile with a one-line reason for anything we cannot use."""
    path = Path(path)
    if not path.exists():
        raise UnreadableFile(path, "no such file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise UnreadableFile(path, f"unsupported file type '{suffix or path.name}' (use .txt, .md, .pdf or .docx)")
    try:
        pages = {".txt": _read_txt, ".md": _read_md, ".pdf": _read_pdf, ".docx": _read_docx}[suffix](path)
    except UnreadableFile:
        raise
    except Exception as e:  # a corrupt file in any of the libraries
        raise UnreadableFile(path, f"cannot read {suffix[1:].upper()}: {type(e).__name__}: {str(e)[:120]}") from None
    if not any(p.text.strip() for p in pages):
        raise UnreadableFile(path, "contains no text")
    return pages


def _decode(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data[:4096]:
        raise UnreadableFile(path, "looks like a binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    bad = sum(1 for ch in text[:20000] if ord(ch) < 32 and ch not in "\n\r\t\f") + text[:20000].count("\ufffd")
    if text and bad / min(len(text), 20000) > 0.02:
        raise UnreadableFile(path, "looks like a binary file, not text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


_PAGE_START = re.compile(r"\n(?= \S)")


def _read_txt(path: Path) -> list[Page]:
    """Plain text; a form feed, or a line opening with a single space (how the PDF exports mark a new page), starts a page."""
    text = _decode(path)
    if "\f" in text:
        parts = text.split("\f")
    else:
        parts = _PAGE_START.split(text)
    return [Page(i + 1, part) for i, part in enumerate(parts)]


def _read_md(path: Path) -> list[Page]:
    text = _decode(path)
    headings = set()
    lines = []
    for line in text.split("\n"):
        m = re.match(r"^(#{1,6})\s+(.*)$", line)
        if m:
            line = m.group(2).strip()
            headings.add(line)
        lines.append(line)
    return [Page(None, "\n".join(lines), headings)]


def _read_pdf(path: Path) -> list[Page]:
    import pymupdf  # why not `import fitz`: that alias prints a deprecation warning to stdout

    with pymupdf.open(str(path)) as pdf:
        if pdf.needs_pass:
            raise UnreadableFile(path, "the PDF is password-protected")
        return [Page(i + 1, page.get_text("text")) for i, page in enumerate(pdf)]


def _check_unpacked_size(path: Path) -> None:
    """Refuse a DOCX whose zip directory declares more than MAX_DOCX_UNPACKED bytes, before anything is unpacked."""
    import zipfile

    with zipfile.ZipFile(path) as z:   # reads only the directory; zipfile stops at each entry's declared size
        total = sum(info.file_size for info in z.infolist())
    if total > MAX_DOCX_UNPACKED:
        raise UnreadableFile(path, f"the DOCX would unpack to {total // 1024 ** 2} MB (more than "
                                   f"{MAX_DOCX_UNPACKED // 1024 ** 2} MB): refused as a possible zip bomb")


def _read_docx(path: Path) -> list[Page]:
    import docx

    from docx.table import Table
    from docx.text.paragraph import Paragraph

    _check_unpacked_size(path)
    d = docx.Document(str(path))
    lines, headings = [], set()
    # walk paragraphs and tables in document order, so a table sits under the heading it follows
    for child in d.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            para = Paragraph(child, d)
            text = para.text.strip()
            if not text:
                continue
            style = (para.style.name or "").lower() if para.style is not None else ""
            if style.startswith("heading") or style.startswith("overskrift") or style == "title":
                headings.add(text)
            lines += [text, ""]
        elif tag == "tbl":
            for row in Table(child, d).rows:
                lines.append("\t".join(c.text.strip() for c in row.cells))
            lines.append("")
    return [Page(None, "\n".join(lines), headings)]
