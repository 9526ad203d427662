"""Sending an .xlsx export: write it to a temporary file, audit it, send it, leave nothing."""

import os
import tempfile
from pathlib import Path
from urllib.parse import quote

from flask import request, send_file

from baojing.extensions import db
from baojing.services import exports


def asked_full_ids() -> bool:
    """The export form's 含完整身份证号 box (full_id=1), from the query string or the form."""
    return request.values.get("full_id") == "1"


def send_xlsx(
    export: exports.Export, action: str, *, filters: dict, full: bool = False,
    entity_type: str = "", entity_id: int | None = None,
):  # fmt: skip
    """Write the export, record it in the audit log, and send it as an attachment.

    The rows are read and written first; only then does the audit row take the write
    lock (audit.record_access), so a 20,000-row export never holds other writers up.
    """
    fd, name = tempfile.mkstemp(prefix="baojing-export-", suffix=".xlsx")
    os.close(fd)
    path = Path(name)
    try:
        rows = exports.write(path, export, full=full)
        exports.record(
            action, rows=rows, full=full, filters=filters, entity_type=entity_type,
            entity_id=entity_id,
        )  # fmt: skip
        db.session.commit()
        # Unlinked while open: the download reads the open file, and nothing is left on
        # disk once it is sent, or if the client goes away half-way.
        handle = path.open("rb")
        size = os.fstat(handle.fileno()).st_size
    finally:
        path.unlink(missing_ok=True)
    ascii_name, chinese_name = export.filenames()
    response = send_file(
        handle, mimetype=exports.XLSX_MIMETYPE, as_attachment=True, download_name=ascii_name,
        max_age=0,
    )  # fmt: skip
    response.content_length = size  # a file object has none of its own: the phone shows progress
    # The ASCII name for old clients, the Chinese one (RFC 6266 filename*) for the rest.
    quoted = quote(chinese_name, safe="!#$&+-.^_`|~")
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"
    )
    return response
