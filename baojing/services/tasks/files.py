"""A completion's photo or file: checked by content, photos re-encoded without EXIF.

Photos go through the care photos' own processing (services/care/photos.py): a fresh
JPEG carries none of the original's metadata (GPS position, phone, time). A file is a
PDF, checked by its first bytes and kept as sent, or a photo of a paper, re-encoded
like any photo. Stored outside static/ under a random name; served by a view that
checks scope first.
"""

import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from baojing.files import write_new
from baojing.models.tasks import PHOTO
from baojing.services import RuleViolation
from baojing.services.care import photos

FIELD = "attachment"


@dataclass(frozen=True)
class Upload:
    kind: str  # "jpg" or "pdf"
    data: bytes
    thumb: bytes | None


def max_bytes() -> int:
    return current_app.config["CARE_PHOTO_MAX_BYTES"]


def request_limit() -> int:
    """The largest completion form the server reads: one file at its limit, and the text."""
    return max_bytes() + 256 * 1024


def process(data: bytes, completion: str) -> Upload:
    """An uploaded photo or file made safe to keep, or a RuleViolation on the field."""
    limit = max_bytes()
    if len(data) > limit:
        raise RuleViolation({FIELD: f"文件超过 {limit // (1024 * 1024)} MB，请换一个或压缩后再传"})
    if completion != PHOTO and data.startswith(b"%PDF-"):
        return Upload("pdf", data, None)
    try:
        photo = photos.process(data, 1)
    except RuleViolation:
        message = "只能上传 JPG、PNG 或 WebP 照片"
        if completion != PHOTO:
            message = "只能上传 PDF 文件或 JPG、PNG、WebP 照片"
        raise RuleViolation({FIELD: message}) from None
    return Upload("jpg", photo.full, photo.thumb)


def new_token() -> str:
    """The stored name: 128 random bits, unrelated to the member or the upload's name."""
    return secrets.token_hex(16)


def folder() -> Path:
    path = Path(current_app.config["UPLOAD_FOLDER"]) / "tasks"
    path.mkdir(parents=True, exist_ok=True)
    return path


def path_of(token: str, kind: str, thumb: bool = False) -> Path:
    return folder() / f"{token}{'-t' if thumb else ''}.{kind}"


def save(token: str, upload: Upload) -> None:
    write_new(path_of(token, upload.kind), upload.data)
    if upload.thumb is not None:
        write_new(path_of(token, upload.kind, thumb=True), upload.thumb)
