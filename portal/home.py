"""The home page's content (issue 9 item 1): what needs my action now, which is exactly what `portal remind` tells
(`reminders.due_for`), grouped by kind; and my recent records from the audit trail. No Flask here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from models.audit import AuditEntry
from models.common import utcnow
from portal import reminders

GROUP_SIZE = 10  # items listed per kind; a longer group links to its list
RECENT = 10
RECENT_ACTIONS = ("create", "update", "delete", "state")  # changes to records, not sign-ins or exports


@dataclass
class Group:
    """The items of one kind that wait for the user."""

    kind: str
    label: object  # lazy text
    count: int
    items: list  # the first GROUP_SIZE, oldest due first
    page: str | None  # the list of such records, when the group is longer than what is shown


def needs_action(person, now: dt.datetime | None = None) -> list[Group]:
    """The user's due items grouped by kind, in the order of the sources (a fixed number of queries)."""
    due = reminders.due_for(person, now or utcnow())
    groups = []
    for source in reminders.sources():
        for kind, label in source.kinds.items():
            mine = sorted((d for d in due if d.kind == kind), key=lambda d: (d.when is None, d.when or dt.datetime.min))
            if mine:
                groups.append(Group(kind, label, len(mine), mine[:GROUP_SIZE],
                                    source.pages.get(kind) if len(mine) > GROUP_SIZE else None))
    return groups


def recent_records(username: str | None, limit: int = RECENT) -> list[dict]:
    """The user's last changes to records, newest first: one query."""
    if not username:
        return []
    return list(AuditEntry._get_collection().find(
        {"user": username, "action": {"$in": list(RECENT_ACTIONS)}},
        {"at": 1, "action": 1, "collection": 1, "record_id": 1, "record_label": 1}).sort("at", -1).limit(limit))
