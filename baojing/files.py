"""Files the app keeps beside the database: written whole or not at all, never written over,
read back checked."""

import hashlib
import os
import tempfile
from pathlib import Path


class AlreadyKept(FileExistsError):
    """A kept file by that name exists already: it is never written over."""


def write_new(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Keep a new file: written whole beside the final name, then linked into place.

    For what the app keeps (issued papers, photos, uploads): `os.link` refuses when the
    name exists, where a rename would silently replace it. An issued paper written over
    is gone for good, so a clash raises AlreadyKept and nothing changes on disk.
    """
    tmp = _write_temp(path, data, mode)
    try:
        os.link(tmp, path)
    except FileExistsError as exc:
        raise AlreadyKept(f"{path.name} already exists; a kept file is never written over") from exc
    finally:
        Path(tmp).unlink(missing_ok=True)
    fsync_dir(path.parent)


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write beside the final name, then rename: a reader never sees half a file.

    This replaces an existing file, so it is only for what the app may rewrite (the
    font cut); what it keeps goes through write_new.
    """
    tmp = _write_temp(path, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)  # the rename itself on disk


def _write_temp(path: Path, data: bytes, mode: int) -> str:
    """The bytes on disk under a unique hidden name beside path.

    The name is unique per call (mkstemp), so a request and a batch thread of the same
    worker process cannot trip over each other's half-written file. Files are the
    owner's only (photos and papers are personal data) unless mode says otherwise.

    Durable too: without the fsyncs a power cut soon after the link or rename can leave
    the final name pointing at an empty or short file (ext4 delayed allocation), or lose
    the name itself, while the database row that points at the file has committed.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())  # the bytes on disk before the name points at them
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_verified(path: Path, expected_sha256: str) -> bytes:
    """A kept original, refused if it no longer matches the hash recorded when it was made."""
    data = path.read_bytes()
    if sha256(data) != expected_sha256:
        raise RuntimeError(f"{path.name}: the stored file does not match its recorded hash")
    return data
