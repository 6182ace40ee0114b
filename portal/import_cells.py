"""Import files cell by cell: headers matched to columns (the column's name, or its label in English or Chinese),
each cell read by its field's type (dates, amounts, whole numbers, yes/no, choices by value or label), references
left as key text for portal.importer to find in bulk; and what each column takes, for the kind's page and the
template's notes."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import mongoengine as me
from flask_babel import force_locale, gettext

from models.common import absurd
from portal import sheets
from portal.import_files import MAX_CELL, template
from portal.imports import ImportColumn, ImportSpec, label_of, resolve_field

_EXCEL_EPOCH = dt.date(1899, 12, 30)
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]00:00(?::00)?)?$")
_TRUE = {"1", "y", "yes", "true", "x", "是", "√", "✓", "对"}
_FALSE = {"0", "n", "no", "false", "否", "×", "不"}


@dataclass
class Problem:
    row: int  # as in the file: the header is row 1
    column: str  # the header as written in the file (or the column's label)
    message: str


@dataclass
class Row:
    number: int
    cells: dict = field(default_factory=dict)  # column field -> parsed value (None: blank)
    headers: dict = field(default_factory=dict)  # column field -> header as written
    problems: list = field(default_factory=list)


@dataclass(frozen=True)
class Ref:
    """A reference cell before its record is found: the key text."""

    text: str


# ---- headers and cells ----------------------------------------------------------------------------------------
def _norm(text) -> str:
    return re.sub(r"\s+", " ", str(text or "").replace("\u3000", " ")).strip().strip("*＊").strip().casefold()


_ALIASES: dict[str, dict[str, ImportColumn]] = {}


def aliases(spec: ImportSpec) -> dict[str, ImportColumn]:
    """Every header a column is known by: its name, its field and its label in English and Chinese."""
    if spec.kind not in _ALIASES:
        names: dict[str, ImportColumn] = {}
        for column in spec.columns:
            options = [column.name or column.field, column.field]
            for locale in ("en", "zh"):
                with force_locale(locale):
                    options.append(str(label_of(spec, column)))
            for option in options:
                names.setdefault(_norm(option), column)
        _ALIASES[spec.kind] = names
    return _ALIASES[spec.kind]


def cell_text(value) -> str:
    """A cell as text: whole numbers without ".0", dates as 2026-05-20; a formula our exports wrote as text
    (a leading apostrophe) loses the apostrophe again."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    if text.startswith("'") and text[1:2] in sheets.FORMULA_START:
        text = text[1:]
    return text


def map_header(spec: ImportSpec, header: list) -> tuple[dict[int, ImportColumn], list[Problem]]:
    """Which column each header cell is; unknown, repeated and missing required columns are problems of row 1."""
    known, mapping, problems, seen = aliases(spec), {}, [], set()
    for index, cell in enumerate(header):
        text = cell_text(cell)
        if not text:
            continue
        column = known.get(_norm(text))
        if column is None:
            problems.append(Problem(1, text, gettext("This is not a column of this import: the template shows the "
                                                     "columns it takes.")))
        elif column.field in seen:
            problems.append(Problem(1, text, gettext("This column appears twice.")))
        else:
            mapping[index] = column
            seen.add(column.field)
    for column in spec.columns:
        if column.required and column.field not in seen:
            problems.append(Problem(1, str(label_of(spec, column)),
                                    gettext("The file has no column for this required field.")))
    return mapping, problems


def parse_cell(spec: ImportSpec, column: ImportColumn, value):
    """The value a cell gives its field (None when blank), or a Ref to look up; raises ValueError(message)."""
    _top, leaf = resolve_field(spec.document, column.field)
    text = cell_text(value)
    if text == "":
        return None
    if len(text) > MAX_CELL:
        raise ValueError(gettext("The text is too long. A cell holds at most %(count)s characters.", count=MAX_CELL))
    if isinstance(leaf, me.ReferenceField):
        return Ref(column.parser(text) if column.parser else text)
    if column.parser:
        return column.parser(text)
    if isinstance(leaf, me.BooleanField):
        return _boolean(value, text)
    if leaf.choices:
        return _choice(leaf.choices, text)
    if isinstance(leaf, me.DateField):
        return _date(value, text)
    if isinstance(leaf, me.IntField):
        return _integer(value, text)
    if isinstance(leaf, me.DecimalField | me.FloatField):
        return _number(value, text)
    return text


def _boolean(value, text: str) -> bool:
    if isinstance(value, bool):
        return value
    word = text.casefold()
    if word in _TRUE or word == gettext("Yes").casefold():
        return True
    if word in _FALSE or word == gettext("No").casefold():
        return False
    raise ValueError(gettext("Write yes or no."))


