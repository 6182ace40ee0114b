"""Bulk import (issue 9 item 4): check a file's rows the way the record's form would, then write all or none.

Cells are read by portal.import_cells and jobs run by portal.import_jobs; this module holds the rules. References
are found by their natural key with one query per referenced collection, and the records the rows update with one
query per natural key, whatever the number of rows. Each row then goes through the target view's hooks
(`pre_add`/`pre_update`: the record is placed in the user's scope as the form would place it) and the Document's
validation, so the messages are the form's. A dry run reports every bad cell by row (as in the file: the header is
row 1) and column, and writes nothing. A commit checks everything again, then writes row by row (each save audited
by the signals); if a write fails, what this import wrote is undone: inserted records deleted, updated ones
restored from the copy read before.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import mongoengine as me
from flask import current_app
from flask_babel import gettext
from pymongo.errors import DuplicateKeyError

from models.common import Numbered, OwnedDocument, StaleRecord
from models.org import Employee, OrgUnit
from portal import audit, scope
from portal.approvals import Refused as ActionRefused
from portal.compat import flatten_errors, lookup_of, user_message
from portal.import_cells import Problem, Ref, Row, cell_text, map_header, parse_rows
from portal.imports import PERMISSION, ImportColumn, ImportSpec, label_of, resolve_field

log = logging.getLogger(__name__)


@dataclass
class Write:
    row: int
    doc: me.Document
    before: dict | None  # the stored record before this import (None: a new one)


@dataclass
class Plan:
    """A checked file: what would be written, and what is wrong."""

    total: int = 0
    problems: list = field(default_factory=list)
    writes: list = field(default_factory=list)
    unchanged: int = 0

    @property
    def creates(self) -> int:
        return sum(1 for w in self.writes if w.before is None)


class WriteFailed(Exception):
    def __init__(self, row: int, message: str):
        super().__init__(message)
        self.row, self.message = row, message


# ---- references and existing records: one query per collection ----------------------------------------------
class _Loaded:
    """Records read for this import, by collection and id, so that none is read twice."""

    def __init__(self):
        self.by_type: dict[type, dict] = {}

    def add(self, document_type, docs) -> None:
        self.by_type.setdefault(document_type, {}).update({d.pk: d for d in docs})

    def attach(self, docs: list, name: str, document_type) -> None:
        """Resolve reference `name` of `docs` from what is loaded, reading the missing ones in one query."""
        known = self.by_type.setdefault(document_type, {})
        values = [doc._data.get(name) for doc in docs]
        wanted = {getattr(v, "id", v) for v in values if v is not None and not isinstance(v, me.Document)}
        missing = [pk for pk in wanted - set(known) if pk is not None]
        if missing:
            self.add(document_type, document_type.objects(pk__in=missing))
        for doc in docs:
            value = doc._data.get(name)
            if value is not None and not isinstance(value, me.Document):
                doc._data[name] = known.get(getattr(value, "id", value))

    def attach_all(self, docs: list, document_type) -> None:
        """Every reference of `docs`, and the unit of every record they refer to (what `place` and clean() read)."""
        for name, field_ in document_type._fields.items():
            if isinstance(field_, me.ReferenceField) and docs:
                self.attach(docs, name, field_.document_type)
                referred = [d._data.get(name) for d in docs if isinstance(d._data.get(name), OwnedDocument)]
                if referred and field_.document_type is not OrgUnit:
                    self.attach(referred, "owner_unit", OrgUnit)


def resolve_references(spec: ImportSpec, rows: list[Row], loaded: _Loaded) -> None:
    """Replace every reference cell by its record: one query per referenced collection and key."""
    groups: dict[tuple, set] = {}
    for column in spec.columns:
        _top, leaf = resolve_field(spec.document, column.field)
        if isinstance(leaf, me.ReferenceField):
            texts = {r.cells[column.field].text for r in rows if isinstance(r.cells.get(column.field), Ref)}
            if texts:
                groups.setdefault((leaf.document_type, column.key), set()).update(texts)
    found: dict[tuple, dict] = {}
    for (document_type, key), texts in groups.items():
        query = document_type.objects(**{f"{key}__in": sorted(texts)})
        lookup = lookup_of(document_type)
        restrict = lookup.restrict() if lookup is not None and lookup.restrict else None
        docs = list(query.filter(restrict) if restrict is not None else query)
        loaded.add(document_type, docs)
        if issubclass(document_type, OwnedDocument):
            loaded.attach(docs, "owner_unit", OrgUnit)
        index: dict = {}
        for doc in docs:
            index.setdefault(str(getattr(doc, key)), []).append(doc)
        found[(document_type, key)] = index
    ordered = sorted(spec.columns, key=lambda c: c.within is not None)  # a position after the unit it sits in
    for row in rows:
        for column in ordered:
            value = row.cells.get(column.field)
            if isinstance(value, Ref):
                _top, leaf = resolve_field(spec.document, column.field)
                candidates = found[(leaf.document_type, column.key)].get(value.text, [])
                row.cells[column.field] = _pick(spec, row, column, candidates, value.text)


def _pick(spec: ImportSpec, row: Row, column: ImportColumn, candidates: list, text: str):
    key_label = str(getattr(resolve_field(spec.document, column.field)[1].document_type._fields[column.key],
                            "verbose_name", None) or column.key)
    if column.within:
        owner = row.cells.get(column.within)
        candidates = [c for c in candidates if owner is not None
                      and getattr(c._data.get("owner_unit"), "pk", None) == getattr(owner, "pk", owner)]
    if len(candidates) == 1:
        return candidates[0]
    header = row.headers.get(column.field, column.field)
    if not candidates:
        message = gettext("Nothing on file has this %(key)s: %(value)s.", key=key_label, value=text[:80])
    else:
        message = gettext("More than one record has this %(key)s: %(value)s.", key=key_label, value=text[:80])
    row.problems.append(Problem(row.number, header, message))
    return None


def _key_value(spec: ImportSpec, row: Row, name: str):
    """The stored form of a row's key field (the field's default when the cell is blank), or None."""
    value = row.cells.get(name)
    field_ = spec.document._fields[name]
    if value is None:
        value = field_.default() if callable(field_.default) else field_.default
    if value is None:
        return None
    return value.pk if isinstance(value, me.Document) else field_.to_mongo(value)


def existing_records(spec: ImportSpec, rows: list[Row], loaded: _Loaded,
                     sees: Callable[[dict], bool] | None = None) -> tuple[dict[tuple, list], set[tuple]]:
    """The stored records in the user's scope (`sees`) the rows name by natural key, one query per key:
    ({(key fields, key values): [raw, ...]}, the keys that only records outside the scope have). What lies
    outside the scope is not read any further: a row naming it is treated as naming nothing on file."""
    collection = spec.document._get_collection()
    found: dict[tuple, list] = {}
    hidden: set[tuple] = set()
    for key in spec.natural_keys:
        values = [tuple(_key_value(spec, row, f) for f in key) for row in rows]
        values = [v for v in values if None not in v]
        if not values:
            continue
        dbs = [spec.document._fields[f].db_field for f in key]
        where = {db: {"$in": sorted({v[n] for v in values}, key=str)} for n, db in enumerate(dbs)}
        wanted = set(values)
        for raw in collection.find(where):
            stored = tuple(raw.get(db, _key_value(spec, Row(0), f)) for db, f in zip(dbs, key, strict=True))
            if stored not in wanted:
                continue
            if sees is not None and not sees(raw):
                hidden.add((key, stored))
            else:
                found.setdefault((key, stored), []).append(raw)
    docs = {raw["_id"]: spec.document._from_son(raw) for raws in found.values() for raw in raws}
    loaded.add(spec.document, docs.values())
    loaded.attach_all(list(docs.values()), spec.document)
    return found, hidden


# ---- checking a file ----------------------------------------------------------------------------------------
def view_for(spec: ImportSpec):
    """The registered view whose permissions, scope and hooks an import of `spec` uses."""
    view = next((v for v in current_app.appbuilder.baseviews if type(v).__name__ == spec.view), None)
    if view is None:
        raise LookupError(f"import {spec.kind}: no view {spec.view}")
    return view


def may_import(spec: ImportSpec) -> bool:
    """The user may import this kind: the import page, and adding records on the target view's form."""
    sm = current_app.appbuilder.sm
    return sm.has_access(*PERMISSION) and sm.has_access("can_add", view_for(spec).class_permission_name)


