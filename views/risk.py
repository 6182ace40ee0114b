"""Risk, audit and compliance screens (DOMAIN 3.9): the risk register and its matrix, credit assessments, audit
findings with their corrections, and Legal's compliance reviews."""

from __future__ import annotations

from flask import request, url_for
from flask_appbuilder import expose, has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from mongoengine import ValidationError

from models.common import choice_label
from models.risk import (
    LIVE_RISK,
    OPEN_FINDING,
    RISK_LEVELS,
    RISK_STATUSES,
    WEAK_RATINGS,
    AuditFinding,
    ComplianceReview,
    CreditAssessment,
    Risk,
)
from portal import risk, scope, settings
from portal.compat import LOOKUPS, PortalMongoInterface
from portal.modelview import STAMPS, ScopedModelView, input_field
from views.customers import _overdue_badge
from views.org import my_employee

# FAB filter indexes of portal.compat: numbers, dates and strings start with "equal", then "not equal"
EQUAL, NOT_EQUAL = 0, 1
LEVEL_STYLES = {"low": "success", "medium": "info", "high": "warning", "critical": "danger"}
LEVEL_COLOURS = {"low": "#dff0d8", "medium": "#fcf8e3", "high": "#f9d29b", "critical": "#ebaaaa"}


def _label(style: str, text) -> str:
    return f'<span class="label label-{style}">{escape(text)}</span>'


def _level_badge(value) -> Markup:
    return Markup(_label(LEVEL_STYLES[value], choice_label(RISK_LEVELS, value))) if value in LEVEL_STYLES else ""


def cell_url(likelihood: int, impact: int) -> str:
    """The risk list filtered to one cell of the matrix: this likelihood and impact, not closed."""
    return url_for("RiskView.list", **{f"_flt_{EQUAL}_likelihood": likelihood, f"_flt_{EQUAL}_impact": impact,
                                       f"_flt_{NOT_EQUAL}_status": "closed"})


def _show_link(endpoint: str, permission: str, pk, label, icon: str, sm) -> dict | None:
    if pk is None or not sm.has_access("can_show", permission):
        return None
    return {"url": url_for(endpoint, pk=pk), "label": label, "icon": icon}


