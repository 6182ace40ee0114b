"""Confidentiality rules (DOMAIN 3.10; BRD 9, SOC 8): where an agreement stands, and reminders before agreements
and intellectual property rights expire. No Flask here."""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l

from models.confidentiality import LIVE_IP, ConfidentialityAgreement, IntellectualProperty
from models.org import Employee
from portal import approvals, reminders, settings

AGREEMENT_PATH = "/confidentiality-agreements/show/{id}"
IP_PATH = "/intellectual-property/show/{id}"
STANDINGS = {"in_force": _l("In force"), "expiring": _l("Expires soon"), "expired": _l("Expired")}


def standing(expires_on: dt.date | None, today: dt.date, window: int) -> str | None:
    """In force, expiring (within `window` days) or expired, on `today`.

    >>> standing(dt.date(2026, 3, 1), dt.date(2026, 1, 31), 60)
    'expiring'
    """
    if expires_on is None:
        return None
    if expires_on < today:
        return "expired"
    return "expiring" if expires_on <= today + dt.timedelta(days=window) else "in_force"


def _window(today: dt.date, days: int) -> dict:
    return {"$gte": reminders.day(today), "$lte": reminders.day(today + dt.timedelta(days=days))}


def agreements_due(today: dt.date, days: int, limit: int = 5000, fresh: bool = True,
                   where: dict | None = None) -> list[dict]:
    """Agreements (id, employee, expiry) expiring within `days` (with `fresh`: not yet reminded), whose employee is
    still with the company and has signed no later agreement (a renewed agreement needs no reminder). Three
    queries."""
    collection = ConfidentialityAgreement._get_collection()
    query = {"expires_on": _window(today, days), **({"expiry_reminded": {"$ne": True}} if fresh else {})}
    due = list(collection.find({"$and": [query, where]} if where else query,
                               {"employee": 1, "expires_on": 1, "expiry_reminded": 1}).limit(limit))
    people = [row["employee"] for row in due]
    gone = {e["_id"] for e in Employee._get_collection().find({"_id": {"$in": people}, "status": "left"}, {"_id": 1})}
    latest: dict = {}
    for row in collection.find({"employee": {"$in": people}}, {"employee": 1, "expires_on": 1}):
        latest[row["employee"]] = max(latest.get(row["employee"], row["expires_on"]), row["expires_on"])
    return [row for row in due if row["employee"] not in gone and latest[row["employee"]] <= row["expires_on"]]


def _agreement_items(now: dt.datetime, rows: list[dict]) -> list[reminders.Due]:
    """Agreements expiring within `agreement_expiry_days`: HR and the employee, once per expiry date (BRD 9(2)1)."""
    hr = approvals.role_holders("HR")
    names = {e["_id"]: e.get("name", "") for e in Employee._get_collection().find(
        {"_id": {"$in": [row["employee"] for row in rows]}}, {"name": 1})}
    return [reminders.item(raw, "agreement_expiring", (*hr, raw.get("employee")),
                           {"title": names.get(raw.get("employee"), ""), "date": f"{raw['expires_on']:%Y-%m-%d}"},
                           AGREEMENT_PATH.format(id=raw["_id"]), title=names.get(raw.get("employee"), ""),
                           stamp="expiry_reminded", value=True, when=raw["expires_on"]) for raw in rows]


agreement_reminders = reminders.Source(
    "agreement_reminders", ConfidentialityAgreement,
    {"agreement_expiring": _l("Confidentiality agreements expiring")}, _agreement_items,
    rows=lambda now, fresh, where: agreements_due(settings.local_today(now), settings.get("agreement_expiry_days"),
                                                  fresh=fresh, where=where),
    pages={"agreement_expiring": "/confidentiality-agreements/list/"},
    mine=lambda person: None if "HR" in person.roles else {"employee": person.id})


def _ip_items(now: dt.datetime, rows: list[dict]) -> list[reminders.Due]:
    """Filed or granted rights expiring within `ip_expiry_days`: the responsible person and Legal, once per expiry
    date (SOC 8.2)."""
    legal = approvals.role_holders("Legal")
    out = []
    for raw in rows:
        title = f"{raw.get('title', '')} {raw.get('number') or ''}".strip()
        out.append(reminders.item(raw, "ip_expiring", (raw.get("responsible"), *legal),
                                  {"title": title, "date": f"{raw['expires_on']:%Y-%m-%d}"},
                                  IP_PATH.format(id=raw["_id"]), title=title, stamp="expiry_reminded", value=True,
                                  when=raw["expires_on"]))
    return out


ip_reminders = reminders.Source(
    "ip_reminders", IntellectualProperty, {"ip_expiring": _l("Intellectual property rights expiring")}, _ip_items,
    where=lambda now: {"status": {"$in": list(LIVE_IP)},
                       "expires_on": _window(settings.local_today(now), settings.get("ip_expiry_days"))},
    fields={"title": 1, "number": 1, "responsible": 1, "expires_on": 1, "expiry_reminded": 1},
    fresh=lambda now: {"expiry_reminded": {"$ne": True}}, sort=("expires_on", 1),
    pages={"ip_expiring": "/intellectual-property/list/"},
    mine=lambda person: None if "Legal" in person.roles else {"responsible": person.id})


reminders.SOURCES.extend([agreement_reminders, ip_reminders])
