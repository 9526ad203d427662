"""Files the app keeps beside the database: written whole or not at all, read back checked."""

import hashlib
import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write beside the final name, then rename: a reader never sees half a file.

    The temporary name is unique per call (mkstemp), so a request and a batch thread of
    the same worker process cannot trip over each other's half-written file. Files are
    the owner's only (photos and papers are personal data) unless mode says otherwise.

    Durable too: without the fsyncs a power cut soon after the rename can leave the
    final name pointing at an empty or short file (ext4 delayed allocation), or lose
    the rename itself, while the database row that points at the file has committed.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())  # the bytes on disk before the name points at them
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)  # the rename itself on disk


def _fsync_dir(folder: Path) -> None:
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