def check(spec: ImportSpec, rows: list[list], progress: Callable[[int], None] | None = None) -> Plan:
    """Parse and validate every row of a file (header first); nothing is written."""
    header, body = rows[0], rows[1:]
    filled = [(n + 2, cells) for n, cells in enumerate(body) if any(cell_text(c) for c in cells)]
    plan = Plan(total=len(filled))
    mapping, plan.problems = map_header(spec, header)
    if plan.problems:
        return plan
    if not filled:
        plan.problems.append(Problem(2, "", gettext("The file has no rows to import.")))
        return plan
    loaded = _Loaded()
    parsed = parse_rows(spec, mapping, {i: cell_text(header[i])[:120] for i in mapping}, filled)
    resolve_references(spec, parsed, loaded)
    view = view_for(spec)
    stored, hidden = existing_records(spec, parsed, loaded, getattr(view, "sees", None))
    checker = _RowChecker(spec, view, stored, hidden, loaded, plan)
    for n, row in enumerate(parsed, start=1):
        checker.check(row)
        if progress is not None:
            progress(n)
    return plan


class _RowChecker:
    """Checks rows one by one against the stored records and the target view's rules."""

    def __init__(self, spec: ImportSpec, view, stored: dict, hidden: set, loaded: _Loaded, plan: Plan):
        self.spec, self.view, self.loaded, self.plan = spec, view, loaded, plan
        self.stored, self.hidden = stored, hidden
        self.can_edit = current_app.appbuilder.sm.has_access("can_edit", self.view.class_permission_name)
        self.seen_keys: dict[tuple, int] = {}
        self.seen_ids: dict = {}
        self._me: Employee | None = None

    def check(self, row: Row) -> None:
        self._check(row)
        self.plan.problems.extend(_distinct(row.problems))

    def _check(self, row: Row) -> None:
        """Every cell of the row is checked, also when another one could not be read (that one counts as blank,
        and only its own message is kept for its column); a row with a problem is never written."""
        failed, before = bool(row.problems), len(row.problems)
        raw = self._record(row)
        if len(row.problems) > before:
            return
        doc = self.spec.document() if raw is None else self.loaded.by_type[self.spec.document][raw["_id"]]
        if raw is None and self.spec.importer_field and getattr(doc, self.spec.importer_field) is None:
            setattr(doc, self.spec.importer_field, self.me())
        touched = apply_cells(doc, self.spec, row.cells)
        if raw is not None and self.spec.guard is not None:
            try:  # before any comparison: what the user may not see or change is compared and kept as stored
                self.spec.guard(doc, raw)
            except me.ValidationError as exc:
                self._errors(row, exc)
                failed = True
        if raw is not None and not failed:
            mongo = doc.to_mongo()
            if all(mongo.get(doc._fields[n].db_field) == raw.get(doc._fields[n].db_field) for n in touched):
                self.plan.unchanged += 1  # an identical row changes nothing (and needs no right to edit)
                return
            if not self.can_edit:
                self._problem(row, "", gettext("You may add these records but not change them."))
                return
        if not self._validate(row, doc, raw is None) or failed:
            return
        if raw is not None and not audit.changes_of(doc, raw, doc.to_mongo().to_dict()):
            self.plan.unchanged += 1
            return
        self.plan.writes.append(Write(row.number, doc, raw))

    def me(self) -> Employee | None:
        if self._me is None and scope.current_employee_id() is not None:
            self._me = Employee.objects(pk=scope.current_employee_id()).first()
        return self._me

    def _problem(self, row: Row, field_name: str, message: str) -> None:
        column = self.spec.column(field_name)
        header = row.headers.get(field_name) or (str(label_of(self.spec, column)) if column else "")
        row.problems.append(Problem(row.number, header, message))

    def _record(self, row: Row) -> dict | None:
        """The stored record in the user's scope the row updates (None: a new one); a repeated key is a problem.

        A record outside the scope is not named: a number the portal hands out reads as not on file, a value
        that must be unique is refused as taken (as the form's save would), any other key adds a new record
        (the Document's own rules then apply, as on the form)."""
        for key in self.spec.natural_keys:
            values = tuple(_key_value(self.spec, row, f) for f in key)
            if None in values:
                continue
            if (key, values) in self.seen_keys:
                self._problem(row, key[0], gettext("Row %(row)s has the same %(key)s: a record is imported once.",
                                                   row=self.seen_keys[(key, values)], key=self._key_label(key)))
                return None
            self.seen_keys[(key, values)] = row.number
            raws = self.stored.get((key, values), [])
            if len(raws) > 1:
                shown = " / ".join(str(row.cells.get(f)) for f in key)[:80]
                self._problem(row, key[0], gettext("More than one record has this %(key)s: %(value)s.",
                                                   key=self._key_label(key), value=shown))
                return None
            raw = raws[0] if raws else None
            if raw is None and _generated(self.spec.document, key):
                self._problem(row, key[0], gettext("Nothing on file has this number: leave it empty to add a new "
                                                   "record."))
                return None
            if raw is None and (key, values) in self.hidden and _unique(self.spec.document, key):
                self._problem(row, key[0], gettext("A record with this value already exists."))
                return None
            if raw is None:
                return None
            if raw["_id"] in self.seen_ids:
                self._problem(row, key[0], gettext("Row %(row)s already updates this record.",
                                                   row=self.seen_ids[raw["_id"]]))
                return None
            self.seen_ids[raw["_id"]] = row.number
            return raw
        return None

    def _key_label(self, key: tuple[str, ...]) -> str:
        return " + ".join(str(label_of(self.spec, self.spec.column(f))) for f in key)

    def _validate(self, row: Row, doc, new: bool) -> bool:
        """The form's rules: the view's hooks place the record in the user's scope, then the Document validates
        (also after a hook refused the row, so that every bad cell is reported)."""
        ok = True
        try:
            (self.view.pre_add if new else self.view.pre_update)(doc)
        except me.ValidationError as exc:
            self._errors(row, exc)
            ok = False
        except (scope.ScopeDenied, ActionRefused) as exc:
            self._problem(row, "", user_message(getattr(exc, "message", exc)))
            ok = False
        try:
            doc.validate()
        except me.ValidationError as exc:
            self._errors(row, exc)
            return False
        except Exception:  # a Document rule that cannot run on a record its hooks refused: that refusal stands
            if ok:
                raise
            log.debug("Validation after a refused hook failed (row %s)", row.number, exc_info=True)
        return ok

    def _errors(self, row: Row, exc: me.ValidationError) -> None:
        for key, message in flatten_errors(exc).items():
            name = self._field_of(key)
            self._problem(row, name, self._readable(name, message))

    def _readable(self, field_name: str, message: str) -> str:
        """mongoengine's conversion errors (a list padded, a value it cannot turn into a number) read as the
        cell parser's: "Enter a number." next to the column."""
        column = self.spec.column(field_name) if field_name else None
        if column is None:
            return message
        _top, leaf = resolve_field(self.spec.document, column.field)
        numeric = isinstance(leaf, me.DecimalField | me.FloatField | me.IntField)
        if numeric and (_CONVERSION.search(message) or message == gettext("Invalid value.")):
            return gettext("Enter a number.")
        return message

    def _field_of(self, error_key: str) -> str:
        """The column a validation error belongs to: its field, the first column inside it, or the row."""
        dotted = error_key.replace("-", ".")
        if self.spec.column(dotted):
            return dotted
        inside = next((c.field for c in self.spec.columns if c.field.startswith(dotted + ".")), None)
        return inside or ""


