"""The home page: who I am, where I sit in the org tree, and where to go next."""

from flask import g
from flask_appbuilder import IndexView, expose

from portal import scope
from views.org import my_employee


class HomeIndexView(IndexView):
    """The portal's start page for every user (anonymous users see the sign-in prompt)."""

    index_template = "portal/index.html"

    @expose("/")
    def index(self):
        user = getattr(g, "user", None)
        signed_in = bool(user is not None and getattr(user, "is_authenticated", False))
        employee = my_employee() if signed_in else None
        return self.render_template(self.index_template, appbuilder=self.appbuilder, employee=employee,
                                    roles=sorted(scope.role_names()) if signed_in else [])
