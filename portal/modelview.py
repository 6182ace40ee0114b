"""Base views: FAB's ModelView made safe on MongoDB (SECURITY.md F2, F3, F8) and scoped to the user's org units."""

from __future__ import annotations

import logging
import re

import mongoengine as me
from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import MasterDetailView, ModelView, expose, has_access, permission_name
from flask_appbuilder._compat import as_unicode
from flask_appbuilder.const import FLAMSG_ERR_SEC_ACCESS_DENIED
from flask_appbuilder.urltools import get_order_args
from flask_babel import gettext

from models.common import field_error
from portal import audit, exports, imports, registry, scope
from portal.compat import (
    LineEditorField,
    PortalMongoInterface,
    apply_field_errors,
    display_formatters,
    extra_form_fields,
    flatten_errors,
    resolve_references,
    search_form_fields,
)

log = logging.getLogger(__name__)

def input_field(name: str, label, kind: str = "text", choices=(), value="") -> dict:
    """One input of a page button's form (see portal/_actions.html)."""
    return {"name": name, "label": label, "type": kind, "choices": list(choices), "value": value}


STAMPS = ["created_at", "created_by", "updated_at", "updated_by", "version"]  # the "Record" fieldset
_FILTER_ARG = re.compile(r"^_flt_(\d+)_(.+)$")


def apply_filter_args(filters, disallow_if_not_in_search: bool = True) -> None:
    """FAB's get_filter_args, but an unknown filter index or column is ignored instead of answering 500."""
    filters.clear_filters()
    allowed = filters.get_search_filters()
    for arg in request.args:
        match = _FILTER_ARG.match(arg)
        if not match:
            continue
        index, column = int(match.group(1)), match.group(2)
        if column not in allowed and disallow_if_not_in_search:
            continue
        candidates = filters._all_filters.get(column) or []
        if index < len(candidates):
            filters.add_filter_index(column, index, request.args.getlist(arg))


