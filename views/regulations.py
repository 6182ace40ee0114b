"""Regulation registry screens: the clause index, the regulations with their full texts, and the overview page."""

from flask import abort, g, request
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField

from models.regulations import Clause, Regulation
from portal import registry, uploads
from portal.compat import PortalMongoInterface
from portal.modelview import PortalModelView


class RegulationView(PortalModelView):
    """The five regulations; an Admin attaches each one's full text (PDF, Word or text)."""

    datamodel = PortalMongoInterface(Regulation)
    class_permission_name = "Regulation"
    list_title = show_title = _l("Regulation documents")
    edit_title = _l("Edit regulation")
    add_title = _l("Add regulation")
    list_columns = ["code", "name_zh", "name_en", "document"]
    search_columns = ["code", "name_zh", "name_en"]
    order_columns = ["code", "sort_order"]
    base_order = ("sort_order", "asc")
    add_columns = edit_columns = ["code", "name_zh", "name_en", "sort_order", "upload"]
    show_columns = ["code", "name_zh", "name_en", "sort_order", "document"]
    add_form_extra_fields = edit_form_extra_fields = {
        "upload": FileField(_l("Full text"), description=_l("PDF, Word or plain text; replaces the current file.")),
    }

    def _attach(self, item):
        storage = getattr(item, "upload", None)
        if storage is not None and getattr(storage, "filename", ""):
            item.document = uploads.store_upload("upload", storage, uploads.DOCUMENT_TYPES, g.user.username)

    def pre_add(self, item):
        self._attach(item)

    def pre_update(self, item):
        self._attach(item)

    @expose("/file/<pk>")
    @has_access
    def file(self, pk):
        item = self.get_item(pk)
        if item is None or item.document is None:
            abort(404)
        return uploads.attachment_response(item.document)


class ClauseView(PortalModelView):
    """Every surviving clause with our own short title and summary in Chinese and English."""

    datamodel = PortalMongoInterface(Clause)
    class_permission_name = "Clause"
    list_title = show_title = _l("Clause index")
    edit_title = _l("Edit clause")
    add_title = _l("Add clause")
    list_columns = ["clause_id", "regulation", "kind", "title_zh", "title_en"]
    search_columns = ["clause_id", "regulation", "kind", "title_zh", "title_en", "summary_zh", "summary_en"]
    order_columns = ["clause_id", "kind", "sort_order"]
    base_order = ("sort_order", "asc")
    add_columns = edit_columns = ["clause_id", "regulation", "kind", "title_zh", "title_en", "summary_zh",
                                  "summary_en", "portal_note", "sort_order"]

    def post_add(self, item):
        registry.invalidate()

    def post_update(self, item):
        registry.invalidate()

    def post_delete(self, item):
        registry.invalidate()


class RegulationsView(BaseView):
    """One page: each regulation's clauses, what each says in our words, and the portal pages implementing it."""

    route_base = "/regulations"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        regulations = list(Regulation.objects.order_by("sort_order"))
        chosen = next((r for r in regulations if r.code == request.args.get("code", "")), None)
        text = request.args.get("q", "")
        by_regulation = registry.find_clauses(chosen, text)
        return self.render_template("portal/regulations.html", regulations=regulations, chosen=chosen,
                                    by_regulation=by_regulation, q=text[: registry.SEARCH_MAX],
                                    pages=registry.implementing_pages(self.appbuilder), anchor=registry.ClauseRef)
