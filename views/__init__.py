"""The whole menu, in area order, in one place."""

from flask_babel import lazy_gettext as _l

from views.audit import AuditEntryView
from views.org import EmployeeView, OrgUnitView, PositionView
from views.regulations import ClauseView, RegulationsView, RegulationView

# (view, menu name = permission name, label, icon, category, category label)
MENU = (
    (OrgUnitView, "OrgUnit", _l("Org units"), "fa-sitemap", "Organization", _l("Organization")),
    (PositionView, "Position", _l("Positions"), "fa-id-badge", "Organization", _l("Organization")),
    (EmployeeView, "Employee", _l("Employees"), "fa-users", "Organization", _l("Organization")),
    (RegulationsView, "RegulationsView", _l("Regulations and clauses"), "fa-book", "Regulations", _l("Regulations")),
    (RegulationView, "Regulation", _l("Regulation documents"), "fa-file-text", "Regulations", _l("Regulations")),
    (ClauseView, "Clause", _l("Clause index"), "fa-list-ol", "Regulations", _l("Regulations")),
    (AuditEntryView, "AuditEntry", _l("Audit log"), "fa-history", "Audit", _l("Audit")),
)


def register_views(appbuilder) -> None:
    for view, name, label, icon, category, category_label in MENU:
        appbuilder.add_view(view, name, label=label, icon=icon, category=category, category_label=category_label)
