"""Audit trail (DOMAIN 7): every create, update and delete of a business record becomes an append-only entry."""

from __future__ import annotations

import contextvars
import datetime as dt
import json
from decimal import Decimal

from bson import DBRef, ObjectId
from flask import g, has_request_context
from flask_appbuilder.security.mongoengine.models import Role
from mongoengine import Document, signals

from models.audit import AuditEntry, FieldChange
from models.common import MoneyField, PortalDocument, from_fen, utcnow
from models.users import PortalUser

_cli_actor: contextvars.ContextVar[str] = contextvars.ContextVar("portal_cli_actor", default="system")
_BOOKKEEPING = {"_id", "_cls", "version", "created_at", "created_by", "updated_at", "updated_by",
                "changed_on", "changed_by", "created_on"}
MAX_VALUE = 300
CONFIDENTIAL_CHANGE = "(changed; confidential)"
AUDITED = (PortalDocument, PortalUser, Role)


def set_cli_actor(name: str) -> None:
    """Name the actor of writes made outside a request (CLI commands, scheduled jobs)."""
    _cli_actor.set(name)


def current_actor() -> str:
    user = getattr(g, "user", None) if has_request_context() else None
    if user is not None and getattr(user, "is_authenticated", False):
        return user.username
    return _cli_actor.get()


ANONYMOUS = "anonymous"


def author_of(document, created: bool) -> str:
    """Who the stamps and the trail name for a write: nobody for the creation of a record its author submits
    anonymously (a model's `anonymous_author`, DSC 4(4)2); later changes name whoever makes them."""
    if created and getattr(document, "anonymous_author", False):
        return ANONYMOUS
    return current_actor()


