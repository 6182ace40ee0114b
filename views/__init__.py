"""The whole menu, in area order, in one place."""

from flask_babel import lazy_gettext as _l

import portal.agents
import portal.appraisal
import portal.conduct
import portal.confidentiality
import portal.customers
import portal.finance
import portal.hr
import portal.market
import portal.products
import portal.receivables
import portal.risk
import portal.sales
import portal.training  # noqa: F401
from views import api
from views.agents import AgentTierView, AgentView, ProfitDistributionView, RemittanceView
from views.appraisal import (
    AppraisalCycleView,
    AppraisalFeedbackPage,
    AppraisalView,
    Feedback360View,
    ImprovementPlanView,
    KpiTemplateView,
)
from views.appraisal_boards import AppraisalBoardView, AppraisalTeamView, DepartmentReviewView
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
from views.conduct import AttendanceRecordView, GiftDeclarationView, LeaveRequestView, ViolationView
from views.confidentiality import ConfidentialityAgreementView, IntellectualPropertyView
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
from views.finance import (
    BudgetIncreaseView,
    BudgetView,
    ExpenseClaimView,
    ExpensePlanView,
    ExpenseStandardView,
    FundReconciliationView,
)
from views.home import LookupView
from views.hr import (
    AwardView,
    CandidateView,
    CareerPlanView,
    CompensationProfileView,
    EmployeeFeedbackView,
    OnboardingView,
    RecruitmentPlanView,
)
from views.imports import ImportView
from views.market import MarketExpansionPlanView, MarketResearchView, PromotionCampaignView
from views.org import EmployeeView, OrgUnitView, PositionView
from views.products import (
    AfterSalesTicketView,
    LogisticsPartnerView,
    ProductView,
    QualityInspectionView,
    ShipmentView,
    StockItemView,
    StockTakeView,
    SupplierView,
)
from views.receivables import IncomeRecordView, ReceivableView
from views.regulations import ClauseView, RegulationsView, RegulationView
from views.reports import ReportsView
from views.risk import AuditFindingView, ComplianceReviewView, CreditAssessmentView, RiskView
from views.sales import (
    ClientProgressReportView,
    ContractView,
    SalesAnalysisView,
    SalesOrderView,
    SalesPlanView,
    WorkReportView,
)
from views.training import (
    TrainingAssessmentView,
    TrainingBoardView,
    TrainingFeedbackView,
    TrainingNeedView,
    TrainingPlanView,
    TrainingSessionView,
)

_APPROVALS, _FINANCE, _CONDUCT = (("Approvals", _l("Approvals")), ("Finance", _l("Finance")),
                                  ("Conduct", _l("Attendance and conduct")))
_MARKET, _CUSTOMERS = ("Market", _l("Market expansion")), ("Customers", _l("Customers and service"))
_SALES, _PRODUCTS, _AGENTS = (("Sales", _l("Sales")), ("Products", _l("Products, stock and logistics")),
                              ("Agents", _l("Agent network")))