_CHOICE_WORDS: dict[int, dict[str, str]] = {}


def _choice(options, text: str):
    """A choice by its stored value or its label in English or Chinese."""
    words = _CHOICE_WORDS.get(id(options))
    if words is None:
        words = {}
        for option in options:
            key, label = option if isinstance(option, tuple | list) else (option, option)
            for locale in ("en", "zh"):
                with force_locale(locale):
                    words.setdefault(_norm(label), key)
            words[_norm(key)] = key
        _CHOICE_WORDS[id(options)] = words
    found = words.get(_norm(text))
    if found is not None:
        return found
    shown = " / ".join(str(o[1] if isinstance(o, tuple | list) else o) for o in options)
    raise ValueError(f"{gettext('Not a valid choice.')} {gettext('Choose one of: %(values)s.', values=shown[:300])}")


def _date(value, text: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value < 2958466:
        return _EXCEL_EPOCH + dt.timedelta(days=int(value))  # a date cell the workbook stored as its serial number
    match = _DATE.match(text) or (re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text) if len(text) == 8 else None)
    try:
        if match:
            return dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        pass
    raise ValueError(gettext("Write the date as 2026-05-20."))


def _integer(value, text: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        cleaned = text.replace(",", "").replace(" ", "")
        if not re.fullmatch(r"[+-]?\d{1,16}(\.0*)?", cleaned):
            raise ValueError(gettext("Enter a whole number."))
        number = int(cleaned.split(".")[0])
    if abs(number) >= 10**15:
        raise ValueError(gettext("The number is too large."))
    return number


def _number(value, text: str) -> Decimal:
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = repr(value)
    cleaned = re.sub(r"[\s,¥￥]", "", text)
    if len(cleaned) > 40:
        raise ValueError(gettext("Enter a number."))
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(gettext("Enter a number.")) from None
    if absurd(number):
        raise ValueError(gettext("Enter a number."))
    return number


def parse_rows(spec: ImportSpec, mapping: dict[int, ImportColumn], headers: dict[int, str],
               body: list[tuple[int, list]]) -> list[Row]:
    """Every data row's cells read by their column (references still to be found)."""
    rows = []
    for number, cells in body:
        row = Row(number)
        for index, column in mapping.items():
            header = row.headers[column.field] = headers[index]
            value = cells[index] if index < len(cells) else None
            try:
                row.cells[column.field] = parse_cell(spec, column, value)
            except ValueError as exc:
                row.problems.append(Problem(number, header, str(exc)))
                continue
            if row.cells[column.field] is None and column.required:
                row.problems.append(Problem(number, header, gettext("This field is required.")))
        rows.append(row)
    return rows


# ---- what each column takes: the kind's page and the template's notes ----------------------------------------
def describe(spec: ImportSpec, column: ImportColumn) -> str:
    """What to enter in a column, in the user's language."""
    _top, leaf = resolve_field(spec.document, column.field)
    parts = [str(column.hint)] if column.hint is not None else []
    if isinstance(leaf, me.ReferenceField) and not parts:
        key = leaf.document_type._fields[column.key]
        parts.append(gettext("The %(key)s of a record on file.", key=str(getattr(key, "verbose_name", column.key))))
    elif isinstance(leaf, me.BooleanField):
        parts.append(gettext("Yes or no."))
    elif getattr(leaf, "choices", None):
        labels = [str(o[1] if isinstance(o, tuple | list) else o) for o in leaf.choices]
        parts.append(gettext("One of: %(values)s.", values=" / ".join(labels)))
    elif isinstance(leaf, me.DateField):
        parts.append(gettext("A date, e.g. 2026-05-20."))
    elif isinstance(leaf, me.IntField):
        parts.append(gettext("A whole number."))
    elif isinstance(leaf, me.DecimalField):
        parts.append(gettext("An amount, e.g. 1200.50."))
    elif getattr(leaf, "max_length", None) and not parts:
        parts.append(gettext("Text, up to %(count)s characters.", count=leaf.max_length))
    return " ".join(parts)


def template_bytes(spec: ImportSpec, fmt: str) -> bytes:
    """An empty file to fill in: the headers in the user's language (XLSX: with a sheet of notes)."""
    header = [str(label_of(spec, c)) for c in spec.columns]
    notes = [[str(label_of(spec, c)), gettext("Yes") if c.required else gettext("No"), describe(spec, c)]
             for c in spec.columns]
    return template(header, notes, fmt, title=spec.kind)
