"""The app package's two icons, drawn when the package is built: a white house on husbot's colour, and its outline."""
from __future__ import annotations

from dataclasses import dataclass

ACCENT = "#1F5C99"
COLOR_SIZE = 192      # Teams: full-colour icon 192x192
OUTLINE_SIZE = 32     # Teams: outline icon 32x32, white on transparent


@dataclass
class Png:
    width: int
    height: int
    has_alpha: bool
    only_white_or_transparent: bool


def _rgb(hex_color: str) -> tuple[float, float, float]:
    h = hex_color.lstrip("#")
    return tuple(int(h[i:i + 2], 16) / 255 for i in (0, 2, 4))


def _house(size: float) -> tuple[list, tuple]:
    """The roof as a closed polyline and the walls as a rectangle, in a square of `size` points."""
    import pymupdf

    s = size / 32
    roof = [pymupdf.Point(4 * s, 15 * s), pymupdf.Point(16 * s, 4 * s), pymupdf.Point(28 * s, 15 * s)]
    walls = pymupdf.Rect(8 * s, 14 * s, 24 * s, 28 * s)
    return roof, walls


def _render(size: int, draw) -> bytes:
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=size, height=size)
    draw(page)
    png = page.get_pixmap(alpha=True).tobytes("png")
    doc.close()
    return png


def color_icon(accent: str = ACCENT) -> bytes:
    """192x192 PNG: a white house with a door on the accent colour."""
    import pymupdf

    def draw(page):
        size = COLOR_SIZE
        page.draw_rect(pymupdf.Rect(0, 0, size, size), color=None, fill=_rgb(accent))
        roof, walls = _house(size)
        page.draw_polyline(roof, color=(1, 1, 1), width=size / 16, closePath=False, lineCap=1, lineJoin=1)
        page.draw_rect(walls, color=(1, 1, 1), fill=(1, 1, 1), width=0)
        s = size / 32
        page.draw_rect(pymupdf.Rect(14 * s, 20 * s, 18 * s, 28 * s), color=None, fill=_rgb(accent))

    return _render(COLOR_SIZE, draw)


def outline_icon() -> bytes:
    """32x32 PNG: the same house drawn in white lines on a transparent background."""
    def draw(page):
        roof, walls = _house(OUTLINE_SIZE)
        page.draw_polyline(roof, color=(1, 1, 1), width=2, closePath=False, lineCap=1, lineJoin=1)
        page.draw_rect(walls, color=(1, 1, 1), width=2)

    return _render(OUTLINE_SIZE, draw)


def inspect(png: bytes) -> Png:
    """Size, alpha channel and whether every visible pixel is white (what Teams asks of the outline icon)."""
    import pymupdf

    pix = pymupdf.Pixmap(png)
    n, data = pix.n, pix.samples
    white = bool(pix.alpha)
    # why compare with alpha: MuPDF pixmaps are premultiplied, so a half-transparent white pixel reads (128, 128, 128)
    if white:
        for i in range(0, len(data), n):
            alpha = data[i + n - 1]
            if alpha and any(abs(c - alpha) > 2 for c in data[i:i + n - 1]):
                white = False
                break
    return Png(pix.width, pix.height, bool(pix.alpha), white)