_CONVERSION = re.compile(r"convert|only accepts", re.I)


def _distinct(problems: list[Problem]) -> list[Problem]:
    """One message per cell (the first: a cell that could not be read is not also "required"), and no message
    twice for the row."""
    seen, out = set(), []
    for problem in problems:
        mark = (problem.row, problem.column) if problem.column else (problem.row, "", problem.message)
        if mark not in seen:
            seen.add(mark)
            out.append(problem)
    return out


def _generated(document, key: tuple[str, ...]) -> bool:
    """A key the portal hands out itself (a customer number): a value that is not on file is a mistake."""
    return issubclass(document, Numbered) and key == (document.number_field,)


def _unique(document, key: tuple[str, ...]) -> bool:
    """A key no two records may share (a unique field or index): a record may not be added with it."""
    if len(key) == 1 and getattr(document._fields[key[0]], "unique", False):
        return True
    dbs = {document._fields[f].db_field for f in key}
    return any(index.get("unique") and {name for name, _order in index["fields"]} == dbs
               for index in document._meta.get("index_specs") or [])


def _blank(list_field):
    """What pads a list to the position a column fills: an empty line, or zero for an amount or a number (a
    blank quarter before a filled one is nothing, not a value mongoengine cannot read)."""
    inner = list_field.field
    if isinstance(inner, me.EmbeddedDocumentField):
        return inner.document_type()
    if isinstance(inner, me.DecimalField):
        return Decimal(0)
    if isinstance(inner, me.IntField | me.FloatField):
        return 0
    return None


