"""Portal security: the manager that closes FAB's defects (SECURITY.md F1, F5, F7, F9) and the roles, as data."""

from __future__ import annotations

import logging
import secrets
import time
from datetime import timedelta

from flask import current_app, g, has_request_context, request, session
from flask_appbuilder.security.mongoengine.manager import SecurityManager
from flask_babel import lazy_gettext as _l
from flask_login import current_user, user_logged_in, user_logged_out
from pymongo import ReturnDocument
from werkzeug.security import check_password_hash

from models.common import utcnow
from models.users import PortalUser
from portal.compat import PortalMongoInterface

JWT_NONCE = "nonce"  # the claim that binds a token to the session nonce
log = logging.getLogger(__name__)

SESSION_NONCE, SESSION_START, SESSION_SEEN = "_pn", "_t0", "_ta"
_PV_NAMES: dict = {}  # permission-view id -> (permission name, view name); immutable once created


def request_cache() -> dict:
    """A dict that lives exactly as long as the current request (empty and unshared outside one)."""
    if not has_request_context():
        return {}
    return request.environ.setdefault("portal.cache", {})


class PortalSecurityManager(SecurityManager):
    """FAB's MongoEngine manager with a per-request permission cache, session checks and login lockout.

    Stock FAB walks and dereferences a role's permission list for every `has_access` call (602 round-trips on
    an empty index page). Here the user's role documents are read once per request and the names of their
    permission-views come from a process cache, so permissions and menu cost one round-trip.
    """

    user_model = PortalUser

    def __init__(self, appbuilder):
        from portal import security_views as sv

        self.userdbmodelview = sv.PortalUserDBModelView
        self.rolemodelview = sv.PortalRoleModelView
        self.groupmodelview = sv.PortalGroupModelView
        self.resetmypasswordview = sv.PortalResetMyPasswordView
        self.resetpasswordview = sv.PortalResetPasswordView
        super().__init__(appbuilder)
        self.userstatschartview = None  # FAB's user chart loads every user into memory; not offered
        cap = appbuilder.get_app.config.get("PAGE_SIZE_MAX", 100)
        for view, model in ((self.userdbmodelview, self.user_model), (self.rolemodelview, self.role_model),
                            (self.groupmodelview, self.group_model)):
            view.datamodel = PortalMongoInterface(model, page_size_max=cap)
        app = appbuilder.get_app
        user_logged_in.connect(_on_login, app, weak=False)
        user_logged_out.connect(_on_logout, app, weak=False)

    def register_views(self):
        super().register_views()
        if self.is_auth_limited:  # F5: FAB limits only the HTML login; the JSON login gets the same limit
            api = next(v for v in self.appbuilder.baseviews if type(v).__name__ == "SecurityApi")
            self.limiter.limit(self.auth_rate_limit, methods=["POST"])(api.blueprint)

    def add_permission_role(self, role, perm_view):
        """FAB's, without loading the role's whole permission list for every permission it adds: at start-up
        that made registering the views quadratic in the number of permissions (tens of seconds)."""
        if perm_view is None:
            return
        self.role_model._get_collection().update_one({"_id": role.pk}, {"$addToSet": {"permissions": perm_view.pk}})

    # ---- users and sessions (F1, F9) ---------------------------------------------------------
    def get_user_by_id(self, pk):
        try:
            return self.user_model.objects(pk=pk).first()
        except Exception:  # a malformed id in a cookie or token is simply no user
            return None

    def load_user(self, pk):
        """Flask-Login's loader: inactive users, stale nonces and expired sessions are no user at all."""
        user = self.get_user_by_id(pk)
        if user is None or not user.is_active:
            return None
        if not user.session_nonce or session.get(SESSION_NONCE) != user.session_nonce:
            return None
        now = time.time()
        config = current_app.config
        started, seen = session.get(SESSION_START, 0), session.get(SESSION_SEEN, 0)
        if now - started > config["SESSION_MAX_HOURS"] * 3600 or now - seen > config["SESSION_IDLE_MINUTES"] * 60:
            session.clear()
            return None
        session[SESSION_SEEN] = now
        return user

    def create_jwt_manager(self, app):
        jwt_manager = super().create_jwt_manager(app)
        jwt_manager.additional_claims_loader(self.jwt_claims)
        return jwt_manager

    def jwt_claims(self, identity) -> dict:
        """Every token (access and refresh) carries the user's session nonce: a password change, a reset, a
        deactivation or a logout rotates the nonce and so ends the tokens as it ends the browser sessions."""
        user = self.get_user_by_id(identity)
        if user is None:
            return {}
        return {JWT_NONCE: user.session_nonce or self.first_nonce(user)}

    def load_user_jwt(self, _jwt_header, jwt_data):
        """The token's user, if still active and the token was issued under their current session nonce."""
        user = self.get_user_by_id(jwt_data.get("sub"))
        if user is None or not user.is_active:
            return None
        if not user.session_nonce or jwt_data.get(JWT_NONCE) != user.session_nonce:
            return None
        g.user = user
        return user

    def auth_user_db(self, username, password):
        """Password login for every login path, with the `$inc` failure counter and a temporary lockout."""
        if not username or not password or len(username) > 320 or len(password) > 1024:
            return None
        user = self.find_user(username=username) or self.find_user(email=username)
        config = current_app.config
        if user is None or not user.is_active or (user.locked_until and user.locked_until > utcnow()):
            check_password_hash(config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"], "password")  # same time either way
            log.info("Refused login for %r", username[:64])
            return None
        collection = self.user_model._get_collection()
        if check_password_hash(user.password, password):
            collection.update_one({"_id": user.pk}, {"$set": {"last_login": utcnow(), "fail_login_count": 0},
                                                     "$unset": {"locked_until": ""}, "$inc": {"login_count": 1}})
            return user
        after = collection.find_one_and_update({"_id": user.pk}, {"$inc": {"fail_login_count": 1}},
                                               projection={"fail_login_count": 1},
                                               return_document=ReturnDocument.AFTER)
        if after and after.get("fail_login_count", 0) >= config["LOGIN_LOCKOUT_FAILURES"]:
            until = utcnow() + timedelta(minutes=config["LOGIN_LOCKOUT_MINUTES"])
            collection.update_one({"_id": user.pk}, {"$set": {"locked_until": until, "fail_login_count": 0}})
            log.warning("Account %r locked until %s after repeated failures", user.username, until)
        return None

    def end_sessions(self, user) -> None:
        """Invalidate every copy of the user's session cookie (logout, deactivation, password change)."""
        nonce = secrets.token_urlsafe(24)
        self.user_model._get_collection().update_one({"_id": user.pk}, {"$set": {"session_nonce": nonce}})
        user.session_nonce = nonce

    def first_nonce(self, user) -> str:
        """The nonce of a login that has none yet. Two first logins at once (two tabs, two devices) must agree on
        one: a conditional update, then the stored value; an unconditional one would sign the other one out."""
        collection = self.user_model._get_collection()
        collection.update_one({"_id": user.pk, "session_nonce": {"$in": [None, ""]}},
                              {"$set": {"session_nonce": secrets.token_urlsafe(24)}})
        user.session_nonce = (collection.find_one({"_id": user.pk}, {"session_nonce": 1}) or {}).get("session_nonce")
        return user.session_nonce

    def reset_password(self, userid, password):
        user = self.get_user_by_id(userid)
        if user is None:
            return
        super().reset_password(userid, password)
        self.user_model._get_collection().update_one(
            {"_id": user.pk}, {"$set": {"password_changed_at": utcnow(), "must_change_password": False}})
        self.end_sessions(user)

    def require_password_change(self, user) -> None:
        """The password was chosen by someone else: the user must replace it at their next page."""
        self.user_model._get_collection().update_one({"_id": user.pk}, {"$set": {"must_change_password": True}})

    # ---- permissions: one query per request (stock: 602 round-trips on the index page) ---------
    def _permission_context(self) -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
        """(role names, {(permission, view)}) of the current user, loaded once per request."""
        cache = request_cache()
        if "perms" in cache:
            return cache["perms"]
        user = getattr(g, "user", None) if has_request_context() else None
        if user is None or not getattr(user, "is_authenticated", False):
            user = current_user if has_request_context() else None
        if user is not None and getattr(user, "is_authenticated", False) and user.is_active:
            match = {"_id": {"$in": self._role_ids(user)}}
        else:
            match = {"name": self.auth_role_public}
        cache["perms"] = context = self._load_permissions(match)
        return context

    def _role_ids(self, user) -> list:
        ids = [getattr(r, "id", getattr(r, "pk", r)) for r in user._data.get("roles") or []]
        groups = [getattr(r, "id", getattr(r, "pk", r)) for r in user._data.get("groups") or []]
        if groups:
            for group in self.group_model._get_collection().find({"_id": {"$in": groups}}, {"roles": 1}):
                ids.extend(getattr(r, "id", r) for r in group.get("roles") or [])
        return ids

    def _load_permissions(self, match: dict):
        """One `find` on the roles; a permission-view's names never change, so they are cached per process."""
        roles = list(self.role_model._get_collection().find(match, {"name": 1, "permissions": 1}))
        pv_ids = {getattr(ref, "id", ref) for role in roles for ref in role.get("permissions") or []}
        missing = [pv for pv in pv_ids if pv not in _PV_NAMES]
        if missing:
            self._learn_permission_views(missing)
        perms = {_PV_NAMES[pv] for pv in pv_ids if pv in _PV_NAMES}
        return frozenset(role["name"] for role in roles), frozenset(perms)

    def _learn_permission_views(self, ids: list) -> None:
        pvs = list(self.permissionview_model._get_collection().find({"_id": {"$in": ids}}))

        def names(model, key):
            wanted = list({getattr(pv.get(key), "id", pv.get(key)) for pv in pvs})
            return {d["_id"]: d["name"] for d in model._get_collection().find({"_id": {"$in": wanted}}, {"name": 1})}

        permissions, views = names(self.permission_model, "permission"), names(self.viewmenu_model, "view_menu")
        for pv in pvs:
            pair = (permissions.get(getattr(pv.get("permission"), "id", pv.get("permission"))),
                    views.get(getattr(pv.get("view_menu"), "id", pv.get("view_menu"))))
            if all(pair):
                _PV_NAMES[pv["_id"]] = pair

    def current_role_names(self) -> frozenset[str]:
        return self._permission_context()[0]

    def forget_permissions(self) -> None:
        """Drop the request's cached permissions (after a role change in the same request)."""
        request_cache().clear()

    def _allowed(self, permission_name: str, view_name: str) -> bool:
        roles, perms = self._permission_context()
        if self.auth_role_admin in roles:
            return True
        if any(self._has_access_builtin_roles(self.role_model(name=r), permission_name, view_name)
               for r in roles if r in self.builtin_roles):
            return True
        return (permission_name, view_name) in perms

    def has_access(self, permission_name: str, view_name: str) -> bool:
        user = getattr(g, "user", None)
        if user is not None and getattr(user, "is_authenticated", False) and not user.is_active:
            return False  # F1: a deactivated user is refused on the next request
        return self._allowed(permission_name, view_name)

    def is_item_public(self, permission_name, view_name):
        if has_request_context() and getattr(getattr(g, "user", None), "is_authenticated", False):
            return False
        return self._allowed(permission_name, view_name)

    def _has_view_access(self, user, permission_name, view_name):
        return self._allowed(permission_name, view_name)

    def _get_user_permission_view_menus(self, user, permission_name, view_menus_name):
        return {name for name in view_menus_name or [] if self._allowed(permission_name, name)}

    # ---- methods the Mongo manager leaves NotImplemented (GUIDE 2.10, 2.11) ---------------------
    def get_public_role(self):
        return self.find_role(self.auth_role_public)

    def get_db_role_permissions(self, role_id):
        role = self.role_model.objects(id=role_id).first()
        return list(role.permissions) if role else []

    def find_roles_permission_view_menus(self, permission_name, role_ids):
        perm = self.find_permission(permission_name)
        if perm is None:
            return []
        seen, out = set(), []
        for role in self.role_model.objects(id__in=role_ids):
            for pv in role.permissions:
                if pv.permission == perm and pv.id not in seen:
                    seen.add(pv.id)
                    out.append(pv)
        return out

    def del_permission_view_menu(self, permission_name, view_menu_name, cascade=True):
        """Unlike FAB's Mongo version, never leave a dangling id in a role (which breaks every page)."""
        pv = self.find_permission_view_menu(permission_name, view_menu_name)
        if pv is None:
            return
        self.role_model.objects(permissions=pv).update(pull__permissions=pv)
        perm = pv.permission
        pv.delete()
        if cascade and perm and not self.permissionview_model.objects(permission=perm).first():
            self.del_permission(perm.name)

    def del_permission_role(self, role, perm_view):
        if perm_view is None or not hasattr(perm_view, "view_menu"):
            return  # FAB passes a Permission here at start-up (GUIDE 2.11); nothing to remove
        super().del_permission_role(role, perm_view)

    def find_group(self, name):
        return self.group_model.objects(name=name).first()

    def add_group(self, name, label="", description="", roles=None, users=None):
        group = self.find_group(name)
        if group is None:
            group = self.group_model(name=name, label=label, description=description, roles=roles or [],
                                     users=users or []).save()
        return group


def _on_login(sender, user, **extra) -> None:
    """Bind the session to the user's current nonce and start its clocks."""
    sm = current_app.appbuilder.sm
    if not user.session_nonce:
        sm.first_nonce(user)
    now = time.time()
    session[SESSION_NONCE] = user.session_nonce
    session[SESSION_START] = session[SESSION_SEEN] = now
    session.permanent = True


def _on_logout(sender, user, **extra) -> None:
    """Logout ends the session everywhere a copy of the cookie lives."""
    if user is not None and getattr(user, "pk", None) is not None:
        current_app.appbuilder.sm.end_sessions(user)


# ---------------------------------------------------------------------------------------------------
# Roles as data (DOMAIN 1). Deny by default: a role holds exactly what this table and the menu give it.
# ---------------------------------------------------------------------------------------------------
PORTAL_ROLES = ("Admin", "Clerk", "DeptHead", "HR", "Finance", "Legal", "Employee", "Auditor")
ROLE_LABELS = (_l("Admin"), _l("Clerk"), _l("DeptHead"), _l("HR"), _l("Finance"), _l("Legal"), _l("Employee"),
               _l("Auditor"), _l("Public"))  # for the catalogue: role names are shown translated
STAFF_ROLES = PORTAL_ROLES[1:]  # Admin holds every permission through FAB's AUTH_ROLE_ADMIN

READ = ("can_list", "can_show")
WRITE = (*READ, "can_add", "can_edit")
FULL = (*WRITE, "can_delete")
FORM = ("can_this_form_get", "can_this_form_post")


CONTRACT_STEPS = ("can_submit", "can_sign", "can_execute", "can_complete", "can_file", "can_follow_up")
ORDER_STEPS = ("can_submit", "can_confirm", "can_produce", "can_close", "can_track", "can_cancel")
SHIPPING = ("can_ship", "can_deliver", "can_exception", "can_cancel")
DASHBOARDS = ("can_sales", "can_income", "can_customers", "can_receivables", "can_budget", "can_complaints",
              "can_after_sales", "can_satisfaction", "can_appraisal", "can_training")  # portal.dashboards


def everyone(*permissions: str) -> dict[str, tuple[str, ...]]:
    return {role: permissions for role in STAFF_ROLES}


# view (class_permission_name) -> role -> permissions. A view missing here is Admin-only.
ROLE_TABLE: dict[str, dict[str, tuple[str, ...]]] = {
    # Organization (DOMAIN 2): HR keeps the tree and the staff records; everyone can read the tree.
    "OrgUnit": {**everyone(*READ), "HR": FULL},
    "Position": {**everyone(*READ), "Employee": (), "HR": FULL},
    "Employee": {**everyone(*READ), "HR": FULL},
    # Approvals (DOMAIN 4): everyone has an inbox, requests and a bell; Admin edits routes and settings.
    "ApprovalsView": everyone("can_inbox", "can_mine", "can_request"),
    "MyRequests": everyone("menu_access"),  # a menu link to ApprovalsView.mine
    "NotificationsView": everyone("can_index"),
    "ApprovalDelegation": {**everyone(*FULL), "Auditor": READ},
    "ApprovalRequest": {"Auditor": READ},
    "ApprovalRoute": everyone(*READ),
    "Setting": {"Auditor": READ},
    # Finance (DOMAIN 3.6): Finance keeps budgets and pays claims; everyone claims their own expenses.
    "Budget": {"Clerk": (*WRITE, "can_submit"), "DeptHead": (*WRITE, "can_submit"),
               "Finance": (*FULL, "can_submit"), "Auditor": READ},
    # (delete is offered on drafts only: the views refuse it once a document was submitted)
    "BudgetIncrease": {**everyone(*FULL, "can_submit"), "Auditor": READ},
    "ExpenseClaim": {**everyone(*FULL, "can_submit", "can_receipt"),
                     "Finance": (*FULL, "can_submit", "can_receipt", "can_pay"), "Auditor": (*READ, "can_receipt")},
    # Expense standards (MIC 費用管理/1, SOC 6.4): Finance keeps them, everyone reads. Expense plans (FSS 7(1)2):
    # salespeople keep their own, clerks and heads their units'; Finance and Auditor read (the view keeps their
    # Employee role to their own plans). Fund reconciliations (DSC 5(4)2): Finance keeps and reviews, Auditor reads.
    "ExpenseStandard": {**everyone(*READ), "Finance": FULL},
    "ExpensePlan": {"Clerk": (*FULL, "can_submit"), "DeptHead": (*FULL, "can_submit"),
                    "Employee": (*FULL, "can_submit"), "Finance": READ, "Auditor": READ},
    "FundReconciliation": {"Finance": (*FULL, "can_review", "can_statement"), "Auditor": (*READ, "can_statement")},
    # Receivables and income (DOMAIN 3.6): Finance keeps both ledgers; the units raise and chase their customers'
    # receivables; salespeople chase their own; a write-off goes to the head, then Finance.
    "Receivable": {"Clerk": (*WRITE, "can_submit", "can_collect", "can_aging"),
                   "DeptHead": (*WRITE, "can_submit", "can_collect", "can_aging"),
                   "Employee": (*READ, "can_submit", "can_collect", "can_aging"),
                   "Finance": (*FULL, "can_submit", "can_collect", "can_aging"), "Auditor": (*READ, "can_aging")},
    "IncomeRecord": {"Clerk": READ, "DeptHead": READ, "Finance": (*WRITE, "can_void"), "Auditor": READ},
    # Market expansion (DOMAIN 3.1): the units' clerks and heads keep research, plans and campaigns; agents see
    # the campaigns they carry out and report on them.
    "MarketResearch": {"Clerk": (*FULL, "can_submit", "can_report"), "DeptHead": (*FULL, "can_submit", "can_report"),
                       "Employee": (*FULL, "can_submit", "can_report"), "Auditor": (*READ, "can_report")},
    "MarketExpansionPlan": {"Clerk": (*FULL, "can_submit"), "DeptHead": (*FULL, "can_submit"), "Auditor": READ},
    "PromotionCampaign": {"Clerk": FULL, "DeptHead": FULL, "Employee": (*READ, "can_feedback"), "Auditor": READ},
    # Customers and service (DOMAIN 3.2): kept by the units; field staff keep their own customers and visits;
    # Finance and Legal read customer files (credit, contracts); contacts stay masked for them.
    "Customer": {"Clerk": (*FULL, "can_verify"), "DeptHead": (*FULL, "can_verify"),
                 "Employee": (*WRITE, "can_verify"), "Finance": READ, "Legal": READ, "Auditor": READ},
    "Inquiry": {"Clerk": FULL, "DeptHead": FULL, "Employee": WRITE, "Auditor": READ},
    "Complaint": {"Clerk": (*FULL, "can_handle"), "DeptHead": (*FULL, "can_handle"),
                  "Employee": (*READ, "can_handle"), "Auditor": READ},
    "CustomerVisit": {"Clerk": FULL, "DeptHead": FULL, "Employee": FULL, "Auditor": READ},
    "Negotiation": {"Clerk": FULL, "DeptHead": FULL, "Employee": FULL, "Auditor": READ},
    "ReturnVisit": {"Clerk": FULL, "DeptHead": FULL, "Employee": WRITE, "Auditor": READ},
    "SatisfactionSurvey": {"Clerk": FULL, "DeptHead": FULL, "Auditor": READ},
    "SurveyResponse": {"Clerk": FULL, "DeptHead": FULL, "Auditor": READ},
    "LookupView": everyone("can_search"),  # names and numbers of customers and staff, for the forms
    # Sales (DOMAIN 3.3): the units keep plans, contracts and the order ledger; salespeople and agents their own;
    # Legal reviews contracts through the approval engine; Finance reads contracts and marks orders paid.
    "SalesPlan": {"Clerk": (*FULL, "can_submit"), "DeptHead": (*FULL, "can_submit"), "Auditor": READ},
    "Contract": {"Clerk": (*FULL, *CONTRACT_STEPS, "can_terminate"),
                 "DeptHead": (*FULL, *CONTRACT_STEPS, "can_terminate"),
                 "Employee": (*WRITE, *CONTRACT_STEPS), "Legal": (*READ, "can_file", "can_follow_up"),
                 "Finance": (*READ, "can_file", "can_follow_up"), "Auditor": (*READ, "can_file", "can_follow_up")},
    "ContractFollowUp": {role: ("menu_access",) for role in ("Clerk", "DeptHead", "Employee", "Legal", "Finance",
                                                            "Auditor")},
    "ClientProgressReport": {"Clerk": FULL, "DeptHead": FULL, "Employee": WRITE, "Legal": READ, "Finance": READ,
                             "Auditor": READ},
    "SalesOrder": {"Clerk": (*FULL, *ORDER_STEPS), "DeptHead": (*FULL, *ORDER_STEPS),
                   "Employee": (*WRITE, "can_submit", "can_track"), "Finance": (*READ, "can_pay", "can_track"),
                   "Auditor": READ},
    "WorkReport": {"Clerk": (*FULL, "can_acknowledge"), "DeptHead": (*FULL, "can_acknowledge"), "Employee": WRITE,
                   "Auditor": READ},
    "SalesAnalysis": {role: ("can_analysis",) for role in ("Clerk", "DeptHead", "Employee", "Finance", "Auditor")},
    # Products, stock and logistics (DOMAIN 3.4): kept by the units (operations, warehouse, customer service);
    # everyone reads the range and its prices.
    "Product": {**everyone(*READ), "Clerk": FULL, "DeptHead": FULL},
    "StockItem": {"Clerk": (*FULL, "can_alerts"), "DeptHead": (*FULL, "can_alerts"), "Finance": (*READ, "can_alerts"),
                  "Auditor": (*READ, "can_alerts")},
    "StockTake": {"Clerk": (*FULL, "can_book", "can_post"), "DeptHead": (*FULL, "can_book", "can_post"),
                  "Finance": READ, "Auditor": READ},
    "Supplier": {"Clerk": FULL, "DeptHead": FULL, "Finance": READ, "Auditor": READ},
    "QualityInspection": {"Clerk": (*FULL, "can_dispose"), "DeptHead": (*FULL, "can_dispose"), "Auditor": READ},
    "LogisticsPartner": {"Clerk": FULL, "DeptHead": FULL, "Auditor": READ},
    "Shipment": {"Clerk": (*FULL, *SHIPPING), "DeptHead": (*FULL, *SHIPPING), "Auditor": READ},
    "AfterSalesTicket": {"Clerk": (*FULL, "can_act"), "DeptHead": (*FULL, "can_act"), "Employee": (*WRITE, "can_act"),
                         "Auditor": READ},
    # Agent network (DOMAIN 3.5): HR keeps tiers and agents; agents record their remittances, Finance verifies
    # them; distributions are computed by the units and Finance, and each agent reads their own line.
    "AgentTier": {**everyone(*READ), "HR": FULL},
    "Agent": {"Clerk": READ, "DeptHead": READ, "HR": FULL, "Finance": READ, "Auditor": READ},
    "Remittance": {"Clerk": (*WRITE, "can_balances"), "DeptHead": (*WRITE, "can_balances"),
                   "Employee": (*WRITE, "can_balances"), "Finance": (*READ, "can_verify", "can_reject", "can_balances"),
                   "Auditor": (*READ, "can_balances")},
    "ProfitDistribution": {"Clerk": (*FULL, "can_submit", "can_compute"),
                           "DeptHead": (*FULL, "can_submit", "can_compute"),
                           "Finance": (*FULL, "can_submit", "can_compute"), "Employee": ("can_mine",),
                           "Auditor": READ},
    "MyProfitShares": {"Employee": ("menu_access",)},
    # Conduct (DOMAIN 3.8): leave is self-service; HR sees all of it.
    "LeaveRequest": {**everyone(*FULL, "can_submit"), "Auditor": READ},
    # Attendance: clerks and heads keep their unit's days, HR all; everyone reads their own and the month's summary.
    "AttendanceRecord": {"Clerk": (*FULL, "can_summary"), "DeptHead": (*FULL, "can_summary"),
                         "HR": (*FULL, "can_summary"), "Employee": (*READ, "can_summary"),
                         "Auditor": (*READ, "can_summary")},
    "AttendanceSummary": {role: ("menu_access",) for role in ("Clerk", "DeptHead", "HR", "Employee", "Auditor")},
    # Disciplinary records are seen only by HR, the heads above the person, Auditor and the person (no list for a
    # Clerk, Finance or Legal: their own records are under "My disciplinary records").
    "Violation": {"HR": (*FULL, "can_decide", "can_confirm", "can_evidence"),
                  "DeptHead": (*READ, "can_confirm", "can_evidence"), "Auditor": (*READ, "can_evidence"),
                  "Employee": ("can_show", "can_mine", "can_evidence", "can_acknowledge", "can_report")},
    "MyViolations": {"Employee": ("menu_access",)},
    "GiftDeclaration": {"Employee": WRITE, "DeptHead": READ, "HR": FULL, "Auditor": READ},
    # Information and confidentiality (DOMAIN 3.10): HR keeps the agreements, each employee reads their own; Legal
    # keeps the IP register, staff roles read it.
    "ConfidentialityAgreement": {"HR": (*FULL, "can_file"), "Employee": (*READ, "can_file"),
                                 "Auditor": (*READ, "can_file")},
    "IntellectualProperty": {"Legal": FULL, "Clerk": READ, "DeptHead": READ, "HR": READ, "Finance": READ,
                             "Auditor": READ},
    # Risk, audit and compliance (DOMAIN 3.9): units keep their risks, salespeople record their own; Finance keeps
    # credit assessments, the units record them for their customers; internal audit raises and verifies findings,
    # the responsible side reports the correction; Legal keeps compliance reviews, the contract's unit reads them.
    "Risk": {"Clerk": (*FULL, "can_matrix"), "DeptHead": (*FULL, "can_matrix"), "Employee": (*WRITE, "can_matrix"),
             "Legal": (*READ, "can_matrix"), "Finance": (*READ, "can_matrix"), "Auditor": (*READ, "can_matrix")},
    "RiskMatrix": {role: ("menu_access",) for role in ("Clerk", "DeptHead", "Employee", "Legal", "Finance",
                                                      "Auditor")},
    # the limit gates the units' own sales (DSC 6(2)3): only Finance sets it, the units read it
    "CreditAssessment": {"Clerk": READ, "DeptHead": READ, "Finance": FULL, "Auditor": READ},
    "AuditFinding": {"Clerk": (*READ, "can_start", "can_report"), "DeptHead": (*READ, "can_start", "can_report"),
                     "Employee": (*READ, "can_start", "can_report"), "Auditor": (*WRITE, "can_verify", "can_reopen")},
    "ComplianceReview": {"Clerk": READ, "DeptHead": READ, "Legal": FULL, "Auditor": READ},
    # HR records (DOMAIN 3.7): the units plan their hiring and follow their candidates, the head decides, HR hires;
    # onboarding, compensation and feedback handling are HR's. Compensation: HR and Admin only, Auditor reads,
    # nobody else (DSC 4(3)). Awards are public; career plans are the employee's, their managers' and HR's.
    "RecruitmentPlan": {"Clerk": (*FULL, "can_submit"), "DeptHead": (*FULL, "can_submit"),
                        "HR": (*FULL, "can_submit"), "Auditor": READ},
    "Candidate": {"Clerk": (*WRITE, "can_resume", "can_withdraw"),
                  "DeptHead": (*FULL, "can_resume", "can_offer", "can_reject", "can_withdraw"),
                  "HR": (*FULL, "can_resume", "can_offer", "can_reject", "can_withdraw", "can_hire"),
                  "Auditor": (*READ, "can_resume")},
    "Onboarding": {"HR": FULL, "Employee": READ, "Auditor": READ},
    "CompensationProfile": {"HR": FULL, "Auditor": READ},
    "Award": {**everyone(*READ, "can_mine"), "HR": (*FULL, "can_mine")},
    "MyAwards": {"Employee": ("menu_access",)},
    "CareerPlan": {"Employee": (*READ, "can_goals", "can_mine"), "DeptHead": (*FULL, "can_goals", "can_mine"),
                   "HR": (*FULL, "can_goals", "can_mine"), "Auditor": READ},
    "MyCareerPlan": {"Employee": ("menu_access",)},
    "EmployeeFeedback": {"Employee": ("can_list", "can_show", "can_add", "can_mine"),
                         "HR": (*WRITE, "can_take", "can_reply", "can_close", "can_mine"), "Auditor": READ},
    "MyFeedback": {"Employee": ("menu_access",)},
    # Training (DOMAIN 5): the units record their needs and draft their annual plan (head, then branch leader); HR
    # runs the sessions, takes attendance and enters scores; everyone reads their own sessions, results and
    # certificates and rates what they attended; the board is HR's, Auditor's and the heads' (their units).
    "TrainingNeed": {"Clerk": WRITE, "DeptHead": (*WRITE, "can_met", "can_drop"),
                     "HR": (*FULL, "can_met", "can_drop"), "Auditor": READ},
    "TrainingPlan": {"Clerk": (*FULL, "can_submit"), "DeptHead": (*FULL, "can_submit"), "HR": (*FULL, "can_submit"),
                     "Auditor": READ},
    "TrainingSession": {**everyone(*READ, "can_mine", "can_material"),
                        "HR": (*FULL, "can_mine", "can_material", "can_attendance", "can_scores", "can_cancel")},
    "TrainingAssessment": everyone(*READ, "can_certificate"),
    "TrainingFeedback": everyone("can_list", "can_show", "can_add"),
    "TrainingBoard": {role: ("can_index", "can_employee") for role in ("HR", "DeptHead", "Auditor")},
    "MyTrainings": {"Employee": ("menu_access",)},
    # Appraisal boards (DOMAIN 6): every manager has My team (empty for those nobody reports to); the department
    # head reviews and calibrates their units, HR and Auditor read it; the cycle board is HR's, Auditor's and the
    # heads' (their units). The data scope of each page is the appraisal scope of portal.appraisal.
    "AppraisalTeam": everyone("can_index"),
    "DepartmentReview": {"DeptHead": ("can_index", "can_confirm"), "HR": ("can_index",), "Auditor": ("can_index",)},
    "AppraisalBoard": {role: ("can_index",) for role in ("HR", "DeptHead", "Auditor")},
    # Performance appraisal (DOMAIN 6): HR keeps templates and cycles, everyone reads the standards; each step of an
    # appraisal is open to whoever the flow names (portal.appraisal checks who), so the permissions follow the roles
    # that may ever take it; scores are seen only by the employee, their managers up the tree, HR, Admin, Auditor.
    "KpiTemplate": {**everyone(*READ), "HR": FULL},
    "AppraisalCycle": {**everyone(*READ), "HR": (*FULL, "can_launch", "can_close")},
    "Appraisal": {"Employee": (*READ, "can_mine", "can_records", "can_assess", "can_acknowledge", "can_appeal",
                               "can_evaluate", "can_feedback", "can_refresh", "can_invite"),
                  "DeptHead": (*READ, "can_mine", "can_records", "can_evaluate", "can_feedback", "can_refresh",
                               "can_invite", "can_review", "can_decide", "can_appeals"),
                  "HR": (*READ, "can_mine", "can_records", "can_refresh", "can_invite", "can_decide", "can_apply",
                         "can_appeals"),
                  "Auditor": (*READ, "can_records", "can_appeals")},
    "MyAppraisal": {"Employee": ("menu_access",)},
    "AppraisalAppeals": {role: ("menu_access",) for role in ("DeptHead", "HR", "Auditor")},
    "Feedback360": {"Employee": (*READ, "can_answer"), "DeptHead": READ, "HR": READ, "Auditor": READ},
    "ImprovementPlan": {"Employee": READ, "DeptHead": FULL, "HR": FULL, "Auditor": READ},
    # Dashboards (DOMAIN 7 Reports): each dashboard is a permission on this view (portal.dashboards), its figures
    # limited to the user's scope of the views it reads. Finance: money; HR: people; heads: their units; clerks:
    # their units' customers and service; Auditor reads all; staff only their own sales.
    "Dashboards": {"Clerk": ("can_index", "can_sales", "can_customers", "can_receivables", "can_complaints",
                             "can_after_sales", "can_satisfaction"),
                   "DeptHead": ("can_index", *DASHBOARDS),
                   "Finance": ("can_index", "can_sales", "can_income", "can_receivables", "can_budget"),
                   "HR": ("can_index", "can_appraisal", "can_training"),
                   "Employee": ("can_index", "can_sales"),
                   "Auditor": ("can_index", *DASHBOARDS)},
    # Bulk import (issue 9 item 4): the roles that load collections in bulk; each kind also needs can_add (and
    # can_edit for updates) on its own view, so HR imports staff, Finance budgets and receivables, the units the rest.
    "Import": {role: ("can_import",) for role in ("Clerk", "DeptHead", "HR", "Finance")},
    # Audit trail (DOMAIN 7): Auditor reads it; nobody edits it.
    "AuditEntry": {"Auditor": READ},
    # Regulation registry: everyone reads; Admin edits and attaches the full texts.
    "Regulation": everyone(*READ, "can_file"),
    "Clause": everyone(*READ),
    "RegulationsView": everyone("can_index"),
    # Self-service on one's own login.
    "UserDBModelView": everyone("can_userinfo"),
    "ResetMyPasswordView": everyone(*FORM),
    "UserInfoEditView": everyone(*FORM),
}


# Views deliberately left to Admin alone (no row in ROLE_TABLE for any staff role).
ADMIN_ONLY_VIEWS = frozenset({"RoleModelView", "UserGroupModelView", "ResetPasswordView"})


def menu_permission(view) -> str:
    """The permission that opens a view's menu entry (its default page)."""
    method = view.default_view
    return "can_" + (getattr(view, "method_permission_name", {}) or {}).get(method, method)


def role_permissions(appbuilder, role: str) -> set[tuple[str, str]]:
    """Every (permission, view) pair `role` holds: the table's, plus menu access where it can open the page."""
    wanted = {(perm, view) for view, roles in ROLE_TABLE.items() for perm in roles.get(role, ())}
    for category in appbuilder.menu.get_list():
        opened = False
        for item in category.childs or [category]:
            base = getattr(item, "baseview", None)
            if base is not None and (menu_permission(base), base.class_permission_name) in wanted:
                wanted.add(("menu_access", item.name))
                opened = True
        if opened and category.childs:
            wanted.add(("menu_access", category.name))
    return wanted


def sync_roles(appbuilder) -> dict[str, int]:
    """Create the portal roles and set each to exactly its permissions; return the count per role (idempotent)."""
    sm = appbuilder.sm
    counts = {}
    for role_name in PORTAL_ROLES:
        role = sm.add_role(role_name)
        if role_name == sm.auth_role_admin:
            counts[role_name] = len(role.permissions)
            continue
        wanted = []
        for perm, view in sorted(role_permissions(appbuilder, role_name)):
            pv = sm.find_permission_view_menu(perm, view) or sm.add_permission_view_menu(perm, view)
            wanted.append(pv)
        if {p.id for p in role.permissions} != {p.id for p in wanted} or len(role.permissions) != len(wanted):
            role.permissions = wanted
            role.save()
        counts[role_name] = len(wanted)
    public = sm.add_role(sm.auth_role_public)
    if public.permissions:
        public.permissions = []
        public.save()
    sm.forget_permissions()
    return counts
