"""HTML → PDF with WeasyPrint, one render at a time per process.

PDFs are the slowest thing the server does (tens of milliseconds each, more for a
batch). Issued papers are kept as bytes and served from disk, so a burst of
downloads renders nothing; a render itself holds this process's one slot, so the
other worker stays free for the counter.
"""

import atexit
import base64
import io
import threading
from datetime import date

import segno
from flask import current_app, render_template

from baojing.services.certificates import fonts

_render_slot = threading.BoundedSemaphore(1)
# One font configuration per process, reused by every render (they take turns on the
# slot above): building one loads fontconfig's set-up and copies and scans the font
# files again, which was a third of a certificate's render time and leaked memory.
_font_config = None
_font_stamp = None
# Each template's stylesheet parsed once per font configuration (it registers the
# @font-face rules there), as WeasyPrint keeps its own user-agent sheet: parsing the
# rules again for every paper cost a tenth of a render.
_stylesheets: dict[str, object] = {}

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


def qr_png(url: str) -> str:
    """The verification link as a QR code: a data URI of a PNG, one pixel a module.

    The papers scale it up without smoothing (image-rendering: pixelated), so the modules
    print as sharp squares; drawing the same code as an SVG path took WeasyPrint ten
    times as long.
    """
    out = io.BytesIO()
    # A fixed mask: choosing the best one costs milliseconds and any mask scans.
    segno.make(url, error="m", mask=0).save(out, kind="png", scale=1, border=0)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def photo_data_uri(data: bytes | None) -> str | None:
    if not data:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(data).decode()


def _html(template: str, **context) -> str:
    fonts.require_cjk_font()
    return render_template(template, chinese_date=chinese_date, **context)


def _css_source(template: str) -> str:
    """The @font-face rules, the shared rules and the template's own (its name, .css)."""
    env = current_app.jinja_env
    own = template.removesuffix(".html") + ".css"
    return "\n".join(
        (fonts.font_css(), env.get_template("certificates/pdf/_base.css").render(),
         env.get_template(own).render())
    )  # fmt: skip


def _shared_font_config():
    """The process's FontConfiguration; a new one when `flask pdf fonts` rewrote the files."""
    global _font_config, _font_stamp
    from weasyprint.text.fonts import FontConfiguration

    stamp = fonts.stamp()
    if _font_config is None or stamp != _font_stamp:
        _font_config, _font_stamp = FontConfiguration(), stamp
        _stylesheets.clear()
    return _font_config


@atexit.register
def _forget_fonts() -> None:
    """Let the font set-up go while WeasyPrint is still loaded (its __del__ needs it)."""
    global _font_config
    _stylesheets.clear()
    _font_config = None


def _setup(template: str):
    """(font configuration, the template's parsed stylesheet); under the render slot."""
    from weasyprint import CSS

    config = _shared_font_config()
    source = _css_source(template)
    sheet = _stylesheets.get(source)
    if sheet is None:
        if len(_stylesheets) > 16:  # templates edited while the server runs (debug)
            _stylesheets.clear()
        sheet = _stylesheets[source] = CSS(string=source, font_config=config)
    return config, sheet


def render(template: str, **context) -> bytes:
    """Render a PDF template (certificates/pdf/…) to bytes; NoCJKFont if it cannot be right."""
    from weasyprint import HTML

    html = _html(template, **context)
    with _render_slot:
        config, sheet = _setup(template)
        return HTML(string=html).write_pdf(stylesheets=[sheet], font_config=config)


def render_document(template: str, **context):
    """Lay out without writing (a batch renders in chunks, then writes them as one PDF)."""
    from weasyprint import HTML

    html = _html(template, **context)
    with _render_slot:
        config, sheet = _setup(template)
        return HTML(string=html).render(stylesheets=[sheet], font_config=config)


def combine(documents) -> bytes:
    """The pages of several laid-out documents as one PDF."""
    pages = [page for document in documents for page in document.pages]
    with _render_slot:
        return documents[0].copy(pages).write_pdf()
