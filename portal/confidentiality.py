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


def agreements_due(today: dt.date, days: int, limit: int = 5000) -> list[dict]:
    """Agreements (id, employee, expiry) expiring within `days` and not yet reminded, whose employee is still with
    the company and has signed no later agreement (a renewed agreement needs no reminder). Three queries."""
    collection = ConfidentialityAgreement._get_collection()
    due = list(collection.find({"expires_on": _window(today, days), "expiry_reminded": {"$ne": True}},
                               {"employee": 1, "expires_on": 1}).limit(limit))
    people = [row["employee"] for row in due]
    gone = {e["_id"] for e in Employee._get_collection().find({"_id": {"$in": people}, "status": "left"}, {"_id": 1})}
    latest: dict = {}
    for row in collection.find({"employee": {"$in": people}}, {"employee": 1, "expires_on": 1}):
        latest[row["employee"]] = max(latest.get(row["employee"], row["expires_on"]), row["expires_on"])
    return [row for row in due if row["employee"] not in gone and latest[row["employee"]] <= row["expires_on"]]


def agreement_reminders(now: dt.datetime) -> list[reminders.Sent]:
    """Agreements expiring within `agreement_expiry_days`: HR and the employee, once per expiry date (BRD 9(2)1)."""
    today = settings.local_today(now)
    due = agreements_due(today, settings.get("agreement_expiry_days"))
    if not due:
        return []
    hr = approvals.role_holders("HR")
    names = {e["_id"]: e.get("name", "") for e in Employee._get_collection().find(
        {"_id": {"$in": [row["employee"] for row in due]}}, {"name": 1})}

    def message(raw):
        return ([*hr, raw.get("employee")], "agreement_expiring",
                {"title": names.get(raw.get("employee"), ""), "date": f"{raw['expires_on']:%Y-%m-%d}"},
                AGREEMENT_PATH.format(id=raw["_id"]))

    return reminders.once(now, ConfidentialityAgreement, {"_id": {"$in": [row["_id"] for row in due]}},
                          "expiry_reminded", True,
                          {"employee": 1, "expires_on": 1}, message)


def ip_reminders(now: dt.datetime) -> list[reminders.Sent]:
    """Filed or granted rights expiring within `ip_expiry_days`: the responsible person and Legal, once per expiry
    date (SOC 8.2)."""
    today = settings.local_today(now)
    where = {"status": {"$in": list(LIVE_IP)}, "expires_on": _window(today, settings.get("ip_expiry_days"))}
    legal = approvals.role_holders("Legal")

    def message(raw):
        return ([raw.get("responsible"), *legal], "ip_expiring",
                {"title": f"{raw.get('title', '')} {raw.get('number') or ''}".strip(),
                 "date": f"{raw['expires_on']:%Y-%m-%d}"}, IP_PATH.format(id=raw["_id"]))

    return reminders.once(now, IntellectualProperty, where, "expiry_reminded", True,
                          {"title": 1, "number": 1, "responsible": 1, "expires_on": 1}, message)


reminders.SOURCES.extend([agreement_reminders, ip_reminders])
