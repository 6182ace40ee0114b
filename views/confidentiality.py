"""Information and confidentiality screens (DOMAIN 3.10): confidentiality agreements and the intellectual property
register."""

from __future__ import annotations

from flask import abort, url_for
from flask_appbuilder import expose, has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from models.confidentiality import LIVE_IP, ConfidentialityAgreement, IntellectualProperty
from portal import confidentiality, settings, uploads
from portal.compat import PortalMongoInterface
from portal.modelview import STAMPS, PortalModelView, ScopedModelView


def _expiry_banner(standing: str | None, expires_on, renew: str) -> list[dict]:
    if standing == "expired":
        return [{"style": "danger", "text": gettext("Expired on %(date)s.", date=f"{expires_on:%Y-%m-%d}")}]
    if standing == "expiring":
        return [{"style": "warning", "text": gettext("Expires on %(date)s: %(what)s", date=f"{expires_on:%Y-%m-%d}",
                                                     what=renew)}]
    return []


class ConfidentialityAgreementView(ScopedModelView):
    """Confidentiality agreements with their scope, penalty and signed copy (BRD 9(2)1, SOC 8.1, FSS 4(1)3): HR keeps
    them, each employee reads their own."""

    route_base = "/confidentiality-agreements"
    datamodel = PortalMongoInterface(ConfidentialityAgreement)
    list_summary_queries = 1  # the expiry window setting, for the "expires soon" flag
    class_permission_name = "ConfidentialityAgreement"
    export_audited = True  # personal data (DOMAIN 3.10)
    scope_unit_field = None  # no unit sees them: HR, Auditor and the employee only
    scope_owner_field = "employee"
    scope_all_roles = frozenset({"Admin", "Auditor", "HR"})
    regulation_clauses = ("BRD 9(2)1", "SOC 8.1", "FSS 4(1)3", "BRD 9(1)1", "BRD 9(2)3")
    show_template = "portal/record_show.html"
    list_title = show_title = _l("Confidentiality agreements")
    add_title = _l("New confidentiality agreement")
    edit_title = _l("Edit confidentiality agreement")
    list_columns = ["employee", "signed_on", "term_months", "expires_on", "standing"]
    search_columns = ["employee", "signed_on", "expires_on", "scope"]
    order_columns = ["signed_on", "expires_on", "term_months"]
    base_order = ("expires_on", "asc")
    add_columns = edit_columns = ["employee", "signed_on", "term_months", "scope", "penalty_clause", "signed_file",
                                  "note"]
    label_columns = {"standing": _l("Standing")}
    description_columns = {
        "term_months": _l("The agreement is in force from the day it is signed for this many months."),
        "scope": _l("Business, customer and technical information the employee keeps secret."),
        "signed_file": _l("The signed agreement as PDF, JPG or PNG."),
    }
    show_fieldsets = [
        (_l("Agreement"), {"fields": ["employee", "owner_unit", "signed_on", "term_months", "expires_on",
                                      "signed_file"]}),
        (_l("Terms"), {"fields": ["scope", "penalty_clause", "note"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prepare_rows(self, rows):
        today, window = settings.local_today(), settings.get("agreement_expiry_days")
        for row in rows:
            key = confidentiality.standing(row.expires_on, today, window)
            row.standing = str(confidentiality.STANDINGS[key]) if key else ""
            row.standing_key = key  # for the show page's banner

    def show_context(self, item) -> dict:
        context = {"banners": _expiry_banner(getattr(item, "standing_key", None), item.expires_on,
                                             gettext("sign a new agreement with the employee."))}
        if item.signed_file is not None:
            context["related"] = [{"title": gettext("Signed agreement"), "icon": "fa-paperclip", "rows": [
                {"link": url_for("ConfidentialityAgreementView.file", pk=item.pk),
                 "cells": [item.signed_file.filename]}]}]
        return context

    @expose("/file/<pk>")
    @has_access
    def file(self, pk):
        item = self.get_item(pk)
        if item is None or item.signed_file is None:
            abort(404)
        return uploads.attachment_response(item.signed_file)


class IntellectualPropertyView(PortalModelView):
    """The company's patents, trademarks and copyrights, their status and expiry (SOC 8.2, BRD 9(1)2): Legal keeps
    the register, staff read it."""

    route_base = "/intellectual-property"
    datamodel = PortalMongoInterface(IntellectualProperty)
    class_permission_name = "IntellectualProperty"
    regulation_clauses = ("SOC 8.2", "BRD 9(1)2")
    show_template = "portal/record_show.html"
    list_title = show_title = _l("Intellectual property")
    add_title = _l("Register intellectual property")
    edit_title = _l("Edit intellectual property")
    list_columns = ["kind", "title", "number", "status", "expires_on", "responsible"]
    search_columns = ["kind", "title", "number", "status", "expires_on", "responsible"]
    order_columns = ["kind", "title", "number", "status", "filed_on", "expires_on"]
    base_order = ("expires_on", "asc")
    add_columns = edit_columns = ["kind", "title", "number", "owner", "filed_on", "status", "expires_on",
                                  "responsible", "note"]
    description_columns = {"owner": _l("Rights created at work belong to the company (SOC 8.2)."),
                           "responsible": _l("Who renews it and watches its expiry.")}
    show_fieldsets = [
        (_l("Right"), {"fields": ["kind", "title", "number", "owner", "filed_on", "status", "expires_on",
                                  "responsible"]}),
        (_l("Note"), {"fields": ["note"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def show_context(self, item) -> dict:
        if item.status not in LIVE_IP:
            return {}
        key = confidentiality.standing(item.expires_on, settings.local_today(), settings.get("ip_expiry_days"))
        return {"banners": _expiry_banner(key, item.expires_on, gettext("renew it or decide to let it lapse."))}
