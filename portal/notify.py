"""Notifications: the bell in the portal, and e-mail when SMTP settings are given (PORTAL_SMTP_*).

A notification stores its kind and parameters, not text, so that each reader sees it in their own language.
E-mails are written in Chinese and English, since the sender does not know the reader's choice.
"""

from __future__ import annotations

import logging
import smtplib
from contextlib import nullcontext
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from bson import ObjectId
from flask import has_app_context
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from models.approvals import APPROVER_KINDS, APPROVER_ROLES, Notification
from models.common import choice_label, utcnow
from models.org import Employee

log = logging.getLogger(__name__)

MESSAGES = {
    "waiting": _l("%(requester)s asks for your approval: %(title)s"),
    "decided": _l("%(actor)s approved step “%(step)s” of your request: %(title)s"),
    "approved": _l("Your request is approved: %(title)s"),
    "rejected": _l("%(actor)s rejected your request: %(title)s"),
    "returned": _l("%(actor)s returned the request for revision: %(title)s"),
    "withdrawn": _l("%(actor)s withdrew the request: %(title)s"),
    "cc": _l("%(actor)s copied you on a request of %(requester)s: %(title)s"),
    "urged": _l("%(actor)s is waiting for your decision: %(title)s"),
    "overdue": _l("Past its time limit, waiting for your decision: %(title)s"),
    "escalated": _l("Step “%(step)s” of %(title)s is overdue with %(approver)s, who reports to you"),
    "transferred": _l("%(actor)s handed you a step to decide: %(title)s"),
    "added": _l("%(actor)s added you as an approver after their step: %(title)s"),
    "paid": _l("Your expense claim has been paid: %(title)s"),
    "complaint_assigned": _l("Complaint %(title)s is for your department: answer by %(due)s"),
    "complaint_overdue": _l("Complaint %(title)s is past its response deadline (%(due)s)"),
    "customer_verify": _l("Please re-check the customer file %(title)s (last verified %(date)s)"),
    "visit_due": _l("Customer visit due: %(title)s on %(date)s"),
    "return_visit_due": _l("Return visit due: %(title)s on %(date)s"),
    "contract_signed": _l("Contract %(title)s was signed on %(date)s: please follow up"),
    "contract_renewal": _l("Contract %(title)s ends on %(date)s: negotiate its renewal"),
    "client_report_due": _l("A progress report to the client is due for contract %(title)s by %(date)s"),
    "shipped": _l("Order %(title)s has shipped, tracking no. %(tracking)s: please tell the customer"),
    "shipment_exception": _l("Shipment exception on order %(title)s: %(text)s"),
    "stock_low": _l("Stock below its reorder level: %(title)s"),
    "stock_high": _l("Stock above its maximum level: %(title)s"),
    "stock_slow": _l("Slow-moving stock needs a disposal decision: %(title)s"),
    "receivable_overdue": _l("Receivable %(title)s was due on %(date)s and is not paid: please chase it"),
    "receivable_escalated": _l("Receivable %(title)s, due on %(date)s, is still unpaid: escalated to you"),
    "written_off": _l("Receivable %(title)s is written off as a bad debt"),
    "unremitted": _l("%(title)s has %(amount)s of confirmed sales not yet paid in to the company"),
    "ticket_overdue": _l("After-sales ticket %(title)s is past its deadline (%(date)s)"),
    "violation_decided": _l("A disciplinary decision concerns you (%(title)s): please read and acknowledge it"),
    "violation_overdue": _l("The correction deadline of warning %(title)s passed on %(date)s"),
    "correction_reported": _l("A correction of warning %(title)s is reported: please confirm it"),
    "agreement_expiring": _l("The confidentiality agreement of %(title)s expires on %(date)s: renew it"),
    "ip_expiring": _l("%(title)s expires on %(date)s: renew it or decide to let it lapse"),
    "risk_breach": _l("Warning indicator breached on risk %(title)s: %(text)s"),
    "risk_review_due": _l("Risk %(title)s was due for review on %(date)s"),
    "finding_overdue": _l("Audit finding %(title)s: the corrective action was due on %(date)s"),
    "new_hire": _l("%(title)s joins your team on %(date)s"),
    "onboarding_incomplete": _l("The onboarding of %(title)s, hired on %(date)s, is still incomplete"),
    "career_review_due": _l("The career plan of %(title)s was due for review on %(date)s"),
    "feedback_received": _l("New employee feedback %(title)s is waiting for an answer"),
    "feedback_answered": _l("HR answered your feedback %(title)s"),
    "training_retake": _l("%(name)s did not pass the assessment of %(title)s: a retake is open until passed"),
    "training_cancelled": _l("The training session %(title)s on %(date)s is cancelled"),
    "appraisal_self": _l("Appraisal %(title)s is open: fill in your self-assessment by %(date)s"),
    "appraisal_evaluate": _l("The appraisal of %(title)s waits for your evaluation (due %(date)s)"),
    "appraisal_review": _l("The appraisal of %(title)s waits for the department review (due %(date)s)"),
    "appraisal_reviewed": _l("The appraisal of %(title)s is reviewed: hold the feedback interview"),
    "appraisal_result": _l("The result of your appraisal %(title)s is ready; you may appeal until %(date)s"),
    "appraisal_appeal": _l("%(title)s: the employee appeals against the appraisal result; please decide by %(date)s"),
    "appraisal_decided": _l("The appeal against your appraisal %(title)s has been decided"),
    "appraisal_overdue": _l("The appraisal of %(title)s was due on %(date)s and waits for you"),
    "appraisal_360": _l("Please rate %(title)s for their appraisal (360-degree feedback) by %(date)s"),
    "improvement_review_due": _l("The improvement plan of %(title)s was due for review on %(date)s"),
}
MAX_ATTEMPTS = 5


