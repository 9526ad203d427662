"""Visit photos: checked by content, re-encoded (no EXIF, so no location), stored by random name.

Re-encoding is the point: a JPEG written fresh by Pillow carries none of the
original's metadata (GPS position, phone model, time), and a file that only claims
to be an image never gets that far.
"""

import io
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

from baojing.db import kept_if_committed
from baojing.files import write_new
from baojing.services import RuleViolation

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}
MAX_PHOTOS = 4
MAX_SIDE = 1600  # enough to read a face or a receipt; a few hundred KB
THUMB_SIDE = 360
# A header may claim any size; refuse before decoding anything that large.
MAX_PIXELS = 50_000_000


@dataclass(frozen=True)
class ProcessedPhoto:
    full: bytes
    thumb: bytes
    width: int
    height: int


def max_bytes() -> int:
    return current_app.config["CARE_PHOTO_MAX_BYTES"]


def request_limit() -> int:
    """The largest visit form the server reads: every photo at its limit, and the text."""
    return MAX_PHOTOS * max_bytes() + 256 * 1024


def _encode(image: Image.Image, side: int, quality: int) -> tuple[bytes, tuple[int, int]]:
    """A fresh JPEG no larger than side × side, and its size; no metadata is copied."""
    copy = image.copy()
    copy.thumbnail((side, side))
    out = io.BytesIO()
    copy.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue(), copy.size


def process(data: bytes, number: int) -> ProcessedPhoto:
    """One uploaded file as a clean JPEG and a thumbnail, or a RuleViolation on 'photos'."""
    limit = max_bytes()
    if len(data) > limit:
        raise RuleViolation(
            {"photos": f"第 {number} 张照片超过 {limit // (1024 * 1024)} MB，请换一张或压缩后再传"}
        )
    not_image = RuleViolation({"photos": f"第 {number} 张不是图片：只能上传 JPG、PNG 或 WebP 照片"})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                if opened.format not in ALLOWED_FORMATS:
                    raise not_image
                if opened.width * opened.height > MAX_PIXELS:
                    raise RuleViolation({"photos": f"第 {number} 张照片像素过大"})
                image = ImageOps.exif_transpose(opened).convert("RGB")
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise not_image from None
    except (OSError, SyntaxError, ValueError):
        # Truncated or corrupt data that still began like an image.
        raise not_image from None
    full, (width, height) = _encode(image, MAX_SIDE, 82)
    thumb, _ = _encode(image, THUMB_SIDE, 70)
    return ProcessedPhoto(full=full, thumb=thumb, width=width, height=height)


def new_token() -> str:
    """The stored name: 128 random bits, unrelated to the member or the upload's name."""
    return secrets.token_hex(16)


def folder() -> Path:
    """Outside static/: photos are served by a view that checks scope first."""
    path = Path(current_app.config["UPLOAD_FOLDER"]) / "care"
    path.mkdir(parents=True, exist_ok=True)
    return path


def path_of(token: str, thumb: bool = False) -> Path:
    return folder() / f"{token}{'-t' if thumb else ''}.jpg"


def save(token: str, photo: ProcessedPhoto) -> None:
    """Keep a photo and its thumbnail; both go again if the transaction does not commit."""
    for path, data in ((path_of(token), photo.full), (path_of(token, thumb=True), photo.thumb)):
        write_new(path, data)
        kept_if_committed(path)