class RiskView(ScopedModelView):
    """The risk register: each risk assessed by likelihood x impact, with its response, measures, owner and
    review date; warning indicators flag a breach and tell the owner (DSC 6(1), SOC 9, FSS 8)."""

    route_base = "/risks"
    datamodel = PortalMongoInterface(Risk)
    class_permission_name = "Risk"
    scope_owner_field = "owner"
    scope_all_roles = frozenset({"Admin", "Auditor", "Legal", "Finance"})
    unit_from = "owner"
    regulation_clauses = ("DSC 6(1)1", "DSC 6(1)2", "DSC 6(1)3", "SOC 9.1", "SOC 9.2", "SOC 9.3", "FSS 8(1)1",
                          "FSS 8(1)2", "FSS 8(2)1", "FSS 8(2)2", "FSS 8(3)1", "FSS 8(3)4")
    show_template = "portal/record_show.html"
    list_template = "portal/risk/risk_list.html"
    list_title = show_title = _l("Risks")
    add_title = _l("Record a risk")
    edit_title = _l("Edit risk")
    list_columns = ["title", "category", "likelihood", "impact", "score", "level", "owner", "review_on", "status",
                    "flags"]
    search_columns = ["title", "category", "level", "likelihood", "impact", "status", "owner", "owner_unit",
                      "breached", "review_on"]
    order_columns = ["title", "category", "likelihood", "impact", "score", "review_on", "status"]
    base_order = ("score", "desc")
    add_columns = edit_columns = ["title", "category", "description", "likelihood", "impact", "response", "measures",
                                  "owner", "review_on", "status", "indicators"]
    label_columns = {"flags": _l("Flags"), "owner_unit": _l("Unit")}
    formatters_columns = {"level": _level_badge}
    description_columns = {
        "likelihood": _l("1 rare, 2 unlikely, 3 possible, 4 likely, 5 almost certain."),
        "impact": _l("1 negligible, 2 minor, 3 moderate, 4 major, 5 severe. Score = likelihood x impact: up to 4 "
                     "low, up to 9 medium, up to 16 high, above that critical."),
        "owner": _l("The person responsible for the measures; the risk is kept by their unit."),
        "indicators": _l("Breached when the current value is above (or below) the threshold; the owner is told "
                         "once per breach."),
    }
    show_fieldsets = [
        (_l("Risk"), {"fields": ["title", "category", "description", "status"]}),
        (_l("Assessment"), {"fields": ["likelihood", "impact", "score", "level"]}),
        (_l("Response"), {"fields": ["response", "measures", "owner", "owner_unit", "review_on"]}),
        (_l("Warning indicators"), {"fields": ["breached", "indicators"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prepare_rows(self, rows):
        for row in rows:
            flags = [_label("danger", gettext("Indicator breached"))] if row.breached else []
            if row.review_overdue:
                flags.append(_label("warning", gettext("Review overdue")))
            row.flags = Markup(" ".join(flags))

    def prefill_add(self, form) -> None:
        form.owner.data = my_employee()

    def post_add(self, item):
        risk.notify_breach(item.pk)

    def post_update(self, item):
        risk.notify_breach(item.pk)

    def list_context(self) -> dict:
        return {"matrix_link": self.appbuilder.sm.has_access("can_matrix", self.class_permission_name)}

    def show_context(self, item) -> dict:
        banners = []
        if item.breached:
            names = ", ".join(i.name for i in item.indicators or [] if i.breached)
            banners.append({"style": "danger", "text": gettext(
                "Warning indicator breached: %(names)s (SOC 9.3).", names=names)})
        if item.review_overdue:
            banners.append({"style": "warning", "text": gettext(
                "Due for review since %(date)s (FSS 8(1)2).", date=f"{item.review_on:%Y-%m-%d}")})
        matrix = self.appbuilder.sm.has_access("can_matrix", self.class_permission_name)
        return {"banners": banners, "links": [
            {"url": url_for("RiskView.matrix"), "label": _l("Risk matrix"), "icon": "fa-th"} if matrix else None]}

    @expose("/matrix/")
    @has_access
    def matrix(self):
        """Live risks on a 5 x 5 grid of likelihood and impact, each cell a link to its risks (SOC 9.1)."""
        grid = risk.matrix(self.scope_raw())
        for row in grid:
            for cell in row:
                cell["url"] = cell_url(cell["likelihood"], cell["impact"])
                cell["colour"] = LEVEL_COLOURS[cell["level"]]
        legend = [(LEVEL_COLOURS[key], label) for key, label in RISK_LEVELS]
        return self.render_template("portal/risk/matrix.html", title=gettext("Risk matrix"), grid=grid,
                                    legend=legend, total=sum(c["count"] for row in grid for c in row),
                                    live=[choice_label(RISK_STATUSES, s) for s in LIVE_RISK])


class CreditAssessmentView(ScopedModelView):
    """Customers' credit assessments: rating, limit, guarantee and prepayment with their basis; the latest one is
    the customer's rating and limit (DSC 6(2)3, FSS 8(3)2)."""

    route_base = "/credit-assessments"
    datamodel = PortalMongoInterface(CreditAssessment)
    class_permission_name = "CreditAssessment"
    export_audited = True  # customers' credit (DSC 6(2)3), confidential
    scope_all_roles = frozenset({"Admin", "Auditor", "Finance"})
    unit_from = "customer"
    regulation_clauses = ("DSC 6(2)3", "FSS 8(3)2", "SOC 9.2")
    show_template = "portal/record_show.html"
    list_title = show_title = _l("Credit assessments")
    add_title = _l("Assess a customer's credit")
    edit_title = _l("Edit credit assessment")
    list_columns = ["customer", "rating", "credit_limit", "required_guarantee", "prepayment_percent", "assessed_on",
                    "valid_until", "assessed_by"]
    search_columns = ["customer", "rating", "assessed_on", "valid_until", "owner_unit"]
    order_columns = ["rating", "credit_limit", "assessed_on", "valid_until"]
    base_order = ("assessed_on", "desc")
    add_columns = edit_columns = ["customer", "rating", "credit_limit", "required_guarantee", "prepayment_percent",
                                  "assessed_on", "assessed_by", "valid_until", "basis"]
    label_columns = {"owner_unit": _l("Unit")}
    description_columns = {
        "customer": _l("The latest assessment (by date) becomes the customer's credit rating and limit."),
        "rating": _l("Ratings %(weak)s are weak credit: they need a guarantee or a higher prepayment (DSC 6(2)3).",
                     weak=" / ".join(WEAK_RATINGS)),
        "prepayment_percent": _l("Share of each order paid in advance, in percent (0-100)."),
        "basis": _l("Financial statements, payment record, references: what the rating rests on."),
    }
    show_fieldsets = [
        (_l("Assessment"), {"fields": ["customer", "rating", "credit_limit", "assessed_on", "assessed_by",
                                       "valid_until", "basis"]}),
        (_l("Safeguards"), {"fields": ["required_guarantee", "prepayment_percent"]}),
        (_l("Record"), {"fields": ["owner_unit", *STAMPS], "expanded": False}),
    ]

    def prefill_add(self, form) -> None:
        customer = LOOKUPS["customer"].get(request.args.get("customer", "", type=str))
        if customer is not None:
            form.customer.data = customer
        form.assessed_on.data = settings.local_today()
        form.assessed_by.data = my_employee()

    def show_context(self, item) -> dict:
        customer = getattr(item.customer, "pk", None)
        latest = risk.latest_assessment(customer) if customer is not None else None
        superseded = latest is not None and latest["_id"] != item.pk
        return {"banners": [{"style": "info", "text": gettext(
                    "A later assessment is now the customer's rating and limit.")}] if superseded else [],
                "links": [_show_link("CustomerView.show", "Customer", customer, _l("Open the customer"),
                                     "fa-address-book", self.appbuilder.sm)]}


class AuditFindingView(ScopedModelView):
    """Internal audit's findings: the corrective action the responsible unit owes by its due date; the
    responsible side reports the correction, internal audit verifies it (DSC 6(3)3)."""

    route_base = "/audit-findings"
    datamodel = PortalMongoInterface(AuditFinding)
    class_permission_name = "AuditFinding"
    scope_owner_field = "responsible"
    scope_all_roles = frozenset({"Admin", "Auditor"})
    regulation_clauses = ("DSC 6(3)3", "DSC 6(3)1")
    show_template = "portal/record_show.html"
    list_title = show_title = _l("Audit findings")
    add_title = _l("Record an audit finding")
    edit_title = _l("Edit audit finding")
    list_columns = ["number", "area", "severity", "owner_unit", "responsible", "due_on", "status", "overdue"]
    search_columns = ["number", "area", "severity", "owner_unit", "responsible", "status", "due_on"]
    order_columns = ["number", "severity", "due_on", "status"]
    base_order = ("number", "desc")
    add_columns = edit_columns = ["area", "finding", "severity", "owner_unit", "responsible", "corrective_action",
                                  "due_on"]
    label_columns = {"owner_unit": _l("Responsible unit"), "overdue": _l("Overdue")}
    formatters_columns = {"overdue": _overdue_badge}
    description_columns = {
        "owner_unit": _l("Left empty: the responsible person's unit."),
        "corrective_action": _l("What the responsible unit must correct; it reports the correction from the "
                                "finding's page and internal audit verifies it."),
    }
    show_fieldsets = [
        (_l("Finding"), {"fields": ["number", "area", "severity", "finding"]}),
        (_l("Correction"), {"fields": ["owner_unit", "responsible", "corrective_action", "due_on", "status",
                                       "correction_note", "corrected_by", "corrected_at"]}),
        (_l("Verification"), {"fields": ["verified_by", "verified_at", "verification_note"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prefill_add(self, form) -> None:
        form.due_on.data = settings.local_today()

    def pre_update(self, item):
        if item.status not in OPEN_FINDING:
            raise ValidationError(gettext("The correction has been reported: the finding is no longer edited."))
        super().pre_update(item)

    def pre_delete(self, item):
        if item.status != "open":
            raise ValidationError(gettext("A finding being corrected is kept."))

    def show_context(self, item) -> dict:
        actor = scope.actor()
        reporter = risk.may_report(item, actor)
        auditor = bool(actor.roles & risk.AUDIT_ROLES)
        banners = [{"style": "danger", "text": gettext("The corrective action was due on %(date)s.",
                                                       date=f"{item.due_on:%Y-%m-%d}")}] if item.overdue else []
        return {"banners": banners, "actions": [
            self.button("start", _l("Start the correction"), "fa-play", when=item.status == "open" and reporter),
            self.button("report", _l("Report the correction"), "fa-check", "primary",
                        when=item.status in OPEN_FINDING and reporter,
                        fields=[input_field("note", _l("What was corrected"), "textarea")]),
            self.button("verify", _l("Verified and closed"), "fa-check-circle", "success",
                        when=item.status == "corrected" and auditor and item.corrected_login != actor.username,
                        fields=[input_field("note", _l("Note"))]),
            self.button("reopen", _l("Not sufficient"), "fa-undo", "warning",
                        when=item.status == "corrected" and auditor,
                        fields=[input_field("note", _l("What is missing"))]),
        ]}

    @expose("/start/<pk>", methods=["POST"])
    @has_access
    def start(self, pk):
        return self.run_action(pk, "start", lambda item, actor: risk.start_finding(item, actor))

    @expose("/report/<pk>", methods=["POST"])
    @has_access
    def report(self, pk):
        return self.run_action(pk, "report", lambda item, actor: risk.report_correction(
            item, actor, request.form.get("note", "", type=str)),
            gettext("The correction is reported to internal audit."))

    @expose("/verify/<pk>", methods=["POST"])
    @has_access
    def verify(self, pk):
        return self.run_action(pk, "verify", lambda item, actor: risk.verify_finding(
            item, actor, request.form.get("note", "", type=str)))

    @expose("/reopen/<pk>", methods=["POST"])
    @has_access
    def reopen(self, pk):
        return self.run_action(pk, "reopen", lambda item, actor: risk.reopen_finding(
            item, actor, request.form.get("note", "", type=str)))


class ComplianceReviewView(ScopedModelView):
    """Legal's compliance reviews of contracts and major business decisions (DSC 6(4)3, SOC 9.2); the unit of a
    contract reads the reviews of its contracts."""

    route_base = "/compliance-reviews"
    datamodel = PortalMongoInterface(ComplianceReview)
    class_permission_name = "ComplianceReview"
    scope_all_roles = frozenset({"Admin", "Auditor", "Legal"})
    unit_from = "contract"
    regulation_clauses = ("DSC 6(4)3", "DSC 6(4)2", "SOC 9.2", "FSS 8(3)3")
    show_template = "portal/record_show.html"
    list_title = show_title = _l("Compliance reviews")
    add_title = _l("Record a compliance review")
    edit_title = _l("Edit compliance review")
    list_columns = ["reviewed_on", "subject_kind", "contract", "decision_title", "result", "reviewer"]
    search_columns = ["subject_kind", "contract", "decision_title", "result", "reviewer", "reviewed_on", "owner_unit"]
    order_columns = ["reviewed_on", "result", "subject_kind"]
    base_order = ("reviewed_on", "desc")
    add_columns = edit_columns = ["subject_kind", "contract", "decision_title", "owner_unit", "reviewer", "opinion",
                                  "result", "conditions", "reviewed_on"]
    label_columns = {"owner_unit": _l("Unit concerned")}
    description_columns = {
        "contract": _l("For a contract: the contract reviewed; its unit reads the review."),
        "decision_title": _l("For a major business decision: what was decided."),
        "owner_unit": _l("For a decision: the unit that takes it. A contract's review goes with the contract's unit."),
        "conditions": _l("Required when the result is compliant with conditions."),
    }
    show_fieldsets = [
        (_l("Subject"), {"fields": ["subject_kind", "contract", "decision_title", "owner_unit"]}),
        (_l("Review"), {"fields": ["reviewer", "reviewed_on", "opinion", "result", "conditions"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prefill_add(self, form) -> None:
        contract = LOOKUPS["contract"].get(request.args.get("contract", "", type=str))
        if contract is not None:
            form.contract.data = contract
        form.reviewer.data = my_employee()
        form.reviewed_on.data = settings.local_today()

    def pre_add(self, item):
        super().pre_add(item)
        risk.check_reviewer(item)

    def pre_update(self, item):
        super().pre_update(item)
        risk.check_reviewer(item)

    def show_context(self, item) -> dict:
        contract = getattr(item.contract, "pk", None)
        reviews = url_for("ComplianceReviewView.list", **{f"_flt_{EQUAL}_contract": contract}) if contract else None
        return {"links": [
            _show_link("ContractView.show", "Contract", contract, _l("Open the contract"), "fa-file-text-o",
                       self.appbuilder.sm),
            {"url": reviews, "label": _l("Every review of this contract"), "icon": "fa-list"} if reviews else None]}