@dataclass
class MailSettings:
    host: str = ""
    port: int = 587
    user: str = ""
    password: str = ""
    starttls: bool = True
    timeout: int = 10
    sender: str = "portal@localhost"
    public_url: str = "http://localhost:8080"

    @property
    def enabled(self) -> bool:
        return bool(self.host)


MAIL = MailSettings()


def configure(config) -> None:
    """Take the SMTP settings from the app's config (done by create_app)."""
    global MAIL
    MAIL = MailSettings(host=config.get("SMTP_HOST", ""), port=int(config.get("SMTP_PORT", 587)),
                        user=config.get("SMTP_USER", ""), password=config.get("SMTP_PASSWORD", ""),
                        starttls=bool(config.get("SMTP_STARTTLS", True)), timeout=int(config.get("SMTP_TIMEOUT", 10)),
                        sender=config.get("MAIL_FROM", "portal@localhost"),
                        public_url=config.get("PUBLIC_URL", "http://localhost:8080"))


def post(messages, now=None) -> list[ObjectId]:
    """Store messages, given as (recipients, kind, params, link), in one write; e-mail them when SMTP is set."""
    now = now or utcnow()
    docs = []
    for recipients, kind, params, link in messages:
        for recipient in dict.fromkeys(r for r in recipients if r is not None):
            docs.append({"_id": ObjectId(), "recipient": recipient, "kind": kind, "params": params, "link": link,
                         "read_at": None, "created_at": now, "updated_at": now, "version": 0,
                         "email_state": "pending" if MAIL.enabled else "none", "email_attempts": 0})
    if not docs:
        return []
    Notification._get_collection().insert_many(docs)
    if MAIL.enabled:
        deliver([d["_id"] for d in docs])
    return [d["_id"] for d in docs]


def text(kind: str, params: dict) -> str:
    """The message in the current language."""
    values = {"title": "", "requester": "", "actor": "", "approver": "", "due": "", "date": "", **(params or {})}
    values["step"] = params.get("step_label") or (
        choice_label(APPROVER_ROLES, params.get("step_role")) if params.get("step_kind") == "role"
        else choice_label(APPROVER_KINDS, params.get("step_kind")))
    template = MESSAGES.get(kind)
    return str(template) % values if template is not None else kind