_HR = ("HR", _l("HR and training"))
_APPRAISAL = ("Appraisal", _l("Performance appraisal"))
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
    (RecruitmentPlanView, "RecruitmentPlan", _l("Recruitment plans"), "fa-bullhorn", *_HR),
    (CandidateView, "Candidate", _l("Candidates"), "fa-id-card-o", *_HR),
    (OnboardingView, "Onboarding", _l("Onboarding"), "fa-sign-in", *_HR),
    (CompensationProfileView, "CompensationProfile", _l("Compensation"), "fa-money", *_HR),
    (AwardView, "Award", _l("Awards"), "fa-trophy", *_HR),
    (CareerPlanView, "CareerPlan", _l("Career plans"), "fa-road", *_HR),
    (EmployeeFeedbackView, "EmployeeFeedback", _l("Employee feedback"), "fa-comments-o", *_HR),
    (TrainingNeedView, "TrainingNeed", _l("Training needs"), "fa-lightbulb-o", *_HR),
    (TrainingPlanView, "TrainingPlan", _l("Training plans"), "fa-calendar", *_HR),
    (TrainingSessionView, "TrainingSession", _l("Training sessions"), "fa-graduation-cap", *_HR),
    (TrainingAssessmentView, "TrainingAssessment", _l("Assessments and certificates"), "fa-certificate", *_HR),
    (TrainingFeedbackView, "TrainingFeedback", _l("Training feedback"), "fa-commenting-o", *_HR),
    (TrainingBoardView, "TrainingBoard", _l("Training board"), "fa-dashboard", *_HR),
    (AppraisalView, "Appraisal", _l("Appraisals"), "fa-line-chart", *_APPRAISAL),
    (AppraisalCycleView, "AppraisalCycle", _l("Appraisal cycles"), "fa-refresh", *_APPRAISAL),
    (KpiTemplateView, "KpiTemplate", _l("KPI templates"), "fa-sliders", *_APPRAISAL),
    (Feedback360View, "Feedback360", _l("360-degree feedback"), "fa-users", *_APPRAISAL),
    (ImprovementPlanView, "ImprovementPlan", _l("Improvement plans"), "fa-life-ring", *_APPRAISAL),
    (AppraisalTeamView, "AppraisalTeam", _l("My team"), "fa-users", *_APPRAISAL),
    (DepartmentReviewView, "DepartmentReview", _l("Department review"), "fa-balance-scale", *_APPRAISAL),
    (AppraisalBoardView, "AppraisalBoard", _l("Appraisal cycle board"), "fa-tachometer", *_APPRAISAL),
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
    (SalesOrderView, "SalesOrder", _l("Orders"), "fa-shopping-cart", *_SALES),
    (ContractView, "Contract", _l("Contracts"), "fa-file-text-o", *_SALES),
    (ClientProgressReportView, "ClientProgressReport", _l("Client progress reports"), "fa-line-chart", *_SALES),
    (SalesPlanView, "SalesPlan", _l("Sales plans"), "fa-bullseye", *_SALES),
    (WorkReportView, "WorkReport", _l("Work reports"), "fa-pencil-square-o", *_SALES),
    (SalesAnalysisView, "SalesAnalysis", _l("Sales analysis"), "fa-bar-chart", *_SALES),
    (ProductView, "Product", _l("Products"), "fa-cube", *_PRODUCTS),
    (StockItemView, "StockItem", _l("Stock"), "fa-cubes", *_PRODUCTS),
    (StockTakeView, "StockTake", _l("Stock takes"), "fa-check-square", *_PRODUCTS),
    (QualityInspectionView, "QualityInspection", _l("Quality inspections"), "fa-search-plus", *_PRODUCTS),
    (SupplierView, "Supplier", _l("Suppliers"), "fa-industry", *_PRODUCTS),
    (ShipmentView, "Shipment", _l("Shipments"), "fa-truck", *_PRODUCTS),
    (LogisticsPartnerView, "LogisticsPartner", _l("Carriers"), "fa-road", *_PRODUCTS),
    (AfterSalesTicketView, "AfterSalesTicket", _l("After-sales tickets"), "fa-wrench", *_PRODUCTS),
    (AgentView, "Agent", _l("Agents"), "fa-user-circle", *_AGENTS),
    (AgentTierView, "AgentTier", _l("Agent tiers"), "fa-signal", *_AGENTS),
    (RemittanceView, "Remittance", _l("Remittances"), "fa-bank", *_AGENTS),
    (ProfitDistributionView, "ProfitDistribution", _l("Profit distributions"), "fa-pie-chart", *_AGENTS),
    (ExpenseClaimView, "ExpenseClaim", _l("Expense claims"), "fa-credit-card", *_FINANCE),
    (BudgetView, "Budget", _l("Budgets"), "fa-pie-chart", *_FINANCE),
    (BudgetIncreaseView, "BudgetIncrease", _l("Budget increases"), "fa-plus-square", *_FINANCE),
    (ExpensePlanView, "ExpensePlan", _l("Expense plans"), "fa-calendar-check-o", *_FINANCE),
    (ExpenseStandardView, "ExpenseStandard", _l("Expense standards"), "fa-balance-scale", *_FINANCE),
    (FundReconciliationView, "FundReconciliation", _l("Fund reconciliations"), "fa-university", *_FINANCE),
    (ReceivableView, "Receivable", _l("Receivables"), "fa-hourglass-half", *_FINANCE),
    (IncomeRecordView, "IncomeRecord", _l("Income ledger"), "fa-money", *_FINANCE),
    (LeaveRequestView, "LeaveRequest", _l("Leave requests"), "fa-calendar-minus-o", *_CONDUCT),
    (AttendanceRecordView, "AttendanceRecord", _l("Attendance"), "fa-clock-o", *_CONDUCT),
    (ViolationView, "Violation", _l("Violations"), "fa-gavel", *_CONDUCT),
    (GiftDeclarationView, "GiftDeclaration", _l("Gift declarations"), "fa-gift", *_CONDUCT),
    (RiskView, "Risk", _l("Risks"), "fa-exclamation-circle", "Risk", _l("Risk, audit and compliance")),
    (CreditAssessmentView, "CreditAssessment", _l("Credit assessments"), "fa-tachometer", "Risk",
     _l("Risk, audit and compliance")),
    (AuditFindingView, "AuditFinding", _l("Audit findings"), "fa-flag", "Risk", _l("Risk, audit and compliance")),
    (ComplianceReviewView, "ComplianceReview", _l("Compliance reviews"), "fa-balance-scale", "Risk",
     _l("Risk, audit and compliance")),
    (ConfidentialityAgreementView, "ConfidentialityAgreement", _l("Confidentiality agreements"), "fa-lock",
     "Confidentiality", _l("Information and confidentiality")),
    (IntellectualPropertyView, "IntellectualProperty", _l("Intellectual property"), "fa-copyright",
     "Confidentiality", _l("Information and confidentiality")),
    (ReportsView, "Dashboards", _l("Dashboards"), "fa-dashboard", "Reports", _l("Reports")),
    (ImportView, "Import", _l("Import"), "fa-upload", "Data", _l("Data")),
    (RegulationsView, "RegulationsView", _l("Regulations and clauses"), "fa-book", "Regulations", _l("Regulations")),
    (RegulationView, "Regulation", _l("Regulation documents"), "fa-file-text", "Regulations", _l("Regulations")),
    (ClauseView, "Clause", _l("Clause index"), "fa-list-ol", "Regulations", _l("Regulations")),
    (AuditEntryView, "AuditEntry", _l("Audit log"), "fa-history", "Audit", _l("Audit")),
)


