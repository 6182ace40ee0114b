"""Uploads: size limit, type checked by content, stored encrypted in MongoDB (BRD 9(2)2), served decrypted as
attachments with a safe name."""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from urllib.parse import quote

from flask import Response, abort, current_app
from flask_babel import gettext

from models.common import field_error
from models.files import Attachment
from portal import crypto

log = logging.getLogger(__name__)

# content signature -> (content type, allowed extensions)
_SIGNATURES = (
    (b"%PDF-", "application/pdf", {"pdf"}),
    (b"PK\x03\x04", "application/zip", {"docx", "xlsx", "pptx", "zip"}),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/msword", {"doc", "xls", "ppt"}),
    (b"\x89PNG\r\n\x1a\n", "image/png", {"png"}),
    (b"\xff\xd8\xff", "image/jpeg", {"jpg", "jpeg"}),
)
_OFFICE_TYPES = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation"}
DOCUMENT_TYPES = frozenset({"pdf", "docx", "doc", "txt"})


def safe_filename(name: str) -> str:
    """Keep letters (Chinese included), digits, dot, dash and underscore; never a path."""
    name = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = re.sub(r"[^\w.\-]+", "_", name).strip("._") or "file"
    return name[-120:]


def sniff(data: bytes, extension: str) -> str | None:
    """The content type when the bytes really are a file of that extension, else None."""
    for signature, content_type, extensions in _SIGNATURES:
        if data.startswith(signature) and extension in extensions:
            return _OFFICE_TYPES.get(extension, content_type)
    if extension in ("txt", "csv"):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return "text/plain; charset=utf-8" if extension == "txt" else "text/csv; charset=utf-8"
    return None


def store_upload(field: str, storage, allowed: frozenset[str], uploaded_by: str) -> Attachment:
    """Validate an uploaded file and save it; a bad file raises a ValidationError naming `field`."""
    filename = safe_filename(getattr(storage, "filename", "") or "")
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    data = storage.read(current_app.config["MAX_CONTENT_LENGTH"] + 1)
    if not data:
        raise field_error(field, gettext("The file is empty."))
    if len(data) > current_app.config["MAX_CONTENT_LENGTH"]:
        raise field_error(field, gettext("The file is too large."))
    content_type = sniff(data, extension) if extension in allowed else None
    if content_type is None:
        raise field_error(field, gettext("Allowed file types: %(types)s.", types=", ".join(sorted(allowed))))
    return Attachment(filename=filename, content_type=content_type, size=len(data),
                      sha256=hashlib.sha256(data).hexdigest(), data=crypto.seal(data), encrypted=True,
                      uploaded_by=uploaded_by).save()


def content_of(attachment: Attachment) -> bytes:
    """The file's original bytes: decrypted, or as stored when it was uploaded before encryption at rest."""
    return crypto.open_sealed(attachment.data) if attachment.encrypted else bytes(attachment.data)


def attachment_response(attachment: Attachment) -> Response:
    """Serve a stored file as a download, never inline, with a safe name."""
    try:
        content = content_of(attachment)
    except crypto.CannotOpen:
        log.error("Attachment %s cannot be decrypted: PORTAL_FILE_KEY lacks the key it was sealed with",
                  attachment.pk)
        abort(500)
    response = Response(content, mimetype=attachment.content_type)
    ascii_name = attachment.filename.encode("ascii", "ignore").decode() or "file"
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(attachment.filename)}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response