def apply_cells(doc, spec: ImportSpec, cells: dict) -> set[str]:
    """Set the row's filled cells on the record; a blank cell keeps what is stored (a new record: the default).
    Returns the top-level fields set."""
    touched = set()
    for column in spec.columns:
        value = cells.get(column.field)
        if value is None:
            continue
        name, *path = column.field.split(".")
        touched.add(name)
        if not path:
            setattr(doc, name, value)
            continue
        top, _leaf = resolve_field(spec.document, name)
        items = list(getattr(doc, name) or [])
        index = int(path[0])
        while len(items) <= index:
            items.append(_blank(top))
        if len(path) == 1:
            items[index] = value
        else:
            setattr(items[index], path[1], value)
        setattr(doc, name, items)
    return touched


# ---- writing: all or nothing --------------------------------------------------------------------------------
def write(plan: Plan, view, progress: Callable[[int], None] | None = None) -> tuple[int, int]:
    """Save every checked record (each audited); if one fails, undo what was written and raise WriteFailed."""
    written: list[Write] = []
    current = None
    try:
        for current in plan.writes:
            current.doc.save()
            written.append(current)
            if progress is not None:
                progress(plan.unchanged + len(written))
    except Exception as exc:
        try:
            if _landed(current):  # saved, then something after the save failed (the audit entry): undo it too
                written.append(current)
        except Exception:  # the store cannot say: undo it as well (undo is conditional on the version it wrote)
            log.exception("Import: could not tell whether row %s was saved", current.row)
            if getattr(current.doc, "pk", None) is not None:
                written.append(current)
        log.warning("Import write failed at row %s: %r; undoing %s writes", current.row, exc, len(written))
        undo(written)
        raise WriteFailed(current.row, _write_message(exc)) from exc
    for done in written:  # the views' after-save steps run once every row is in
        try:
            (view.post_add if done.before is None else view.post_update)(done.doc)
        except Exception:
            log.exception("After-save step of an imported record failed (row %s)", done.row)
    created = sum(1 for w in written if w.before is None)
    return created, len(written) - created


