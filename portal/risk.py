"""Risk, audit and compliance rules (DOMAIN 3.9; DSC 6, SOC 9, FSS 8): breach notices, the risk matrix, the
customer's credit kept equal to its latest assessment, the course of an audit finding, and the area's reminders
(overdue reviews and corrective actions). No Flask here."""

from __future__ import annotations

import datetime as dt
import logging

from flask_babel import lazy_gettext as _l
from mongoengine import signals
from pymongo import ReturnDocument

from models.common import field_error, utcnow
from models.customers import Customer
from models.risk import LIVE_RISK, OPEN_FINDING, AuditFinding, CreditAssessment, Risk, risk_level
from portal import approvals, audit, reminders, settings
from portal.approvals import Actor, Refused

log = logging.getLogger(__name__)

RISK_PATH = "/risks/show/{id}"
FINDING_PATH = "/audit-findings/show/{id}"
AUDIT_ROLES = frozenset({"Auditor", "Admin"})  # internal audit verifies corrections (DSC 6(3)3)
REPORTING_ROLES = frozenset({"Clerk", "DeptHead", "Admin"})  # the responsible unit's clerks and heads
CREDIT_FIELDS = ("credit_rating", "credit_limit")


def _id(value):
    return getattr(value, "pk", getattr(value, "id", value))


# ---- risks: warning indicators and the matrix (SOC 9.1, 9.3) --------------------------------------------------
def _breach_items(now: dt.datetime, rows: list[dict]) -> list[reminders.Due]:
    out = []
    for raw in rows:
        key = raw.get("breach_key")
        if not key:
            continue
        due = reminders.item(raw, "risk_breach", (raw.get("owner"),),
                             {"title": raw.get("title") or "", "text": key.replace("|", ", ")},
                             RISK_PATH.format(id=raw["_id"]), title=raw.get("title") or "", stamp="breach_notified",
                             value=key)
        due.claim = {"breach_key": key, "breach_notified": {"$ne": key}}
        out.append(due)
    return out


# The owner of a live risk hears of each new breach of its warning indicators once (SOC 9.3): a breach is the set
# of indicators breached together; cleared and breached again, it is told again.
breach_notices = reminders.Source(
    "breach_notices", Risk, {"risk_breach": _l("Risks with a warning indicator breached")}, _breach_items,
    where=lambda now: {"breached": True, "status": {"$in": list(LIVE_RISK)}},
    fields={"title": 1, "owner": 1, "breach_key": 1, "breach_notified": 1},
    pages={"risk_breach": "/risks/list/?_flt_0_breached=y"}, mine=lambda person: {"owner": person.id})


def notify_breach(risk_id, now: dt.datetime | None = None) -> list[reminders.Sent]:
    """Right after a risk is saved: its owner hears of a new breach at once (the reminder run catches the rest)."""
    return breach_notices(now or utcnow(), {"_id": risk_id})


def matrix(where: dict) -> list[list[dict]]:
    """The 5 x 5 grid of live risks within `where` (a raw scope filter): rows of likelihood 5 down to 1, columns
    of impact 1 to 5, each cell with its count and level. One aggregation."""
    live = {"status": {"$in": list(LIVE_RISK)}}
    rows = Risk._get_collection().aggregate([
        {"$match": {"$and": [where, live]} if where else live},
        {"$group": {"_id": {"likelihood": "$likelihood", "impact": "$impact"}, "count": {"$sum": 1}}}])
    counts = {(row["_id"].get("likelihood"), row["_id"].get("impact")): row["count"] for row in rows}
    return [[{"likelihood": likelihood, "impact": impact, "score": likelihood * impact,
              "level": risk_level(likelihood * impact), "count": counts.get((likelihood, impact), 0)}
             for impact in range(1, 6)] for likelihood in range(5, 0, -1)]


# ---- reminders ----------------------------------------------------------------------------------------------
def _heads_for(rows: list[dict], person_field: str) -> dict:
    """Per row: the head of its unit, or the person's own head when they head the unit themselves (or it has no
    head). Five queries for any number of rows."""
    units = reminders.unit_heads({raw.get("owner_unit") for raw in rows if raw.get("owner_unit") is not None})
    own = reminders.heads_of(raw.get(person_field) for raw in rows
                             if units.get(raw.get("owner_unit")) in (None, raw.get(person_field)))
    out = {}
    for raw in rows:
        person, head = raw.get(person_field), units.get(raw.get("owner_unit"))
        out[raw["_id"]] = own.get(person) if person is not None and head in (None, person) else head
    return out