class PortalCRUDMixin:
    """What every portal CRUD view needs on MongoDB; mixed into area views and FAB's own security views."""

    disable_api_route_methods = True  # the legacy /api/* JSON routes break on ObjectId (GUIDE 2.12, 3)
    exclude_route_methods = {"download"}  # FAB's file-system upload route; attachments have their own
    list_template = "portal/list.html"
    show_template = "portal/show.html"
    add_template = "portal/add.html"
    edit_template = "portal/edit.html"
    regulation_clauses: tuple[str, ...] = ()  # clause ids this view implements, shown on list and show
    show_history = True
    # (list field, reference field of its lines, Document): line references a record page loads, one query each
    line_references: tuple[tuple[str, str, type], ...] = ()
    # export of the list to CSV/XLSX (portal/exports.py): who may list may export, the same rows, every page
    export_enabled = True  # False: no export route answers and the list shows no export buttons
    export_columns: list[str] | None = None  # default: list_columns; only columns the list or show page shows
    export_audited = False  # personal or confidential data: each export leaves an audit entry
    export_batch_size = 500  # rows read per batch; each batch costs a fixed number of round-trips
    # the JSON API (portal/api.py): /api/v1/<api_name>/, by default the collection's name with hyphens
    api_enabled = True  # False: the view has no API resource (the security views)
    api_name: str | None = None  # needed when two views share a collection (employees and agents)

    # ---- set-up: labels and form fields from the Document -----------------------------------
    def _init_properties(self):
        fields = self.datamodel.obj._fields
        # fresh per-instance dicts: FAB fills label_columns in place, which would write into the class's dict
        labels = {n: f.verbose_name for n, f in fields.items() if getattr(f, "verbose_name", None) is not None}
        self.label_columns = {**labels, **(type(self).label_columns or {})}
        if isinstance(self.datamodel, PortalMongoInterface):
            self.formatters_columns = {**display_formatters(self.datamodel.obj),
                                       **(type(self).formatters_columns or {})}
        super()._init_properties()
        if "version" in fields and self.edit_columns and "version" not in self.edit_columns:
            self.edit_columns = [*self.edit_columns, "version"]
        self.order_columns = [c for c in (self.order_columns or []) if c in fields]
        self.export_columns = exports.columns_of(self)

    def _init_forms(self):
        document = self.datamodel.obj
        texts = {"labels": type(self).label_columns, "descriptions": self.description_columns}
        self.add_form_extra_fields = {
            **extra_form_fields(document, self.add_columns or [], keep=self.add_form_query_rel_fields or {}, **texts),
            **(self.add_form_extra_fields or {})}
        self.add_form_extra_fields.pop("version", None)
        self.edit_form_extra_fields = {
            **extra_form_fields(document, self.edit_columns or [], keep=self.edit_form_query_rel_fields or {},
                                **texts),
            **(self.edit_form_extra_fields or {})}
        if isinstance(self.datamodel, PortalMongoInterface):
            self.search_form_extra_fields = {
                **search_form_fields(self.datamodel, self.search_columns or [], self.label_columns),
                **(self.search_form_extra_fields or {})}
        super()._init_forms()

    # ---- list ---------------------------------------------------------------------------------
    def _list(self, **kwargs):
        order_column, order_direction = get_order_args().get(self.__class__.__name__, ("", ""))
        if order_column not in (self.order_columns or []):
            order_column, order_direction = "", ""
        page = request.args.get(f"page_{self.__class__.__name__}", type=int)
        page_size = request.args.get(f"psize_{self.__class__.__name__}", type=int)
        apply_filter_args(self._filters)
        widgets = self._get_list_widget(filters=self._filters, order_column=order_column,
                                        order_direction=order_direction, page=page, page_size=page_size, **kwargs)
        form = self.search_form.refresh()
        self.update_redirect()
        return self._get_search_widget(form=form, widgets=widgets)

    def _get_list_widget(self, filters, actions=None, order_column="", order_direction="", page=None,
                         page_size=None, widgets=None, **kwargs):
        widgets = widgets or {}
        cap = current_app.config.get("PAGE_SIZE_MAX", 100)
        page_size = max(1, min(page_size or self.page_size, cap))
        page = max(page or 0, 0)
        if not order_column and self.base_order:
            order_column, order_direction = self.base_order
        joined = filters.get_joined_filters(self._base_filters)
        count, rows = self.datamodel.query(joined, order_column, order_direction, page=page, page_size=page_size)
        if hasattr(self.datamodel, "prefetch"):
            self.datamodel.prefetch(rows, self.list_columns)
        self.prepare_rows(rows)
        widgets["list"] = self.list_widget(
            label_columns=self.label_columns, include_columns=self.list_columns,
            value_columns=self.datamodel.get_values(rows, self.list_columns), order_columns=self.order_columns,
            formatters_columns=self.formatters_columns, page=page, page_size=page_size, count=count,
            pks=self.datamodel.get_keys(rows), actions=actions or self.actions, filters=filters,
            modelview_name=self.__class__.__name__, **kwargs)
        return widgets

    def get_item(self, pk):
        """The record `pk` if the current user may see it, else None (a 404 for the caller).

        Its references are resolved up front, so a dangling one shows as empty instead of failing the page.
        """
        item = self.datamodel.get(pk, self._base_filters)
        if item is not None and hasattr(self.datamodel, "prefetch"):
            self.datamodel.prefetch([item], list(self.datamodel.obj._fields))
        if item is not None:
            for lines, field, document_type in self.line_references:
                resolve_references(getattr(item, lines) or [], field, document_type)
            self.prepare_rows([item])
        return item

    # ---- show: the record, the clauses it implements and its history ---------------------------
    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        item = self.get_item(pk)
        if not item:
            abort(404)
        widgets = self._get_show_widget(pk, item)
        self.update_redirect()
        widgets = self._get_related_views_widgets(item, orders={}, pages={}, page_sizes={}, widgets=widgets)
        history = audit.history_for(self.datamodel.obj, pk) if self.show_history else None  # None: no panel
        return self.render_template(self.show_template, pk=pk, title=self.show_title, widgets=widgets,
                                    related_views=self._related_views, history=history,
                                    history_labels=self.label_columns, **self.show_context(item))

    def prefill_add(self, form) -> None:
        """Hook: defaults of a blank add form that depend on the user or the link that opened it."""

    def show_context(self, item) -> dict:
        """Extra template values for a record's show page (panels of custom views)."""
        return {}

    def prepare_rows(self, rows: list) -> None:
        """Hook: complete the rows of a list or show page (derived figures) in a fixed number of queries."""

    def list_context(self) -> dict:
        """Extra template values for the list page (a summary above the rows)."""
        return {}

    def run_action(self, pk, action: str, call, done=None):
        """A button on a record's page: `call(item, actor)` runs a service. A refusal (or bad input) is shown
        next to that button's form with 422 and what was typed is kept; success goes back to the page."""
        from portal.approvals import Refused

        item = self.get_item(pk)
        if item is None:
            abort(404)
        try:
            if action not in self.extra_owner_actions and not self.may_change(item):
                raise Refused(gettext("You may read this record but not change it."))
            call(item, scope.actor())
        except Refused as exc:
            request.environ["portal.action_error"] = {"action": action, "message": str(exc.message),
                                                      "form": request.form.to_dict()}
            return self.show(pk), 422
        flash(done or gettext("Saved."), "success")
        return redirect(url_for(f"{type(self).__name__}.show", pk=pk))

    extra_owner_actions: frozenset[str] = frozenset()  # page buttons open to everyone who sees the record

    def may_change(self, item) -> bool:
        """Hook: whether the user may change this record (not just read it)."""
        return True

    def button(self, method: str, label, icon: str = "fa-check", style: str = "default", fields=(), when=True):
        """A button of the record's page for `run_action` route `method`, if the user holds its permission."""
        if not when or not self.appbuilder.sm.has_access(f"can_{method}", self.class_permission_name):
            return None
        return {"endpoint": f"{type(self).__name__}.{method}", "name": method, "label": label, "icon": icon,
                "style": style, "fields": list(fields)}

    def link(self, endpoint: str, permission: str, label, icon: str, when=True, **args):
        """A link of the record's page to a form of another view, if the user may open it."""
        if not when or not self.appbuilder.sm.has_access("can_add", permission):
            return None
        return {"url": url_for(endpoint, **args), "label": label, "icon": icon}

    def render_template(self, template, **kwargs):
        kwargs.setdefault("clauses", registry.clauses_for(self.regulation_clauses))
        if template == self.list_template:
            kwargs.update(self.list_context())
            kwargs.setdefault("export_links", exports.links(self))
            kwargs.setdefault("import_link", imports.link_for(self))
        return super().render_template(template, **kwargs)

    @expose("/export/<fmt>/")
    @has_access
    @permission_name("list")
    def export(self, fmt):
        """The list's rows (its filters and order, the user's scope, every page) as a CSV or XLSX file."""
        return exports.export_list(self, fmt)

    # ---- add and edit: errors next to their fields, version check, nothing half-written --------
    def _add(self):
        apply_filter_args(self._filters, disallow_if_not_in_search=False)
        exclude_cols = self._filters.get_relation_cols()
        form = self.add_form.refresh()
        if request.method == "POST":
            self._fill_form_exclude_cols(exclude_cols, form)
            if form.validate():
                self.process_form(form, True)
                item = self.datamodel.obj()
                if self._save(form, item, is_new=True):
                    return None
        else:
            for field in form:
                if isinstance(field, LineEditorField) and not field.entries:
                    field.append_entry()  # a new record starts with one line to fill in
            self.prefill_add(form)
            self.update_redirect()
        return self._get_add_widget(form=form, exclude_cols=exclude_cols)

    def _edit(self, pk):
        apply_filter_args(self._filters, disallow_if_not_in_search=False)
        exclude_cols = self._filters.get_relation_cols()
        item = self.get_item(pk)
        if not item:
            abort(404)
        pk = self.datamodel.get_pk_value(item)
        if request.method == "POST":
            request.environ["portal.editing"] = item  # a lookup keeps the record's own value
            form = self.edit_form.refresh()  # Flask-WTF reads the posted data itself; FAB passes it as `obj`
            self._fill_form_exclude_cols(exclude_cols, form)
            form._id = pk
            if form.validate():
                self.process_form(form, False)
                if self._save(form, item, is_new=False):
                    return None
        else:
            form = self.edit_form.refresh(obj=item)
            self.prefill_form(form, pk)
            self.update_redirect()
        widgets = self._get_edit_widget(form=form, exclude_cols=exclude_cols)
        return self._get_related_views_widgets(item, filters={}, orders={}, pages={}, page_sizes={},
                                               widgets=widgets)

    def save_form(self, form, item, is_new: bool) -> dict[str, str]:
        """Populate `item` from a validated form, run the hooks and save: the one write path of the forms and the
        JSON API. Returns the errors by field id (`__all__`: the record as a whole), empty when it was saved."""
        try:
            form.populate_obj(item)
            self.pre_add(item) if is_new else self.pre_update(item)
        except me.ValidationError as exc:
            return flatten_errors(exc)
        except scope.ScopeDenied as exc:
            return {"__all__": str(exc)}
        if (self.datamodel.add(item) if is_new else self.datamodel.edit(item)):
            self.post_add(item) if is_new else self.post_update(item)
            return {}
        return getattr(self.datamodel, "field_errors", {}) or {"__all__": str(self.datamodel.message[0])}

    def _save(self, form, item, is_new: bool) -> bool:
        """Populate, run the hooks and save; on any refusal show why next to the fields and keep the input."""
        errors = self.save_form(form, item, is_new)
        if not errors:
            flash(*self.datamodel.message)
            return True
        unplaced = apply_field_errors(form, errors)
        for message in unplaced:
            flash(message, "warning")
        if len(unplaced) < len(errors):
            flash(gettext("Please correct the errors below."), "warning")
        return False

    # ---- actions honour the row filters (F2) ----------------------------------------------------
    def _check_action(self, name: str) -> bool:
        if name not in self.actions:
            abort(404)
        return self.appbuilder.sm.has_access(self.get_action_permission_name(name), self.class_permission_name)

    @expose("/action/<string:name>/<pk>", methods=["GET", "POST"])
    def action(self, name, pk):
        if not self.is_get_mutation_allowed() or not self._check_action(name):
            flash(as_unicode(FLAMSG_ERR_SEC_ACCESS_DENIED), "danger")
            return redirect(self.get_redirect())
        item = self.get_item(pk)
        if item is None:
            abort(404)
        return self.actions[name].func(item)

    @expose("/action_post", methods=["POST"])
    def action_post(self):
        name = request.form.get("action", "")
        if not self._check_action(name):
            flash(as_unicode(FLAMSG_ERR_SEC_ACCESS_DENIED), "danger")
            return redirect(self.get_redirect())
        items = [i for i in (self.get_item(pk) for pk in request.form.getlist("rowid")[:1000]) if i is not None]
        return self.actions[name].func(items)


