"""The CJK font the PDFs are set in, and the check that one is there at all.

WeasyPrint draws empty boxes, silently, for characters no installed font has;
pdftotext would still find the right text in such a PDF. So rendering refuses to
start without a CJK font that has a bold face (fonts-noto-cjk on Debian).

`flask pdf fonts` prepares a cut of Noto Serif CJK SC holding the GB 2312
characters (about 7,600 glyphs instead of 65,000): WeasyPrint keeps glyph ids when
it subsets, so every embedded font carries a slot per glyph of its source, and the
cut halves the size of a certificate and the time to render it. Rarer characters
(a name with 𠮷) fall back to the full system font, embedded only when used.
"""

import io
import subprocess  # noqa: S404 - fontconfig's own command-line tools, fixed arguments
from functools import cache
from pathlib import Path

from flask import current_app

from baojing.files import write_atomic

FAMILY = "BaojingSerif"
# Part of the files' names: a cut made by an older prepare() is not used, but made anew
# by `flask pdf fonts` (2: CIDs renumbered to equal glyph ids, see _cids_as_glyph_ids).
CUT_VERSION = 2
SYSTEM_FAMILIES = ('"Noto Serif CJK SC"', '"Noto Serif CJK"', '"Source Han Serif SC"')
FACES = {"regular": ("Regular", 400), "bold": ("Bold", 700)}


class NoCJKFont(RuntimeError):
    """No font with Chinese glyphs (and a bold face) is installed."""


def font_dir() -> Path:
    return Path(current_app.config.get("PDF_FONT_DIR") or Path(current_app.instance_path) / "fonts")


def _prepared(face: str) -> Path:
    return font_dir() / f"{FAMILY.lower()}-{face}.v{CUT_VERSION}.otf"


@cache
def _fc(*args: str) -> str:
    try:
        out = subprocess.run(  # noqa: S603
            ["fc-list", *args],  # noqa: S607 - fontconfig's tool, found on PATH
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout


def require_cjk_font() -> None:
    """Raise NoCJKFont unless fontconfig knows a Chinese font with a bold face."""
    if not _fc(":lang=zh:style=Bold", "family").strip():
        raise NoCJKFont("服务器未安装带粗体的中文字体（Debian: fonts-noto-cjk），不能生成 PDF")


def stamp() -> tuple:
    """What the prepared files look like now (a render's font set-up is kept until this changes)."""
    out = []
    for face in FACES:
        path = _prepared(face)
        out.append(path.stat().st_mtime_ns if path.exists() else None)
    return tuple(out)


def font_css() -> str:
    """@font-face rules for the prepared cut (if there) and the family list to use."""
    rules = []
    for face, (_style, weight) in FACES.items():
        path = _prepared(face)
        if path.exists():
            rules.append(
                f"@font-face {{ font-family: {FAMILY}; font-weight: {weight}; "
                f"src: url({path.as_uri()}); }}"
            )
    families = ([FAMILY] if rules else []) + list(SYSTEM_FAMILIES) + ["serif"]
    return "\n".join(rules) + f"\nhtml {{ font-family: {', '.join(families)}; }}\n"


def _system_face(style: str) -> tuple[str, int]:
    """(file, index in the collection) of Noto Serif CJK SC in this style."""
    out = subprocess.run(  # noqa: S603
        ["fc-match", "-f", "%{file}|%{index}", f"Noto Serif CJK SC:style={style}"],  # noqa: S607
        capture_output=True, text=True, timeout=10, check=True,
    )  # fmt: skip
    path, index = out.stdout.split("|")
    if "CJK" not in path:
        raise NoCJKFont("找不到 Noto Serif CJK SC（Debian: fonts-noto-cjk）")
    return path, int(index or 0)


def _gb2312() -> set[int]:
    """Every character GB 2312 encodes, ASCII, and the CJK and full-width punctuation."""
    codes = set(range(0x20, 0x7F)) | set(range(0x3000, 0x3040)) | set(range(0xFF00, 0xFF70))
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                codes.add(ord(bytes((high, low)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return codes


def _cids_as_glyph_ids(font) -> None:
    """Renumber a subset CID-keyed font so that each glyph's CID is its glyph id.

    The subsetter packs the glyphs but keeps each one's CID from the full font (向 is
    glyph 1000 of the cut, CID 10314). WeasyPrint writes glyph ids into the PDF as
    the codes of an Identity-H CID font, and a PDF reader finds a CID-keyed font's
    glyph by CID: poppler let it pass, MuPDF and Ghostscript drew nothing at all.
    """
    old = font.getGlyphOrder()
    new = [".notdef"] + [f"cid{gid:05d}" for gid in range(1, len(old))]
    renamed = dict(zip(old, new, strict=True))
    top = font["CFF "].cff.topDictIndex[0]
    charstrings = top.CharStrings
    charstrings.charStrings = {renamed[n]: v for n, v in charstrings.charStrings.items()}
    top.charset = new
    hmtx = font["hmtx"]
    hmtx.metrics = {renamed[n]: metrics for n, metrics in hmtx.metrics.items()}
    for table in font["cmap"].tables:
        table.cmap = {code: renamed[n] for code, n in table.cmap.items()}
    font.setGlyphOrder(new)


def prepare(force: bool = False) -> list[Path]:
    """Write the GB 2312 cut of both faces into font_dir(); about 12 s a face, once."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    written = []
    font_dir().mkdir(parents=True, exist_ok=True)
    for face, (style, _weight) in FACES.items():
        target = _prepared(face)
        if target.exists() and not force:
            continue
        path, index = _system_face(style)
        font = TTFont(path, fontNumber=index)
        options = subset.Options(
            desubroutinize=True, hinting=False, layout_features=[], name_IDs=["*"],
            notdef_outline=True,
        )  # fmt: skip
        # Horizontal text only: no vertical metrics or OpenType layout to carry.
        options.drop_tables += ["GSUB", "GPOS", "VORG", "vhea", "vmtx"]
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=_gb2312())
        subsetter.subset(font)
        _cids_as_glyph_ids(font)
        out = io.BytesIO()
        font.save(out)
        # Readable by the service's own user when `flask pdf fonts` ran as another.
        write_atomic(target, out.getvalue(), mode=0o644)
        written.append(target)
    return written
