"""Settings Admin changes in the portal (models.settings.Setting), with their defaults; and the local clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from zoneinfo import ZoneInfo

from models.common import utcnow
from models.settings import DEFAULTS, Setting
from portal.config import Config

SETTING_LABELS = {key: label for key, (_kind, _value, _clauses, label) in DEFAULTS.items()}


_SNAPSHOT: ContextVar[dict | None] = ContextVar("settings_snapshot", default=None)


def get(key: str):
    """The typed value of a setting: the stored one, or its default."""
    kind, default, _clauses, _label = DEFAULTS[key]
    taken = _SNAPSHOT.get()
    row = taken.get(key) if taken is not None else Setting.objects(key=key).only("kind", "value").first()
    return (row or Setting(key=key, kind=kind, value=default)).typed()


@contextmanager
def snapshot() -> Iterator[None]:
    """Read every setting in one query for the block (a page that needs many of them, like the home page), not
    one query per `get`. Nothing is kept after the block, so a changed setting counts from the next page on."""
    token = _SNAPSHOT.set({row.key: row for row in Setting.objects.only("key", "kind", "value")})
    try:
        yield
    finally:
        _SNAPSHOT.reset(token)


def ensure_defaults() -> int:
    """Create the settings that do not exist yet (idempotent); return how many were created."""
    created = 0
    for key, (kind, value, clauses, _label) in DEFAULTS.items():
        if not Setting.objects(key=key).first():
            Setting(key=key, kind=kind, value=value, clauses=clauses).save()
            created += 1
    return created


def zone() -> ZoneInfo:
    try:
        return ZoneInfo(Config.TIMEZONE)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def local_today(now: dt.datetime | None = None) -> dt.date:
    """Today in the company's time zone (PORTAL_TIMEZONE): what "in the past" means for a leave date."""
    now = now or utcnow()
    return now.replace(tzinfo=dt.UTC).astimezone(zone()).date()


def to_local(value: dt.datetime | None) -> dt.datetime | None:
    """A stored (naive UTC) time in the company's time zone, for display."""
    return None if value is None else value.replace(tzinfo=dt.UTC).astimezone(zone())


def from_local(value: dt.datetime) -> dt.datetime:
    """A wall-clock time in the company's time zone as the naive UTC the database keeps."""
    return value.replace(tzinfo=zone()).astimezone(dt.UTC).replace(tzinfo=None)
