"""The whole menu, in area order, in one place."""

from flask_babel import lazy_gettext as _l

import portal.conduct
import portal.customers
import portal.finance
import portal.market  # noqa: F401
from views.approvals import (
    ApprovalDelegationView,
    ApprovalRequestView,
    ApprovalRouteView,
    ApprovalsView,
    NotificationsView,
    SettingView,
    nav_counts,
)
from views.audit import AuditEntryView
from views.conduct import LeaveRequestView
from views.customers import (
    ComplaintView,
    CustomerView,
    CustomerVisitView,
    InquiryView,
    NegotiationView,
    ReturnVisitView,
    SatisfactionSurveyView,
    SurveyResponseView,
)
from views.finance import BudgetIncreaseView, BudgetView, ExpenseClaimView
from views.home import LookupView
from views.market import MarketExpansionPlanView, MarketResearchView, PromotionCampaignView
from views.org import EmployeeView, OrgUnitView, PositionView
from views.regulations import ClauseView, RegulationsView, RegulationView

_APPROVALS, _FINANCE, _CONDUCT = (("Approvals", _l("Approvals")), ("Finance", _l("Finance")),
                                  ("Conduct", _l("Attendance and conduct")))
_MARKET, _CUSTOMERS = ("Market", _l("Market expansion")), ("Customers", _l("Customers and service"))
# (view, menu name = permission name, label, icon, category, category label)
MENU = (
    (ApprovalsView, "ApprovalsView", _l("My approvals"), "fa-inbox", *_APPROVALS),
    (NotificationsView, "NotificationsView", _l("Notifications"), "fa-bell", *_APPROVALS),
    (ApprovalDelegationView, "ApprovalDelegation", _l("Delegations"), "fa-user-secret", *_APPROVALS),
    (ApprovalRequestView, "ApprovalRequest", _l("All approval requests"), "fa-list", *_APPROVALS),
    (ApprovalRouteView, "ApprovalRoute", _l("Approval routes"), "fa-random", *_APPROVALS),
    (SettingView, "Setting", _l("Settings"), "fa-sliders", *_APPROVALS),
    (OrgUnitView, "OrgUnit", _l("Org units"), "fa-sitemap", "Organization", _l("Organization")),
    (PositionView, "Position", _l("Positions"), "fa-id-badge", "Organization", _l("Organization")),
    (EmployeeView, "Employee", _l("Employees"), "fa-users", "Organization", _l("Organization")),
    (MarketResearchView, "MarketResearch", _l("Market research"), "fa-search", *_MARKET),
    (MarketExpansionPlanView, "MarketExpansionPlan", _l("Expansion plans"), "fa-map-o", *_MARKET),
    (PromotionCampaignView, "PromotionCampaign", _l("Promotion campaigns"), "fa-bullhorn", *_MARKET),
    (CustomerView, "Customer", _l("Customers"), "fa-address-book", *_CUSTOMERS),
    (InquiryView, "Inquiry", _l("Inquiries"), "fa-question-circle", *_CUSTOMERS),
    (ComplaintView, "Complaint", _l("Complaints"), "fa-exclamation-triangle", *_CUSTOMERS),
    (CustomerVisitView, "CustomerVisit", _l("Customer visits"), "fa-handshake-o", *_CUSTOMERS),
    (NegotiationView, "Negotiation", _l("Negotiation minutes"), "fa-comments", *_CUSTOMERS),
    (ReturnVisitView, "ReturnVisit", _l("Return visits"), "fa-phone", *_CUSTOMERS),
    (SatisfactionSurveyView, "SatisfactionSurvey", _l("Satisfaction surveys"), "fa-star-half-o", *_CUSTOMERS),
    (SurveyResponseView, "SurveyResponse", _l("Survey responses"), "fa-check-square-o", *_CUSTOMERS),
    (ExpenseClaimView, "ExpenseClaim", _l("Expense claims"), "fa-credit-card", *_FINANCE),
    (BudgetView, "Budget", _l("Budgets"), "fa-pie-chart", *_FINANCE),
    (BudgetIncreaseView, "BudgetIncrease", _l("Budget increases"), "fa-plus-square", *_FINANCE),
    (LeaveRequestView, "LeaveRequest", _l("Leave requests"), "fa-calendar-minus-o", *_CONDUCT),
    (RegulationsView, "RegulationsView", _l("Regulations and clauses"), "fa-book", "Regulations", _l("Regulations")),
    (RegulationView, "Regulation", _l("Regulation documents"), "fa-file-text", "Regulations", _l("Regulations")),
    (ClauseView, "Clause", _l("Clause index"), "fa-list-ol", "Regulations", _l("Regulations")),
    (AuditEntryView, "AuditEntry", _l("Audit log"), "fa-history", "Audit", _l("Audit")),
)


def register_views(appbuilder) -> None:
    for view, name, label, icon, category, category_label in MENU:
        appbuilder.add_view(view, name, label=label, icon=icon, category=category, category_label=category_label)
    appbuilder.add_view_no_menu(LookupView)
    appbuilder.add_link("MyRequests", label=_l("My requests"), href="/approvals/mine/", icon="fa-paper-plane",
                        category="Approvals", category_label=_l("Approvals"))
    appbuilder.get_app.jinja_env.globals["nav_counts"] = nav_counts
