"""FAB's security screens, made safe (portal base mixin) and held to the portal's password policy."""

from __future__ import annotations

from flask import abort, g, request
from flask_appbuilder import expose, has_access
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.security.views import (
    ResetMyPasswordView,
    ResetPasswordView,
    RoleModelView,
    UserDBModelView,
    UserGroupModelView,
)
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash
from wtforms import PasswordField, ValidationError
from wtforms.validators import DataRequired, EqualTo

from models.common import field_error
from portal import audit
from portal.modelview import PortalCRUDMixin
from portal.passwords import password_problem


def _is_admin(roles) -> bool:
    from flask import current_app

    admin = current_app.appbuilder.sm.auth_role_admin
    return any(getattr(r, "name", None) == admin for r in roles or [])


class PortalUserDBModelView(PortalCRUDMixin, UserDBModelView):
    """Users: Admin only. New passwords follow the policy (12 characters for Admin); deactivation ends sessions."""

    class_permission_name = "UserDBModelView"
    api_enabled = False  # users, roles and groups are administered on their pages only
    export_audited = True  # Admin only (ROLE_TABLE): names, e-mail addresses and roles of every user

    list_columns = ["username", "first_name", "last_name", "email", "active", "roles", "employee", "last_login"]
    search_columns = ["username", "first_name", "last_name", "email", "active", "roles"]
    order_columns = ["username", "first_name", "last_name", "email", "last_login"]
    add_columns = [*UserDBModelView.add_columns, "employee"]
    edit_columns = ["first_name", "last_name", "username", "active", "email", "roles", "groups", "employee"]
    show_columns = ["username", "first_name", "last_name", "email", "active", "roles", "groups", "employee",
                    "last_login", "login_count", "fail_login_count", "locked_until", "password_changed_at",
                    "must_change_password", "created_on", "created_by", "changed_on", "changed_by"]

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        item = self.get_item(pk)
        if item is None:
            abort(404)
        widgets = self._get_show_widget(pk, item, actions={"resetpasswords": self.actions.get("resetpasswords")})
        self.update_redirect()
        return self.render_template(self.show_template, pk=pk, title=self.show_title, widgets=widgets,
                                    appbuilder=self.appbuilder, related_views=self._related_views,
                                    history=audit.history_for(self.datamodel.obj, item.pk))

    def pre_add(self, item):
        problem = password_problem(item.password or "", item.username or "", _is_admin(item.roles))
        if problem:
            raise field_error("password", problem)
        item.must_change_password = True  # the administrator knows it: the user chooses their own at first login
        super().pre_add(item)

    def pre_update(self, item):
        if item.pk == getattr(g.user, "pk", None) and not item.active:
            raise field_error("active", _l("You cannot deactivate your own account."))
        super().pre_update(item)

    def post_update(self, item):
        if not item.active:
            self.appbuilder.sm.end_sessions(item)

    def pre_delete(self, item):
        if item.pk == getattr(g.user, "pk", None):
            raise ValueError(gettext("You cannot delete your own account."))


class PortalRoleModelView(PortalCRUDMixin, RoleModelView):
    """Roles: Admin only. The portal's eight roles are reset to the role table by `portal sync-roles`."""

    class_permission_name = "RoleModelView"
    api_enabled = False  # users, roles and groups are administered on their pages only
    list_columns = ["name"]  # the permission list is on the role's page; listing it costs a query per row

    search_columns = ["name"]
    order_columns = ["name"]


class PortalGroupModelView(PortalCRUDMixin, UserGroupModelView):
    """Groups of users sharing roles: Admin only."""

    class_permission_name = "UserGroupModelView"
    api_enabled = False  # users, roles and groups are administered on their pages only

    search_columns = ["name", "label"]
    order_columns = ["name", "label"]


def _policy_for(user_roles):
    def check(form, field):
        problem = password_problem(field.data or "", "", _is_admin(user_roles()))
        if problem:
            raise ValidationError(problem)

    return check


class ResetMyPasswordForm(DynamicForm):
    """Changing one's own password needs the current one (SECURITY.md F9)."""

    old_password = PasswordField(_l("Current password"), validators=[DataRequired()],
                                 widget=BS3PasswordFieldWidget())
    password = PasswordField(_l("New password"), validators=[DataRequired(), _policy_for(lambda: g.user.roles)],
                             description=_l("At least 8 characters (12 for administrators); a passphrase is best."),
                             widget=BS3PasswordFieldWidget())
    conf_password = PasswordField(_l("Confirm new password"),
                                  validators=[EqualTo("password", message=_l("Passwords must match"))],
                                  widget=BS3PasswordFieldWidget())

    def validate_old_password(self, field):
        if not check_password_hash(g.user.password or "", field.data or ""):
            raise ValidationError(gettext("The current password is not correct."))


class PortalResetMyPasswordView(ResetMyPasswordView):
    """Change one's own password; other sessions of the same user end, this one goes on."""

    class_permission_name = "ResetMyPasswordView"
    form = ResetMyPasswordForm
    form_title = _l("Change my password")

    def form_post(self, form):
        from flask import flash, session

        from portal.security import SESSION_NONCE

        sm = self.appbuilder.sm
        sm.reset_password(g.user.id, form.password.data)
        session[SESSION_NONCE] = sm.get_user_by_id(g.user.id).session_nonce
        flash(gettext("Your password has been changed."), "info")


def _target_roles():
    from flask import current_app

    user = current_app.appbuilder.sm.get_user_by_id(request.args.get("pk"))
    return user.roles if user else []


class ResetPasswordForm(DynamicForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(), _policy_for(_target_roles)],
                             widget=BS3PasswordFieldWidget())
    conf_password = PasswordField(_l("Confirm Password"),
                                  validators=[EqualTo("password", message=_l("Passwords must match"))],
                                  widget=BS3PasswordFieldWidget())


class PortalResetPasswordView(ResetPasswordView):
    """Admin sets another user's password; that user's sessions end."""

    class_permission_name = "ResetPasswordView"
    form = ResetPasswordForm

    def form_post(self, form):
        sm = self.appbuilder.sm
        user = sm.get_user_by_id(request.args.get("pk"))
        if user is None:
            abort(404)
        result = super().form_post(form)
        if user.pk != g.user.pk:
            sm.require_password_change(user)  # a password an administrator knows is replaced at the next login
        return result