# ---- the bell ----------------------------------------------------------------------------------
def unread_count(employee_id) -> int:
    if employee_id is None:
        return 0
    return Notification._get_collection().count_documents({"recipient": employee_id, "read_at": None})


def recent(employee_id, limit: int = 50) -> list[dict]:
    if employee_id is None:
        return []
    return list(Notification._get_collection().find({"recipient": employee_id}, {"email_state": 0})
                .sort("created_at", -1).limit(limit))


def mark_read(employee_id, ids=None, now=None) -> int:
    """Mark the reader's own notifications read (all of them, or those in `ids`)."""
    query: dict = {"recipient": employee_id, "read_at": None}
    if ids is not None:
        query["_id"] = {"$in": list(ids)}
    return Notification._get_collection().update_many(query, {"$set": {"read_at": now or utcnow()}}).modified_count


# ---- e-mail ---------------------------------------------------------------------------------------
def deliver(ids=None, limit: int = 200) -> tuple[int, int]:
    """Send pending e-mails (those in `ids`, or every one still due); return (sent, failed). Idempotent."""
    if not MAIL.enabled:
        return 0, 0
    collection = Notification._get_collection()
    query: dict = {"email_state": {"$in": ["pending", "failed"]}, "email_attempts": {"$lt": MAX_ATTEMPTS}}
    if ids is not None:
        query["_id"] = {"$in": list(ids)}
    rows = list(collection.find(query).limit(limit))
    if not rows:
        return 0, 0
    emails = {e["_id"]: e.get("email") for e in Employee._get_collection().find(
        {"_id": {"$in": list({r["recipient"] for r in rows})}}, {"email": 1})}
    sent, failed, skipped = [], [], []
    try:
        server = _connect()
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("SMTP server %s:%s unreachable: %s", MAIL.host, MAIL.port, exc)
        collection.update_many({"_id": {"$in": [r["_id"] for r in rows]}},
                               {"$set": {"email_state": "failed"}, "$inc": {"email_attempts": 1}})
        return 0, len(rows)
    with server:
        for row in rows:
            address = emails.get(row["recipient"])
            if not address:
                skipped.append(row["_id"])
                continue
            try:
                server.send_message(_message(row, address))
                sent.append(row["_id"])
            except smtplib.SMTPException as exc:
                log.warning("e-mail to %s failed: %s", address, exc)
                failed.append(row["_id"])
    if sent:
        collection.update_many({"_id": {"$in": sent}}, {"$set": {"email_state": "sent"}, "$inc": {"email_attempts": 1}})
    if failed:
        collection.update_many({"_id": {"$in": failed}},
                               {"$set": {"email_state": "failed"}, "$inc": {"email_attempts": 1}})
    if skipped:  # nobody to write to: nothing will change that by retrying
        collection.update_many({"_id": {"$in": skipped}}, {"$set": {"email_state": "none"}})
    return len(sent), len(failed)


def _connect() -> smtplib.SMTP:
    server = smtplib.SMTP(MAIL.host, MAIL.port, timeout=MAIL.timeout)
    if MAIL.starttls:
        server.starttls()
    if MAIL.user:
        server.login(MAIL.user, MAIL.password)
    return server


def _in(locale: str, kind: str, params: dict) -> str:
    with force_locale(locale) if has_app_context() else nullcontext():
        return text(kind, params)


def _message(row: dict, address: str) -> EmailMessage:
    zh, en = _in("zh", row["kind"], row["params"]), _in("en", row["kind"], row["params"])
    link = f"{MAIL.public_url}{row.get('link') or ''}"
    message = EmailMessage()
    message["Subject"] = zh if zh == en else f"{zh} / {en}"
    message["From"] = MAIL.sender
    message["To"] = address
    message["Message-ID"] = make_msgid(domain="portal")
    body = [zh, link, "", en, link] if zh != en else [en, link]
    message.set_content("\n".join(body) + "\n")
    return message
