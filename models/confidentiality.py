"""Information and confidentiality (DOMAIN 3.10; BRD 9, SOC 8, FSS 4(1)3): confidentiality agreements and the
register of the company's intellectual property."""

import calendar
import datetime as dt

from flask_babel import lazy_gettext as _l
from mongoengine import (
    DENY,
    NULLIFY,
    BooleanField,
    DateField,
    IntField,
    ReferenceField,
    StringField,
)

from models.common import OwnedDocument, PortalDocument, choices, field_error
from models.files import Attachment
from models.org import Employee, owned_by_unit

IP_KINDS = choices(("patent", _l("Patent")), ("trademark", _l("Trademark")), ("copyright", _l("Copyright")))
IP_STATUSES = choices(("filed", _l("Filed")), ("granted", _l("Granted or registered")), ("lapsed", _l("Lapsed")),
                      ("abandoned", _l("Abandoned")))
LIVE_IP = ("filed", "granted")


def months_later(start: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day when it is shorter)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


@owned_by_unit
class ConfidentialityAgreement(OwnedDocument):
    """An employee's signed duty to keep the company's business, customer and technical secrets, with its penalty
    clause (BRD 9(2)1, SOC 8.1, FSS 4(1)3); in force for its term from the day it was signed."""

    meta = {"collection": "confidentiality_agreements", "indexes": ["employee", "owner_unit", "expires_on",
                                                                   "signed_on"],
            "ordering": ["-signed_on"]}

    employee = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Employee"))
    signed_on = DateField(required=True, verbose_name=_l("Signed on"))
    term_months = IntField(required=True, min_value=1, max_value=600, verbose_name=_l("Term (months)"))
    expires_on = DateField(verbose_name=_l("In force until"))
    scope = StringField(required=True, max_length=2000, verbose_name=_l("What is confidential"))
    penalty_clause = StringField(required=True, max_length=2000, verbose_name=_l("Penalty for a breach"))
    signed_file = ReferenceField(Attachment, reverse_delete_rule=NULLIFY, verbose_name=_l("Signed agreement"))
    note = StringField(max_length=1000, verbose_name=_l("Note"))
    expiry_reminded = BooleanField(default=False)
    standing = None  # in force, expiring or expired, for display (views.confidentiality)

    def __str__(self) -> str:
        name = self.employee.name if self.employee is not None and hasattr(self.employee, "name") else ""
        return f"{name} {self.signed_on:%Y-%m-%d}".strip() if self.signed_on else name

    def clean(self) -> None:
        if self.employee is not None:
            self.owner_unit = self.employee.owner_unit
        for field, message in (("scope", _l("Say what the employee keeps secret (SOC 8.1).")),
                               ("penalty_clause", _l("An agreement states the penalty for a breach (SOC 8.1)."))):
            setattr(self, field, (getattr(self, field) or "").strip())
            if not getattr(self, field):
                raise field_error(field, message)
        if self.signed_on is None or not self.term_months or self.term_months < 1:
            return  # the fields name what is missing
        expires = months_later(self.signed_on, self.term_months) - dt.timedelta(days=1)
        if expires != self.expires_on:
            self.expires_on = expires
            self.expiry_reminded = False  # a new expiry date is reminded again
            self._mark_as_changed("expiry_reminded")


class IntellectualProperty(PortalDocument):
    """A patent, trademark or copyright of the company: filed, maintained and watched until it expires (SOC 8.2,
    BRD 9(1)2); Legal keeps the register."""

    meta = {"collection": "intellectual_property",
            "indexes": ["kind", "status", "expires_on", "responsible", "number", "title"],
            "ordering": ["expires_on"]}

    kind = StringField(required=True, choices=IP_KINDS, verbose_name=_l("Kind"))
    title = StringField(required=True, max_length=200, verbose_name=_l("Title"))
    number = StringField(max_length=64, verbose_name=_l("Application or registration no."))
    owner = StringField(required=True, max_length=120, verbose_name=_l("Owner"))
    filed_on = DateField(required=True, verbose_name=_l("Filed on"))
    status = StringField(required=True, choices=IP_STATUSES, default="filed", verbose_name=_l("Status"))
    expires_on = DateField(verbose_name=_l("Expires on"))
    responsible = ReferenceField(Employee, required=True, reverse_delete_rule=DENY,
                                 verbose_name=_l("Responsible person"))
    note = StringField(max_length=1000, verbose_name=_l("Note"))
    expiry_reminded = BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.title or ''} {self.number or ''}".strip()

    def clean(self) -> None:
        self.number = (self.number or "").strip() or None
        if self.status == "granted" and not self.number:
            raise field_error("number", _l("A granted or registered right has its number."))
        if self.status == "granted" and self.expires_on is None:
            raise field_error("expires_on", _l("A granted or registered right has its expiry date."))
        if self.expires_on is not None and self.filed_on is not None and self.expires_on <= self.filed_on:
            raise field_error("expires_on", _l("The expiry date comes after the filing date."))
        if self.number and type(self).objects(kind=self.kind, number=self.number, pk__ne=self.pk).only(
                "id").first() is not None:
            raise field_error("number", _l("This number is already in the register."))
        if self.pk is not None and "expires_on" in self._get_changed_fields():
            self.expiry_reminded = False  # a renewed right is reminded again before its new expiry
            self._mark_as_changed("expiry_reminded")