def _display(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (ObjectId, DBRef)):
        return str(getattr(value, "id", value))
    if isinstance(value, Document):
        return str(value.pk)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, (list, dict)):
        text = json.dumps(value, default=_plain, ensure_ascii=False, sort_keys=True)
    else:
        text = str(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def _plain(value):
    if isinstance(value, (ObjectId, DBRef)):
        return str(getattr(value, "id", value))
    if isinstance(value, (dt.datetime, dt.date, Decimal)):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return str(value)


def _excluded(document) -> set[str]:
    return _BOOKKEEPING | set(getattr(document, "audit_exclude", ()))


def diff(old: dict, new: dict, excluded: set[str], money: frozenset[str] = frozenset()) -> list[FieldChange]:
    """Field-by-field changes between two stored forms of a record (raw MongoDB documents); amounts in
    `money` are stored in fen and shown in yuan."""
    changes = []
    for key in sorted((set(old) | set(new)) - excluded):
        before, after = old.get(key), new.get(key)
        if before != after and not (before in (None, [], "") and after in (None, [], "")):
            if key in money:
                before, after = (None if v is None else from_fen(v) for v in (before, after))
            changes.append(FieldChange(field=key, old=_display(before), new=_display(after)))
    return changes


def changes_of(document, old: dict, new: dict) -> list[FieldChange]:
    """What changed between two stored forms, as the audit trail may keep it: a model's `mask_for_audit`
    hides confidential values (a changed phone number is recorded as changed, not written down)."""
    excluded, money = _excluded(document), _money_fields(document)
    changes = diff(old, new, excluded, money)
    mask = getattr(type(document), "mask_for_audit", None)
    if mask is None or not changes:
        return changes
    shown = {c.field: c for c in diff(mask(old) if old else old, mask(new) if new else new, excluded, money)}
    return [shown.get(c.field) or FieldChange(field=c.field, old="", new=CONFIDENTIAL_CHANGE) for c in changes]


def _money_fields(document) -> frozenset[str]:
    return frozenset(f.db_field for f in document._fields.values() if isinstance(f, MoneyField))


def record(action: str, document, changes=None, note: str = "", user: str | None = None) -> AuditEntry:
    """Append one entry for `document` (also used by services for state changes and exports)."""
    return AuditEntry(user=user or current_actor(), action=action, collection=document._get_collection_name(),
                      record_id=str(document.pk), record_label=_display(str(document))[:200],
                      changes=changes or [], note=note[:1000]).save()


def record_operation(database, label: str, note: str) -> None:
    """Append an Administration entry about a whole database (a backup, a restore) to that database's log."""
    entry = AuditEntry(user=current_actor(), action="admin", collection="database", record_id=database.name[:64],
                       record_label=label[:200], note=note[:1000])
    entry.validate()
    database[AuditEntry._get_collection_name()].insert_one(entry.to_mongo().to_dict())


def history_for(document_class, pk, limit: int = 50) -> list[AuditEntry]:
    """The newest entries of one record: one query."""
    return list(AuditEntry.objects(collection=document_class._get_collection_name(), record_id=str(pk))
                .order_by("-at").limit(limit))


# ---- signal handlers ---------------------------------------------------------------------------
def _pre_save(sender, document, **kwargs):
    if not isinstance(document, AUDITED):
        return
    actor = author_of(document, document.pk is None or document._created)
    if isinstance(document, PortalDocument):
        if document.pk is None or document._created:
            document.created_by = document.created_by or actor
        document.updated_by = actor
    elif isinstance(document, PortalUser):
        document.changed_on = utcnow()
        user = getattr(g, "user", None) if has_request_context() else None
        if user is not None and getattr(user, "is_authenticated", False) and isinstance(user, PortalUser):
            if document.pk is None:
                document.created_by = user  # FAB's default is evaluated once at import (F7)
            document.changed_by = user
    document._audit_old = None
    if document.pk is not None and not document._created:
        document._audit_old = type(document)._get_collection().find_one({"_id": document.pk}) or {}


def _post_save(sender, document, created=False, **kwargs):
    if not isinstance(document, AUDITED):
        return
    old = getattr(document, "_audit_old", None) or {}
    changes = changes_of(document, {} if created else old, document.to_mongo().to_dict())
    if created or changes:
        record("create" if created else "update", document, changes, getattr(document, "_audit_note", ""),
               user=author_of(document, created))


def _post_delete(sender, document, **kwargs):
    if isinstance(document, AUDITED):
        record("delete", document, changes_of(document, document.to_mongo().to_dict(), {}))


def connect_signals() -> None:
    """Listen to every save and delete (idempotent)."""
    signals.pre_save.connect(_pre_save, weak=False)
    signals.post_save.connect(_post_save, weak=False)
    signals.post_delete.connect(_post_delete, weak=False)



def record_state(document_class, raw: dict, field: str, before, after, username: str) -> None:
    """Audit one state change made by a service with a raw conditional update."""
    record("update", document_class._from_son(raw), [FieldChange(field=field, old=str(before or ""),
                                                                 new=str(after or ""))], note=f"by {username}")


def guarded_change(document_class, doc_id, field: str, allowed, sets: dict, username: str, now: dt.datetime,
                   push: dict | None = None, extra_condition: dict | None = None) -> tuple[dict | None, dict | None]:
    """Move `field` of one record from one of `allowed` to `sets[field]` (or just apply `sets`) in one
    conditional update, audited; returns (before, after), after None when the record was not in an allowed
    state (someone else moved it first)."""
    from pymongo import ReturnDocument

    collection = document_class._get_collection()
    before = collection.find_one({"_id": doc_id}, {field: 1})
    if before is None:
        return None, None
    update = {"$set": {**sets, "updated_at": now, "updated_by": username}, "$inc": {"version": 1}}
    if push:
        update["$push"] = push
    after = collection.find_one_and_update({"_id": doc_id, field: {"$in": list(allowed)}, **(extra_condition or {})},
                                           update, return_document=ReturnDocument.AFTER)
    if after is not None and after.get(field) != before.get(field):
        record_state(document_class, after, field, before.get(field), after.get(field), username)
    return before, after
