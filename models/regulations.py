"""Regulation registry: the five regulations and every surviving clause, with our own zh/en titles and summaries."""

from flask_babel import lazy_gettext as _l
from mongoengine import CASCADE, NULLIFY, IntField, ReferenceField, StringField

from models.common import PortalDocument, choices
from models.files import Attachment

CLAUSE_KINDS = choices(
    ("record", _l("Record")),
    ("rule", _l("Rule")),
    ("route", _l("Approval route")),
    ("report", _l("Report")),
    ("reminder", _l("Reminder")),
    ("access", _l("Access")),
    ("org", _l("Organization")),
    ("principle", _l("Principle")),
)


class Regulation(PortalDocument):
    """One of the five company regulations; the full text is an attachment an Admin uploads."""

    meta = {"collection": "regulations", "ordering": ["sort_order"]}

    code = StringField(required=True, unique=True, max_length=8, verbose_name=_l("Code"))
    name_zh = StringField(required=True, max_length=120, verbose_name=_l("Name (Chinese)"))
    name_en = StringField(required=True, max_length=200, verbose_name=_l("Name (English)"))
    sort_order = IntField(default=0, verbose_name=_l("Sort order"))
    document = ReferenceField(Attachment, reverse_delete_rule=NULLIFY, verbose_name=_l("Full text"))

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"


class Clause(PortalDocument):
    """One numbered clause of a regulation, cited elsewhere as e.g. `BRD 8(2)2`."""

    meta = {"collection": "clauses", "indexes": ["regulation", "sort_order"], "ordering": ["sort_order"]}

    clause_id = StringField(required=True, unique=True, max_length=64, verbose_name=_l("Clause"))
    regulation = ReferenceField(Regulation, required=True, reverse_delete_rule=CASCADE,
                                verbose_name=_l("Regulation"))
    kind = StringField(required=True, choices=CLAUSE_KINDS, verbose_name=_l("Kind"))
    title_zh = StringField(required=True, max_length=64, verbose_name=_l("Title (Chinese)"))
    title_en = StringField(required=True, max_length=120, verbose_name=_l("Title (English)"))
    summary_zh = StringField(required=True, max_length=300, verbose_name=_l("Summary (Chinese)"))
    summary_en = StringField(required=True, max_length=400, verbose_name=_l("Summary (English)"))
    portal_note = StringField(max_length=400, verbose_name=_l("Where the portal covers it"))
    sort_order = IntField(default=0)

    def __str__(self) -> str:
        return self.clause_id