def _landed(current: Write | None) -> bool:
    """Whether the failed row's record was saved after all (something after its save failed)."""
    doc = getattr(current, "doc", None)
    if doc is None or doc.pk is None:
        return False
    if current.before is not None and doc.version != (current.before.get("version") or 0) + 1:
        return False
    if current.before is None and doc._created:
        return False
    return type(doc)._get_collection().find_one({"_id": doc.pk, "version": doc.version}, {"_id": 1}) is not None


def _write_message(exc: Exception) -> str:
    if isinstance(exc, me.NotUniqueError | DuplicateKeyError):
        return gettext("A record with this value already exists.")
    if isinstance(exc, StaleRecord):
        return str(exc)
    if isinstance(exc, me.ValidationError):
        return "; ".join(flatten_errors(exc).values())
    return gettext("This row could not be saved.")


def undo(written: list[Write]) -> None:
    """Take back what an import wrote, newest first: delete what it inserted, put back what it changed (unless
    someone changed the record since), each audited."""
    note = "import undone"
    for done in reversed(written):
        doc = done.doc
        collection = type(doc)._get_collection()
        try:
            now = collection.find_one({"_id": doc.pk}) or {}
            if done.before is None:
                if collection.delete_one({"_id": doc.pk, "version": doc.version}).deleted_count:
                    audit.record("delete", doc, audit.changes_of(doc, now, {}), note=note)
                continue
            restored = {**done.before, "version": doc.version + 1}  # newer than any copy of the imported state
            if collection.replace_one({"_id": doc.pk, "version": doc.version}, restored).modified_count:
                audit.record("update", doc, audit.changes_of(doc, now, restored), note=note)
            else:
                log.warning("Import undo: %s %s was changed by someone else; left as it is", type(doc).__name__,
                            doc.pk)
        except Exception:
            log.exception("Import undo failed for %s %s", type(doc).__name__, doc.pk)
