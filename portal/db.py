"""The one place that connects to MongoDB: a real server through MONGODB_URI, or the embedded mongomock store."""

import functools
import logging
import re
import threading

import mongoengine
from mongoengine.base import _document_registry

log = logging.getLogger(__name__)

EMBEDDED_WARNING = (
    "EMBEDDED IN-MEMORY STORE (mongomock): all data is lost when the process stops. "
    "Set MONGODB_URI to use a MongoDB server."
)


class DatabaseUnreachable(RuntimeError):
    """The configured MongoDB server did not answer."""


def redacted(uri: str) -> str:
    """Return `uri` without its password."""
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", uri)


_EMBEDDED = threading.RLock()


def serialize_embedded_store() -> None:
    """Make each read and write of the embedded store atomic, as a server's single-document operations are.

    mongomock matches a document, copies it and then changes it in place, with no lock: two threads of one process
    (`portal run`, gunicorn's gthread) could both match `{"seq": 5}` and both apply their update, so two clicks on
    one step would both decide it, and a read copying a document while it changes fails ("dictionary changed size
    during iteration", a 500). Found by `portal load`; one process-wide lock around the write paths and the places
    where results are materialised (cursors, counts, aggregations, distinct)."""
    import mongomock.collection as mc

    if getattr(mc.Collection, "_portal_serialized", False):
        return
    for owner, name in ((mc.Collection, "_insert"), (mc.Collection, "_update"), (mc.Collection, "_find_and_modify"),
                        (mc.Collection, "_delete"), (mc.Collection, "count_documents"),
                        (mc.Collection, "estimated_document_count"), (mc.Collection, "aggregate"),
                        (mc.Collection, "distinct"), (mc.Cursor, "_compute_results")):
        setattr(owner, name, _locked(getattr(owner, name)))
    mc.Collection._portal_serialized = True


def _locked(method):
    @functools.wraps(method)
    def atomic(*args, **kwargs):
        with _EMBEDDED:
            return method(*args, **kwargs)

    return atomic


def connect(uri: str | None, name: str = "portal", timeout_ms: int = 5000) -> str:
    """Connect mongoengine to `uri` (or the embedded store) and return a line that says which."""
    mongoengine.disconnect_all()
    if uri is None:
        import mongomock

        serialize_embedded_store()
        mongoengine.connect(name, host="mongodb://localhost", uuidRepresentation="standard",
                            mongo_client_class=mongomock.MongoClient)
        return EMBEDDED_WARNING
    mongoengine.connect(host=uri, db=name if "/" not in uri.split("//", 1)[-1].split("?")[0] else None,
                        uuidRepresentation="standard", serverSelectionTimeoutMS=timeout_ms, tz_aware=False)
    try:
        mongoengine.get_db().command("ping")
    except Exception as exc:
        raise DatabaseUnreachable(f"MongoDB at {redacted(uri)} is unreachable: {exc.__class__.__name__}") from exc
    return f"MongoDB at {redacted(uri)}, database {mongoengine.get_db().name}"


def store_kind() -> str:
    """'embedded' for mongomock, 'mongodb' for a real server."""
    client = mongoengine.get_connection()
    return "embedded" if type(client).__module__.startswith("mongomock") else "mongodb"


def ping() -> bool:
    try:
        mongoengine.get_db().command("ping")
        return True
    except Exception:
        return False


def ensure_indexes() -> int:
    """Create the indexes every registered Document declares; return how many collections were handled."""
    done = 0
    for document in list(_document_registry.values()):
        if document._meta.get("abstract") or not hasattr(document, "ensure_indexes"):
            continue
        document.ensure_indexes()
        done += 1
    return done

