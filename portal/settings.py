"""Settings Admin changes in the portal (models.settings.Setting), with their defaults; and the local clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from models.common import utcnow
from models.settings import DEFAULTS, Setting
from portal.config import Config

SETTING_LABELS = {key: label for key, (_kind, _value, _clauses, label) in DEFAULTS.items()}


def get(key: str):
    """The typed value of a setting: the stored one, or its default."""
    kind, default, _clauses, _label = DEFAULTS[key]
    row = Setting.objects(key=key).only("kind", "value").first()
    return (row or Setting(key=key, kind=kind, value=default)).typed()


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
