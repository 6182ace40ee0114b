"""Backup and restore of the whole database (DSC 7(2)2), sealed with PORTAL_FILE_KEY when one is set (BRD 9(2)2).

A backup is a gzip stream of BSON documents, exact to the type: a header {format, version, created_at, database,
collections}, one {"c": collection, "d": document} per document, and a trailer {"end": {collection: count}}. Sealed,
the gzip bytes follow the line SEALED_MAGIC as frames of a 4-byte length and a Fernet token. A restore reads and
checks the whole file before its first write, then loads it in batches and creates the indexes the Documents declare.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import re
import struct
import tempfile
import zlib
from dataclasses import dataclass

import bson
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from mongoengine.base import _document_registry

from models.common import utcnow
from portal import audit, crypto

FORMAT = "regulation-portal-backup"
VERSION = 1
SEALED_MAGIC = b"PORTAL-BACKUP-SEALED-1\n"
GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1 << 20  # bytes of the gzip stream per sealed frame
BATCH_DOCS, BATCH_BYTES = 500, 8 << 20  # one insert_many per batch
# What a new portal writes at its first start: a fresh database holding only these still counts as empty.
REBUILT_AT_START = frozenset({"permission", "view_menu", "permission_view", "role", "audit_log"})
CODEC = CodecOptions(uuid_representation=UuidRepresentation.STANDARD, tz_aware=False)
_COLLECTION_NAME = re.compile(r"(?!system\.)[^$\x00]{1,120}")
RAW = CodecOptions(document_class=RawBSONDocument, uuid_representation=UuidRepresentation.STANDARD, tz_aware=False)


class BackupError(Exception):
    """A backup cannot be written or restored; the message is safe to show."""


class IncompleteRestore(BackupError):
    """The file changed between the check and the load: the database holds part of it."""


@dataclass(frozen=True)
class Contents:
    """What a checked backup file holds."""

    created_at: object
    database: str
    counts: dict[str, int]
    sealed: bool


def collections_of(database) -> list[str]:
    return sorted(name for name in database.list_collection_names() if not name.startswith("system."))


# ---- writing -------------------------------------------------------------------------------------------------
def write(database, path: str, seal: bool | None = None) -> dict[str, int]:
    """Write every collection of `database` to `path` (sealed when a key is configured, unless told otherwise),
    through a temporary file renamed when complete; return the count per collection."""
    seal = crypto.has_configured_key() if seal is None else seal
    fd, temporary = tempfile.mkstemp(prefix=".portal-backup-", dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as raw:
            counts = _write_stream(database, raw, seal)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    audit.record_operation(database, "backup", f"{os.path.basename(path)}: {sum(counts.values())} documents in "
                                               f"{len(counts)} collections{', encrypted' if seal else ''}")
    return counts


def _write_stream(database, raw, seal: bool) -> dict[str, int]:
    sink = _SealedWriter(raw) if seal else raw
    names = collections_of(database)
    counts = {}
    with gzip.GzipFile(fileobj=sink, mode="wb", mtime=0) as out:
        out.write(bson.encode({"format": FORMAT, "version": VERSION, "created_at": utcnow(),
                               "database": database.name, "collections": names}, codec_options=CODEC))
        for name in names:
            counts[name] = 0
            for document in database[name].find():
                out.write(bson.encode({"c": name, "d": document}, codec_options=CODEC))
                counts[name] += 1
        out.write(bson.encode({"end": counts}, codec_options=CODEC))
    if seal:
        sink.finish()
    return counts


class _SealedWriter:
    """Cuts the bytes written into frames of CHUNK bytes, each sealed: a 4-byte length, then the token."""

    def __init__(self, raw):
        self.raw, self.pending = raw, bytearray()
        raw.write(SEALED_MAGIC)

    def write(self, data) -> int:
        self.pending += data
        while len(self.pending) >= CHUNK:
            self._frame(bytes(self.pending[:CHUNK]))
            del self.pending[:CHUNK]
        return len(data)

    def flush(self) -> None:
        pass

    def finish(self) -> None:
        if self.pending:
            self._frame(bytes(self.pending))
            self.pending.clear()

    def _frame(self, chunk: bytes) -> None:
        token = crypto.seal(chunk)
        self.raw.write(struct.pack(">I", len(token)) + token)


# ---- reading -------------------------------------------------------------------------------------------------
class _SealedReader:
    """Reads back what _SealedWriter wrote, frame by frame."""

    def __init__(self, raw):
        self.raw, self.buffer, self.frames = raw, bytearray(), 0

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self.buffer) < size:
            frame = self._frame()
            if frame is None:
                break
            self.buffer += frame
        size = len(self.buffer) if size < 0 else size
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def _frame(self) -> bytes | None:
        head = self.raw.read(4)
        if not head:
            return None
        length = struct.unpack(">I", head)[0] if len(head) == 4 else -1
        token = self.raw.read(length) if 0 < length <= CHUNK + 4096 else b""
        if len(token) != length:
            raise BackupError("The backup file is truncated or damaged.")
        try:
            frame = crypto.open_sealed(token)
        except crypto.CannotOpen:
            if self.frames:  # the key opened the frames before this one
                raise BackupError("The backup file is damaged.") from None
            raise BackupError("The backup cannot be decrypted with PORTAL_FILE_KEY: it was written with another "
                              "key, or the file is damaged.") from None
        self.frames += 1
        return frame


def _records(path: str, codec: CodecOptions = CODEC):
    """Yield the documents of a backup file, header and trailer included; raises BackupError."""
    try:
        raw = open(path, "rb")  # noqa: SIM115 (closed below; the generator may stop early)
    except OSError as exc:
        raise BackupError(f"{path} cannot be read: {exc.strerror}.") from None
    with raw:
        start = raw.read(len(SEALED_MAGIC))
        if start == SEALED_MAGIC:
            if not crypto.has_configured_key():
                raise BackupError("This backup is encrypted: set PORTAL_FILE_KEY to the key it was written with.")
            source = _SealedReader(raw)
        elif start.startswith(GZIP_MAGIC):
            raw.seek(0)
            source = raw
        else:
            raise BackupError(f"{path} is not a portal backup.")
        try:
            with gzip.GzipFile(fileobj=source, mode="rb") as stream:
                yield from bson.decode_file_iter(stream, codec_options=codec)
        except (OSError, EOFError, zlib.error, bson.errors.BSONError, ValueError) as exc:
            raise BackupError(f"The backup file is truncated or damaged ({exc.__class__.__name__}).") from None


def check(path: str) -> Contents:
    """Read and check the whole file (format, every document, counts against the trailer) without writing."""
    records = _records(path)
    header = next(records, None)
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupError(f"{path} is not a portal backup.")
    if header.get("version") != VERSION:
        raise BackupError(f"This backup has format version {header.get('version')}; this portal reads {VERSION}.")
    names = header.get("collections")
    if not isinstance(header.get("created_at"), dt.datetime) or not isinstance(names, list) or not all(
            isinstance(name, str) and _COLLECTION_NAME.fullmatch(name) for name in names):
        raise BackupError("The backup file is damaged: its header is incomplete.")
    counts = dict.fromkeys(names, 0)
    trailer = None
    for record in records:
        if trailer is not None or not isinstance(record, dict):
            raise BackupError("The backup file is damaged: data after its end.")
        if "end" in record:
            trailer = record["end"]
        elif record.get("c") in counts and isinstance(record.get("d"), dict):
            counts[record["c"]] += 1
        else:
            raise BackupError("The backup file is damaged: a document of no listed collection.")
    if trailer != counts:
        raise BackupError("The backup file is truncated or damaged: its counts do not match.")
    with open(path, "rb") as raw:
        sealed = raw.read(len(SEALED_MAGIC)) == SEALED_MAGIC
    return Contents(header.get("created_at"), str(header.get("database", "")), counts, sealed)


# ---- restoring -----------------------------------------------------------------------------------------------
def occupied(database) -> list[str]:
    """The collections that hold data beyond what a new portal writes at its first start."""
    return [name for name in collections_of(database)
            if name not in REBUILT_AT_START and database[name].find_one({}, {"_id": 1}) is not None]


def restore(database, path: str, force: bool = False) -> Contents:
    """Load a backup into an empty `database`; with `force`, empty and replace each collection the file holds.
    Nothing is written when the file or the database is refused."""
    contents = check(path)
    busy = occupied(database)
    if busy and not force:
        raise BackupError(f"The database already holds data ({', '.join(busy[:5])}{', ...' if len(busy) > 5 else ''})."
                          " Restore into an empty database, or add --force to replace every collection in the file.")
    for name in contents.counts:
        database[name].delete_many({})
    try:
        _load(database, path)
    except BackupError:
        raise IncompleteRestore("The backup file changed during the restore and the database now holds part of it:"
                                " restore a good file with --force.") from None
    create_indexes(database)
    audit.record_operation(database, "restore", f"{os.path.basename(path)} of {contents.created_at} (database "
                                                f"{contents.database}): {sum(contents.counts.values())} documents"
                                                f"{', over existing data' if busy else ''}")
    return contents


def _load(database, path: str) -> None:
    """Insert the documents of a checked file in batches of BATCH_DOCS documents or BATCH_BYTES bytes."""
    batch, size, name = [], 0, None
    for record in _records(path, RAW):
        if "c" not in record:
            continue  # header and trailer
        if batch and (record["c"] != name or len(batch) >= BATCH_DOCS or size >= BATCH_BYTES):
            database[name].insert_many(batch, ordered=True)
            batch, size = [], 0
        name = record["c"]
        document = record["d"]
        batch.append(bson.decode(document.raw, codec_options=CODEC))
        size += len(document.raw)
    if batch:
        database[name].insert_many(batch, ordered=True)


def create_indexes(database) -> int:
    """Create in `database` the indexes every registered Document declares (mongoengine's ensure_indexes, pointed
    at `database` for the call; the CLI is single-threaded)."""
    done = 0
    for document in list(_document_registry.values()):
        if document._meta.get("abstract") or not hasattr(document, "ensure_indexes"):
            continue
        own = document.__dict__.get("_collection")
        document._collection = database[document._get_collection_name()]
        try:
            document.ensure_indexes()
        finally:
            document._collection = own
        done += 1
    return done