def _dated_items(kind: str, path: str, person_field: str, date_field: str, stamp: str, label_field: str):
    """Each record told once per date of `date_field` (a new review or due date is told again): the person and
    their head (without a person, the unit's head)."""
    def items(now: dt.datetime, rows: list[dict]) -> list[reminders.Due]:
        heads = _heads_for(rows, person_field)
        out = []
        for raw in rows:
            date = raw[date_field]
            due = reminders.item(raw, kind, (raw.get(person_field), heads.get(raw["_id"])),
                                 {"title": raw.get(label_field) or "", "date": f"{date:%Y-%m-%d}"},
                                 path.format(id=raw["_id"]), title=raw.get(label_field) or "", stamp=stamp, value=date,
                                 when=date)
            due.claim = {date_field: date, stamp: {"$ne": date}}
            out.append(due)
        return out

    return items


def _mine(person: reminders.Person, person_field: str) -> dict:
    """Records of the person or of someone who reports to them, or of a unit whose head they may be."""
    return {"$or": [{person_field: {"$in": person.among(*person.reports)}},
                    {"owner_unit": {"$in": list(person.units)}}]}


# Live risks past their review date: the owner and the head of the owner's unit (FSS 8(1)2, DSC 6(1)1).
review_reminders = reminders.Source(
    "review_reminders", Risk, {"risk_review_due": _l("Risks past their review date")},
    _dated_items("risk_review_due", RISK_PATH, "owner", "review_on", "review_reminded_for", "title"),
    where=lambda now: {"status": {"$in": list(LIVE_RISK)},
                       "review_on": {"$lt": reminders.day(settings.local_today(now))}},
    fields={"title": 1, "owner": 1, "owner_unit": 1, "review_on": 1, "review_reminded_for": 1}, sort=("review_on", 1),
    pages={"risk_review_due": "/risks/list/"}, mine=lambda person: _mine(person, "owner"))

# Corrective actions past their due date: the responsible person and their head (DSC 6(3)3).
finding_reminders = reminders.Source(
    "finding_reminders", AuditFinding, {"finding_overdue": _l("Corrective actions past due")},
    _dated_items("finding_overdue", FINDING_PATH, "responsible", "due_on", "reminded_for", "number"),
    where=lambda now: {"status": {"$in": list(OPEN_FINDING)},
                       "due_on": {"$lt": reminders.day(settings.local_today(now))}},
    fields={"number": 1, "responsible": 1, "owner_unit": 1, "due_on": 1, "reminded_for": 1}, sort=("due_on", 1),
    pages={"finding_overdue": "/audit-findings/list/"}, mine=lambda person: _mine(person, "responsible"))


# ---- credit: the customer's rating and limit are those of its latest assessment (DSC 6(2)3) ---------------------
def latest_assessment(customer_id) -> dict | None:
    """The customer's latest assessment by date (the later entry on the same day)."""
    rows = CreditAssessment._get_collection().find({"customer": customer_id}, {"rating": 1, "credit_limit": 1}).sort(
        [("assessed_on", -1), ("created_at", -1)]).limit(1)
    return next(iter(rows), None)


def sync_customer_credit(customer_id, username: str | None = None, now: dt.datetime | None = None) -> dict | None:
    """Set the customer's rating and limit to those of its latest assessment (cleared when none is left), in one
    conditional update, audited. Returns the customer as stored, None when it does not exist."""
    latest = latest_assessment(customer_id)
    wanted = {"credit_rating": latest.get("rating") if latest else None,
              "credit_limit": latest.get("credit_limit") if latest else None}  # fen, as stored
    collection = Customer._get_collection()
    username, now = username or audit.current_actor(), now or utcnow()
    for _attempt in range(3):  # someone else changing the same fields in between: read again
        before = collection.find_one({"_id": customer_id}, dict.fromkeys(CREDIT_FIELDS, 1))
        if before is None:
            return None
        old = {key: before.get(key) for key in CREDIT_FIELDS}
        if old == wanted:
            return before
        after = collection.find_one_and_update(
            {"_id": customer_id, **old},
            {"$set": {**wanted, "updated_at": now, "updated_by": username}, "$inc": {"version": 1}},
            return_document=ReturnDocument.AFTER)
        if after is not None:
            customer = Customer._from_son(after)
            audit.record("update", customer, audit.changes_of(customer, old, {k: after.get(k) for k in CREDIT_FIELDS}),
                         note="credit assessment")
            return after
    log.warning("customer %s: credit not brought in line with its latest assessment (concurrent changes)", customer_id)
    return None


