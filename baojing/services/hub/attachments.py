"""An announcement's attachment: a PDF, or an image re-encoded without EXIF like a care photo.

Checked by content (a PDF by its header, an image by Pillow), kept outside static/ under a
random name, served only to those who may see the announcement.
"""

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from flask import current_app

from baojing.files import write_new
from baojing.services import RuleViolation
from baojing.services.care import photos

PDF_MAGIC = b"%PDF-"
EXTENSIONS = {"pdf": ".pdf", "image": ".jpg"}
NOT_ALLOWED = "附件只能是 PDF 文件，或 JPG、PNG、WebP 图片"


@dataclass(frozen=True)
class Attachment:
    kind: str  # pdf | image
    data: bytes
    name: str  # shown, and offered as the download's name

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def max_bytes() -> int:
    return current_app.config["HUB_ATTACHMENT_MAX_BYTES"]


def request_limit() -> int:
    """The largest announcement form the server reads: the attachment and the text."""
    return max_bytes() + 512 * 1024


def process(data: bytes, filename: str) -> Attachment:
    """The uploaded file, checked by content; a RuleViolation on 'attachment' otherwise."""
    limit = max_bytes()
    if len(data) > limit:
        raise RuleViolation({"attachment": f"附件超过 {limit // (1024 * 1024)} MB，请压缩后再传"})
    stem = PurePosixPath((filename or "").replace("\\", "/")).stem[:80] or "附件"
    if data.startswith(PDF_MAGIC):
        return Attachment("pdf", data, f"{stem}.pdf")
    if len(data) > photos.max_bytes():
        mb = photos.max_bytes() // (1024 * 1024)
        raise RuleViolation({"attachment": f"图片超过 {mb} MB，请换一张或压缩后再传"})
    try:
        photo = photos.process(data, 1)
    except RuleViolation:
        raise RuleViolation({"attachment": NOT_ALLOWED}) from None
    return Attachment("image", photo.full, f"{stem}.jpg")


def new_token() -> str:
    return secrets.token_hex(16)


def path_of(token: str, kind: str) -> Path:
    folder = Path(current_app.config["UPLOAD_FOLDER"]) / "hub"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{token}{EXTENSIONS[kind]}"


def save(token: str, attachment: Attachment) -> None:
    write_new(path_of(token, attachment.kind), attachment.data)
