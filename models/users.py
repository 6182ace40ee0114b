"""Portal users: FAB's user record plus the link to an Employee and the session and lockout state."""

from flask_appbuilder.security.mongoengine.models import User
from flask_babel import lazy_gettext as _l
from mongoengine import NULLIFY, BooleanField, DateTimeField, ReferenceField, StringField

from models.org import Employee


class PortalUser(User):
    """A login. `session_nonce` changes at logout and deactivation, which ends every copy of the session.
    `must_change_password` is set when someone else chose the password (a hire, an administrator's reset): until
    the user picks their own, every page leads to "Change my password"."""

    employee = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("Employee"))
    session_nonce = StringField(max_length=64)
    locked_until = DateTimeField(verbose_name=_l("Locked until"))
    password_changed_at = DateTimeField(verbose_name=_l("Password changed at"))
    must_change_password = BooleanField(default=False, verbose_name=_l("Must change the password"))

    audit_exclude = ("password", "session_nonce", "last_login", "login_count", "fail_login_count")

    def __str__(self) -> str:
        return self.username