def _assessment_before_save(sender, document, **kwargs):
    document._credit_old_customer = None
    if document.pk is not None and not document._created:
        raw = CreditAssessment._get_collection().find_one({"_id": document.pk}, {"customer": 1})
        document._credit_old_customer = raw.get("customer") if raw else None


def _assessment_saved(sender, document, **kwargs):
    for customer_id in dict.fromkeys([_id(document.customer), getattr(document, "_credit_old_customer", None)]):
        if customer_id is not None:
            sync_customer_credit(customer_id)


def _assessment_deleted(sender, document, **kwargs):
    sync_customer_credit(_id(document.customer))


# whatever saves or deletes an assessment (a form, a seed, a script), the customer follows
signals.pre_save.connect(_assessment_before_save, sender=CreditAssessment, weak=False)
signals.post_save.connect(_assessment_saved, sender=CreditAssessment, weak=False)
signals.post_delete.connect(_assessment_deleted, sender=CreditAssessment, weak=False)


# ---- internal audit: a finding's course (DSC 6(3)3) ----------------------------------------------------------------
def may_report(finding, actor: Actor) -> bool:
    """The responsible person, or a clerk or head of the responsible unit (the view's scope has let them see it),
    reports the correction; internal audit does not correct its own findings."""
    mine = actor.employee_id is not None and actor.employee_id == _id(finding.responsible)
    return mine or bool(actor.roles & REPORTING_ROLES)


def _move(finding_id, actor: Actor, allowed, sets: dict, now, extra_condition=None) -> dict:
    _before, after = audit.guarded_change(AuditFinding, finding_id, "status", allowed, sets, actor.username, now,
                                          extra_condition=extra_condition)
    if after is None:
        raise Refused(_l("Someone else has moved this finding on in the meantime. Reload the page."))
    return after


def start_finding(finding, actor: Actor, now: dt.datetime | None = None) -> dict:
    """The responsible side starts on the corrective action."""
    if not may_report(finding, actor):
        raise Refused(_l("The responsible person or unit works on the correction."))
    return _move(finding.pk, actor, ["open"], {"status": "in_progress"}, now or utcnow())


def report_correction(finding, actor: Actor, note: str, now: dt.datetime | None = None) -> dict:
    """The responsible side reports what was corrected; internal audit then verifies it."""
    note = (note or "").strip()
    if not may_report(finding, actor):
        raise Refused(_l("The responsible person or unit reports the correction."))
    if not note:
        raise Refused(_l("Say what was corrected."))
    now = now or utcnow()
    return _move(finding.pk, actor, list(OPEN_FINDING),
                 {"status": "corrected", "correction_note": note[:2000], "corrected_by": actor.name,
                  "corrected_login": actor.username, "corrected_at": now}, now)


def verify_finding(finding, actor: Actor, note: str, now: dt.datetime | None = None) -> dict:
    """Internal audit checks the correction and closes the finding; never the person who reported it."""
    _auditor(actor)
    if finding.corrected_login == actor.username:
        raise Refused(_l("Someone other than the person who reported the correction verifies it."))
    now = now or utcnow()
    sets = {"status": "verified", "verified_by": actor.name, "verified_at": now,
            "verification_note": (note or "").strip()[:2000]}
    return _move(finding.pk, actor, ["corrected"], sets, now,
                 extra_condition={"corrected_login": {"$ne": actor.username}})


def reopen_finding(finding, actor: Actor, note: str, now: dt.datetime | None = None) -> dict:
    """Internal audit finds the correction insufficient: back to the responsible side, with the reason."""
    _auditor(actor)
    note = (note or "").strip()
    if not note:
        raise Refused(_l("Say what is still missing."))
    return _move(finding.pk, actor, ["corrected"], {"status": "in_progress", "verification_note": note[:2000]},
                 now or utcnow())


def _auditor(actor: Actor) -> None:
    if not actor.roles & AUDIT_ROLES:
        raise Refused(_l("Internal audit verifies corrections."))


# ---- legal compliance (DSC 6(4)3) -----------------------------------------------------------------------------
def check_reviewer(review) -> None:
    """A compliance review is given by Legal: its reviewer's login holds the Legal role."""
    reviewer = _id(review.reviewer)
    if reviewer is not None and reviewer not in approvals.role_holders("Legal"):
        raise field_error("reviewer", _l("Compliance reviews are given by Legal: choose a member of Legal."))


reminders.SOURCES.extend([breach_notices, review_reminders, finding_reminders])
