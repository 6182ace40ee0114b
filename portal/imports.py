"""What can be imported in bulk (issue 9 item 4): one `ImportSpec` per collection, declared here, read by
portal.importer (checking and writing) and views.imports (the pages).

A spec names the Document, the view whose permissions, data scope and hooks (`place`, `pre_add`, `pre_update`)
apply, exactly as on its form, the natural key that finds the record a row updates, and the columns. A column
fills one field; a reference is written as the referenced record's natural key (a unit by its code, an employee
by number). Headers may be the column's name or its label in Chinese or English.

A later area joins by declaring its spec with `register(ImportSpec(...))` at import time of its portal module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l
from mongoengine import EmbeddedDocumentField, ListField, ReferenceField

from models.customers import Customer
from models.finance import Budget
from models.org import Employee
from models.products import Product, StockItem
from models.receivables import Receivable


@dataclass(frozen=True)
class ImportColumn:
    """One column of an import file and the field it fills.

    `field` is a field of the Document; `"contacts.0.phone"` is a field of the first line of a list of embedded
    lines and `"quarters.0"` the first item of a list. A reference (ReferenceField) is named in the file by the
    referenced record's `key` field; `within` names a field of the row whose record the reference must belong to
    (a position of the row's unit). `parser` turns the cell's text into the value (raise ValueError with a message
    the user may read); by default the field's type decides.
    """

    field: str
    required: bool = False
    label: Any = None  # default: the field's verbose_name
    name: str | None = None  # the header that is accepted in any language (default: the field)
    key: str | None = None  # for a reference: the referenced record's field the file names it by
    within: str | None = None
    parser: Callable[[str], Any] | None = None
    hint: Any = None  # how to fill the column, for the template's notes


@dataclass(frozen=True)
class ImportSpec:
    """A collection that clerks load in bulk."""

    kind: str  # in URLs: /import/<kind>/
    label: Any
    document: type
    view: str  # class name of the view whose permissions, scope and hooks apply
    natural_keys: tuple[tuple[str, ...], ...]  # fields that find the record a row updates; alternatives in order
    columns: tuple[ImportColumn, ...]
    importer_field: str | None = None  # an Employee reference that new records get the importer in (requested_by)
    # the form's rules on what this user may see and change of a stored record, which the form applies to what it
    # showed them: called with the record once the row's cells are set, and the stored copy; raises ValidationError
    guard: Callable[[Any, dict], None] | None = None
    note: Any = None  # one sentence on the kind's page
    _by_field: dict = field(default_factory=dict, compare=False, repr=False)

    def column(self, field_name: str) -> ImportColumn | None:
        """The column that fills `field_name`, if the spec has one."""
        if not self._by_field:
            self._by_field.update({c.field: c for c in self.columns})
        return self._by_field.get(field_name)


def resolve_field(document, dotted: str):
    """(top-level field, the field that holds the value) of a column's `field`; raises KeyError if there is none."""
    name, *rest = dotted.split(".")
    top = document._fields[name]
    leaf = top
    while rest:
        index, *rest = rest
        if not isinstance(leaf, ListField) or not index.isdigit():
            raise KeyError(dotted)
        leaf = leaf.field
        if rest:
            if not isinstance(leaf, EmbeddedDocumentField):
                raise KeyError(dotted)
            sub, *rest = rest
            leaf = leaf.document_type._fields[sub]
    return top, leaf


def label_of(spec: ImportSpec, column: ImportColumn):
    """The column's header in the user's language: its own label, else its field's."""
    if column.label is not None:
        return column.label
    _top, leaf = resolve_field(spec.document, column.field)
    return getattr(leaf, "verbose_name", None) or column.field


SPECS: dict[str, ImportSpec] = {}
PERMISSION = ("can_import", "Import")  # the import pages; each kind also needs can_add on its view


def register(spec: ImportSpec) -> ImportSpec:
    """Offer `spec` for import; a column naming no field, or a reference without its key, fails at start."""
    for column in spec.columns:
        _top, leaf = resolve_field(spec.document, column.field)
        if isinstance(leaf, ReferenceField) and not column.key:
            raise ValueError(f"{spec.kind}.{column.field}: a reference column needs the key it is written by")
    for key in spec.natural_keys:
        missing = [f for f in key if spec.column(f) is None]
        if missing:
            raise ValueError(f"{spec.kind}: natural key fields without a column: {missing}")
    SPECS[spec.kind] = spec
    return spec


def spec_for_view(view_name: str) -> ImportSpec | None:
    """The spec that imports into the view class `view_name`, if there is one."""
    return next((spec for spec in SPECS.values() if spec.view == view_name), None)


def link_for(view) -> str | None:
    """The import page of a list view's collection, when there is one and the user may import into it."""
    spec = spec_for_view(type(view).__name__)
    sm = view.appbuilder.sm
    if spec is None or not sm.has_access(*PERMISSION) or not sm.has_access("can_add", view.class_permission_name):
        return None
    return url_for("ImportView.kind", kind=spec.kind)


def upper(text: str) -> str:
    """Codes are stored in capitals (a product code, a customer number)."""
    return text.strip().upper()


def _customer_guard(customer, stored: dict) -> None:
    """A customer whose contacts the user sees masked keeps its phone and e-mail and its owner (portal.customers)."""
    from flask import current_app

    from portal import customers

    customers.guard_import(customer, stored, current_app.appbuilder.sm.has_access)


_UNIT = {"key": "code", "hint": _l("The org unit's code, e.g. BR-SALES.")}
_MASKED = _l("A customer whose contacts you see masked keeps the phone and e-mail on file, whatever this column says.")
_PERSON = {"key": "employee_no", "hint": _l("The employee number, e.g. E0011.")}

# ---- the collections clerks load in bulk -------------------------------------------------------------------
register(ImportSpec(
    "customers", _l("Customers"), Customer, "CustomerView", natural_keys=(("code",), ("name",)),
    guard=_customer_guard,
    note=_l("A row with a customer number updates that customer; without one, the customer of the same name is "
            "updated, or a new one is added and numbered."),
    columns=(
        ImportColumn("code", parser=upper, hint=_l("Leave empty for a new customer.")),
        ImportColumn("name", required=True), ImportColumn("kind"), ImportColumn("industry"), ImportColumn("region"),
        ImportColumn("source"), ImportColumn("customer_class"), ImportColumn("status"),
        ImportColumn("owner", required=True, **_PERSON), ImportColumn("key_account"),
        ImportColumn("key_owner", **_PERSON),
        ImportColumn("contacts.0.name", label=_l("Contact name"), name="contact_name"),
        ImportColumn("contacts.0.title", label=_l("Contact title"), name="contact_title"),
        ImportColumn("contacts.0.phone", label=_l("Contact phone"), name="contact_phone", hint=_MASKED),
        ImportColumn("contacts.0.email", label=_l("Contact e-mail"), name="contact_email", hint=_MASKED),
        ImportColumn("needs"), ImportColumn("preferences"),
    )))

register(ImportSpec(
    "products", _l("Products"), Product, "ProductView", natural_keys=(("code",),),
    columns=(
        ImportColumn("code", required=True, parser=upper), ImportColumn("name", required=True),
        ImportColumn("category", required=True), ImportColumn("spec"),
        ImportColumn("unit", label=_l("Unit of measure")),  # "Unit" alone reads as an org unit in Chinese
        ImportColumn("standard_price", required=True), ImportColumn("unit_cost", required=True),
        ImportColumn("quality_standard"), ImportColumn("active"),
    )))

register(ImportSpec(
    "employees", _l("Employees"), Employee, "EmployeeView", natural_keys=(("employee_no",),),
    note=_l("A manager or upline must be on file before the people who report to them: import them first."),
    columns=(
        ImportColumn("employee_no", required=True), ImportColumn("name", required=True), ImportColumn("gender"),
        ImportColumn("phone"), ImportColumn("email"), ImportColumn("owner_unit", required=True, **_UNIT),
        ImportColumn("position", key="name", within="owner_unit", hint=_l("A position of the employee's unit.")),
        ImportColumn("manager", **_PERSON), ImportColumn("hire_date"), ImportColumn("status"),
        ImportColumn("staff_kind"), ImportColumn("agent_tier", key="name", hint=_l("The tier's name.")),
        ImportColumn("region"), ImportColumn("upline", **_PERSON),
    )))

register(ImportSpec(
    "stock", _l("Stock"), StockItem, "StockItemView", natural_keys=(("product", "warehouse", "batch"),),
    note=_l("One row per product, warehouse and batch; reserved units are never imported."),
    columns=(
        ImportColumn("product", required=True, key="code", parser=upper, hint=_l("The product code.")),
        ImportColumn("warehouse", required=True), ImportColumn("batch"), ImportColumn("quantity", required=True),
        ImportColumn("reorder_level"), ImportColumn("max_level"), ImportColumn("received_on"),
        ImportColumn("owner_unit", **_UNIT),
    )))

register(ImportSpec(
    "budgets", _l("Budgets"), Budget, "BudgetView", natural_keys=(("year", "owner_unit", "kind", "category"),),
    importer_field="requested_by",
    note=_l("Imported budget lines are drafts: each is submitted for approval from its page."),
    columns=(
        ImportColumn("year", required=True), ImportColumn("owner_unit", required=True, **_UNIT),
        ImportColumn("kind"), ImportColumn("category", required=True),
        ImportColumn("annual_amount", required=True),
        *(ImportColumn(f"quarters.{n}", label=label, name=f"q{n + 1}")
          for n, label in enumerate((_l("Q1"), _l("Q2"), _l("Q3"), _l("Q4")))),
        ImportColumn("note"),
    )))

register(ImportSpec(
    "receivables", _l("Opening receivables"), Receivable, "ReceivableView", natural_keys=(("opening_ref",),),
    note=_l("What customers still owe from the previous books, one row per open invoice; its reference there "
            "keeps a second import from adding it twice."),
    columns=(
        ImportColumn("opening_ref", required=True, hint=_l("The invoice or voucher number in the previous books.")),
        ImportColumn("customer", required=True, key="code", parser=upper, hint=_l("The customer number.")),
        ImportColumn("owner", required=True, **_PERSON), ImportColumn("amount", required=True),
        ImportColumn("due_date", required=True), ImportColumn("terms"), ImportColumn("note"),
    )))