def register_views(appbuilder) -> None:
    for view, name, label, icon, category, category_label in MENU:
        appbuilder.add_view(view, name, label=label, icon=icon, category=category, category_label=category_label)
    appbuilder.add_view_no_menu(LookupView)
    appbuilder.add_view_no_menu(AppraisalFeedbackPage)  # the customers' one-time rating links: no login
    appbuilder.add_link("MyAppraisal", label=_l("My appraisal"), href="/appraisals/mine/", icon="fa-user",
                        category="Appraisal", category_label=_l("Performance appraisal"))
    appbuilder.add_link("AppraisalAppeals", label=_l("Appeal desk"), href="/appraisals/appeals/", icon="fa-legal",
                        category="Appraisal", category_label=_l("Performance appraisal"))
    appbuilder.add_link("MyRequests", label=_l("My requests"), href="/approvals/mine/", icon="fa-paper-plane",
                        category="Approvals", category_label=_l("Approvals"))
    appbuilder.add_link("ContractFollowUp", label=_l("Renewals and reports due"), href="/contracts/follow-up/",
                        icon="fa-refresh", category="Sales", category_label=_l("Sales"))
    appbuilder.add_link("MyProfitShares", label=_l("My profit shares"), href="/profit-distributions/mine/",
                        icon="fa-user", category="Agents", category_label=_l("Agent network"))
    appbuilder.add_link("RiskMatrix", label=_l("Risk matrix"), href="/risks/matrix/", icon="fa-th", category="Risk",
                        category_label=_l("Risk, audit and compliance"))
    appbuilder.add_link("AttendanceSummary", label=_l("Monthly attendance"), href="/attendance/summary/",
                        icon="fa-calendar-check-o", category="Conduct", category_label=_l("Attendance and conduct"))
    appbuilder.add_link("MyViolations", label=_l("My disciplinary records"), href="/violations/mine/",
                        icon="fa-user", category="Conduct", category_label=_l("Attendance and conduct"))
    appbuilder.add_link("MyAwards", label=_l("My awards"), href="/awards/mine/", icon="fa-star", category="HR",
                        category_label=_l("HR and training"))
    appbuilder.add_link("MyCareerPlan", label=_l("My career plan"), href="/career-plans/mine/", icon="fa-compass",
                        category="HR", category_label=_l("HR and training"))
    appbuilder.add_link("MyFeedback", label=_l("My feedback"), href="/employee-feedback/mine/", icon="fa-comment",
                        category="HR", category_label=_l("HR and training"))
    appbuilder.add_link("MyTrainings", label=_l("My trainings"), href="/training-sessions/mine/",
                        icon="fa-graduation-cap", category="HR", category_label=_l("HR and training"))
    appbuilder.get_app.jinja_env.globals["nav_counts"] = nav_counts
    api.register(appbuilder)  # /api/v1/<resource>/ for every CRUD view with api_enabled (views/api.py)