class PortalModelView(PortalCRUDMixin, ModelView):
    """A CRUD view over one collection, with the portal's fixes. Records are not scoped: reference data."""

    # queries a list page makes beyond count, page, one per reference column and per small select and the navbar
    # (PERFORMANCE.md): a fixed summary such as a completion rate; the list budget test allows exactly these
    list_summary_queries = 0

    def __init__(self, **kwargs):
        if not isinstance(self.datamodel, PortalMongoInterface):
            raise TypeError(f"{type(self).__name__}.datamodel must be a PortalMongoInterface")
        super().__init__(**kwargs)


class ScopedModelView(PortalModelView):
    """A view whose every route (list, show, edit, delete, actions, exports) sees only the user's scope (DOMAIN 1).

    Roles in `scope_all_roles` see every record; Clerk and DeptHead see the records of their org-unit subtree
    (`scope_unit_field`); everyone sees the records whose `scope_owner_field` is their own Employee record.
    """

    scope_unit_field: str | None = "owner_unit"
    scope_owner_field: str | None = None
    scope_all_roles: frozenset[str] = frozenset({"Admin", "Auditor"})
    scope_extra_unit_fields: tuple[str, ...] = ()  # other units that see the record (and may work on it)
    scope_extra_owner_fields: tuple[str, ...] = ()  # other people who see it

    def __init__(self, **kwargs):
        self.base_filters = [*(self.base_filters or []), ["id", scope.ScopeFilter, self.scope_query]]
        super().__init__(**kwargs)

    def scope_query(self):
        return self.scope_for_user()

    @classmethod
    def scope_for_user(cls):
        """The query of the records the signed-in user may see here (None: all of them)."""
        return scope.scope_q(cls.scope_unit_field, cls.scope_owner_field, cls.scope_all_roles,
                             cls.scope_extra_unit_fields, cls.scope_extra_owner_fields)

    @classmethod
    def scope_raw(cls) -> dict:
        """The same as a raw MongoDB filter, for services that aggregate ({} when the user sees everything)."""
        q = cls.scope_for_user()
        return {} if q is None else cls.datamodel.obj.objects(q)._query

    unit_from: str | None = None  # a field (an Employee, a survey) whose org unit the record belongs to
    extra_owners_change: bool = True  # False: people named in scope_extra_owner_fields only read (and track)

    def may_change(self, item) -> bool:
        if self.extra_owners_change or not self.scope_extra_owner_fields:
            return True
        return scope.sees(item.to_mongo().to_dict(), self.scope_unit_field, self.scope_owner_field,
                          self.scope_all_roles, self.scope_extra_unit_fields, ())

    def check_actor(self, item) -> None:
        """Refuse an edit or delete by someone who may only read the record."""
        if not self.may_change(item):
            raise me.ValidationError(gettext("You may read this record but not change it."))

    def sees(self, raw: dict) -> bool:
        """Whether the user may open this raw record (the Python twin of the view's row filter)."""
        return scope.sees(raw, self.scope_unit_field, self.scope_owner_field, self.scope_all_roles,
                          self.scope_extra_unit_fields, self.scope_extra_owner_fields)

    def place(self, item) -> None:
        """Put the record in its unit (that of `unit_from`, else the user's) and keep it in the user's scope.

        The unit is worked out again after the scope check, which may have put the user in place of the person
        they named (a user without a unit role only keeps records of their own).
        """
        source = self._unit_from_source(item)
        try:
            scope.force_owner(item, self.scope_unit_field, self.scope_owner_field, self.scope_all_roles)
        except me.ValidationError as exc:
            if source is None:
                raise
            raise field_error(self.unit_from, gettext("This belongs to a unit outside your scope.")) from exc
        self._unit_from_source(item)

    def _unit_from_source(self, item):
        source = getattr(item, self.unit_from, None) if self.unit_from else None
        if source is not None and self.scope_unit_field:
            setattr(item, self.scope_unit_field, source.owner_unit)
        return source

    def pre_add(self, item):
        self.place(item)

    def pre_update(self, item):
        self.place(item)


class PortalMasterDetailView(PortalCRUDMixin, MasterDetailView):
    """A master list with the detail rows of the chosen master; the master is loaded through the row filters."""

    list_template = MasterDetailView.list_template

    @expose("/list/")
    @expose("/list/<pk>")
    @has_access
    def list(self, pk=None):
        if pk is not None and self.get_item(pk) is None:
            abort(404)  # FAB loads the master without base_filters (GUIDE 2.7)
        return super().list(pk)
