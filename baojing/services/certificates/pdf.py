"""HTML → PDF with WeasyPrint, one render at a time per process.

PDFs are the slowest thing the server does (tens of milliseconds each, more for a
batch). Issued papers are kept as bytes and served from disk, so a burst of
downloads renders nothing; a render itself holds this process's one slot, so the
other worker stays free for the counter.
"""

import base64
import threading
from datetime import date

import segno
from flask import render_template
from markupsafe import Markup

from baojing.services.certificates import fonts

_render_slot = threading.BoundedSemaphore(1)
# One font configuration per process, reused by every render (they take turns on the
# slot above): building one loads fontconfig's set-up and copies and scans the font
# files again, which was a third of a certificate's render time and leaked memory.
_font_config = None
_font_stamp = None

DIGITS = "〇一二三四五六七八九"


def chinese_date(day: date) -> str:
    """二〇二六年十一月二十九日: how a date is written on an official paper."""

    def number(n: int) -> str:
        if n < 10:
            return DIGITS[n]
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else DIGITS[tens]) + "十" + (DIGITS[ones] if ones else "")

    year = "".join(DIGITS[int(c)] for c in str(day.year))
    return f"{year}年{number(day.month)}月{number(day.day)}日"


def qr_svg(url: str) -> Markup:
    """The verification link as a vector QR code (inline SVG; our own URL, no user text)."""
    # A fixed mask: choosing the best one costs milliseconds and any mask scans.
    svg = segno.make(url, error="m", mask=0).svg_inline(scale=4, border=0, omitsize=True)
    return Markup(svg)  # noqa: S704 - segno's output for a URL we built


def photo_data_uri(data: bytes | None) -> str | None:
    if not data:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(data).decode()


def _html(template: str, **context) -> str:
    fonts.require_cjk_font()
    css = Markup(fonts.font_css())  # noqa: S704 - our own @font-face rules
    return render_template(template, font_css=css, chinese_date=chinese_date, **context)


def _shared_font_config():
    """The process's FontConfiguration; a new one when `flask pdf fonts` rewrote the files."""
    global _font_config, _font_stamp
    from weasyprint.text.fonts import FontConfiguration

    stamp = fonts.stamp()
    if _font_config is None or stamp != _font_stamp:
        _font_config, _font_stamp = FontConfiguration(), stamp
    return _font_config


def render(template: str, **context) -> bytes:
    """Render a PDF template (certificates/pdf/…) to bytes; NoCJKFont if it cannot be right."""
    from weasyprint import HTML

    html = _html(template, **context)
    with _render_slot:
        config = _shared_font_config()
        return HTML(string=html).write_pdf(font_config=config)


def render_document(template: str, **context):
    """Lay out without writing (a batch renders in chunks, then writes them as one PDF)."""
    from weasyprint import HTML

    html = _html(template, **context)
    with _render_slot:
        return HTML(string=html).render(font_config=_shared_font_config())


def combine(documents) -> bytes:
    """The pages of several laid-out documents as one PDF."""
    pages = [page for document in documents for page in document.pages]
    with _render_slot:
        return documents[0].copy(pages).write_pdf()
