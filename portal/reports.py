"""Dashboards (DOMAIN 7 "Reports", issue 9 item 2): declared once, rendered and downloaded by one view.

A `Dashboard` names its key, title, the clauses it implements, the permission that opens it (a permission on the
`Dashboards` view, given to roles in ROLE_TABLE), its filters, the views whose data scope its figures are limited
to, and a function that computes its `Panel`s from the filters and those scopes in a fixed number of queries
(PERFORMANCE.md: at most six, whatever the volume). A Panel is a table (columns and rows) with a chart spec: the
chart is drawn on the server (portal.charts), the table is shown beneath it and downloaded as CSV (portal.sheets).

Nothing here needs a request: the view parses the filters with `parse_params` and passes the scopes in, as raw
MongoDB filters from the views' `scope_raw()`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from babel.numbers import format_decimal
from bson import ObjectId
from flask_babel import lazy_gettext as _l

QUERY_BUDGET = 6  # data round-trips a dashboard may cost (PERFORMANCE.md), its unit list included
FILTERS = ("period", "year", "unit")
CHART_KINDS = ("bar", "stacked", "line", "donut")
COLUMN_KINDS = ("text", "int", "money", "decimal", "percent")
MAX_DAYS = 3700  # a period of at most ten years: one aggregation over a sane range
_KEY = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_FORMATS = {"int": "#,##0", "money": "#,##0.00", "decimal": "#,##0.0", "percent": "#,##0.0"}
TENTH, CENT = Decimal("0.1"), Decimal("0.01")

PERIOD_FORMAT = _l("Enter the dates as 2026-01-31.")
PERIOD_RANGE = _l("The period runs from the start to a later end, over at most ten years.")
PERIOD_YEARS = _l("Choose dates between 1900 and 2100.")
YEAR_FORMAT = _l("Write the year as 2026.")
UNIT_CHOICE = _l("Choose one of the units in the list.")


def _locale() -> str:
    """The user's language for number formats ('en' outside a request)."""
    try:
        from flask_babel import get_locale

        return str(get_locale() or "en")
    except (RuntimeError, AttributeError, KeyError):
        return "en"


# ---- what a dashboard shows ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    """One column of a panel's table: the row key it reads, its heading and how its numbers are written."""

    key: str
    label: Any
    kind: str = "text"

    def __post_init__(self) -> None:
        if self.kind not in COLUMN_KINDS:
            raise ValueError(f"column {self.key!r}: kind must be one of {COLUMN_KINDS}")

    @property
    def numeric(self) -> bool:
        return self.kind != "text"

    def display(self, value) -> str:
        """The cell as the table shows it, in the user's number format; a missing figure is a dash.

        >>> Column("amount", "Amount", "money").display(Decimal("1234.5"))
        '1,234.50'
        >>> Column("rate", "Rate", "percent").display(Decimal("12.25")), Column("n", "N", "int").display(None)
        ('12.3 %', '—')
        """
        if value is None or value == "":
            return "—" if self.numeric else ""
        if not self.numeric:
            return str(value)
        places = {"int": Decimal("1"), "money": CENT}.get(self.kind, TENTH)
        value = Decimal(str(value)).quantize(places, ROUND_HALF_UP)  # half up, as the figures are rounded
        text = format_decimal(value, format=_FORMATS[self.kind], locale=_locale())
        return f"{text} %" if self.kind == "percent" else text


@dataclass(frozen=True)
class Chart:
    """How a panel is drawn: `kind` (bar, stacked, line or donut), the column of the categories and the columns of
    the series. The first `limit` rows are drawn; the table beneath has them all."""

    kind: str
    category: str
    values: tuple[str, ...]
    limit: int = 12

    def __post_init__(self) -> None:
        if self.kind not in CHART_KINDS:
            raise ValueError(f"chart kind must be one of {CHART_KINDS}")
        if not self.values or (self.kind == "donut" and len(self.values) != 1):
            raise ValueError("a chart needs its value columns (a donut exactly one)")


@dataclass
class Panel:
    """A table with its chart: what one box of a dashboard shows and what its CSV holds."""

    key: str
    title: Any
    columns: tuple[Column, ...]
    rows: list[dict]
    chart: Chart | None = None
    note: Any = ""
    total: dict | None = None  # the footer row (also the last row of the CSV)

    def __post_init__(self) -> None:
        keys = {c.key for c in self.columns}
        if self.chart is not None and not {self.chart.category, *self.chart.values} <= keys:
            raise ValueError(f"panel {self.key!r}: the chart names a column the table does not have")

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    def header(self) -> list[str]:
        return [str(c.label) for c in self.columns]

    def cells(self, row: Mapping) -> list:
        return [row.get(c.key) for c in self.columns]

    def sheet_rows(self) -> list[list]:
        """The table as a spreadsheet holds it: raw numbers, the footer row last (as the page shows it: only under
        rows)."""
        return [self.cells(r) for r in [*self.rows, *([self.total] if self.total and self.rows else [])]]


@dataclass
class Params:
    """The filters of one dashboard page, already checked: the period, the year and the unit (with its subtree).
    `errors` holds a message per filter field the user got wrong; the page then shows the defaults."""

    start: dt.date
    end: dt.date
    year: int
    today: dt.date
    unit: ObjectId | None = None
    units: list | None = None  # the chosen unit and the units below it (None: no unit chosen)
    unit_names: dict = field(default_factory=dict)  # every unit read for the filter: id -> name
    unit_options: list = field(default_factory=list)  # (id, code, name) the user may pick
    errors: dict = field(default_factory=dict)

    @property
    def previous(self) -> tuple[dt.date, dt.date]:
        """The period of the same length just before this one (for "change against the previous period").

        >>> Params(dt.date(2026, 3, 1), dt.date(2026, 3, 31), 2026, dt.date(2026, 4, 1)).previous
        (datetime.date(2026, 1, 29), datetime.date(2026, 2, 28))
        """
        days = (self.end - self.start).days + 1
        return self.start - dt.timedelta(days=days), self.start - dt.timedelta(days=1)

    def where(self, scope: dict, match: dict | None = None, unit_field: str = "owner_unit") -> dict:
        """`match` within the user's scope and, when a unit is chosen, within that unit and the units below it."""
        parts = [part for part in (match, scope) if part]
        if self.units is not None and unit_field:
            parts.append({unit_field: {"$in": self.units}})
        return {} if not parts else parts[0] if len(parts) == 1 else {"$and": parts}

    def query(self, filters: Iterable[str]) -> dict:
        """The filters as URL arguments (the CSV links repeat the page's)."""
        args: dict = {}
        if "period" in filters:
            args |= {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if "year" in filters:
            args["year"] = self.year
        if "unit" in filters and self.unit is not None:
            args["unit"] = str(self.unit)
        return args


@dataclass(frozen=True)
class Dashboard:
    """A declared dashboard (see the module docstring). `compute(params, scopes)` returns its panels; `scopes` maps
    each name of `scopes` (a view's class_permission_name) to that view's raw scope filter for the user."""

    key: str
    title: Any
    description: Any
    clauses: tuple[str, ...]
    scopes: tuple[str, ...]
    compute: Callable[[Params, dict], list[Panel]]
    filters: tuple[str, ...] = ("period",)
    queries: int = QUERY_BUDGET  # data round-trips of `compute` plus the unit list, whatever the volume
    permission: str = ""  # the permission on `Dashboards` that opens it, without can_ (default: the key)
    icon: str = "fa-bar-chart"

    def __post_init__(self) -> None:
        if not _KEY.match(self.key):
            raise ValueError(f"dashboard key {self.key!r}: lower-case letters, digits and _")
        if set(self.filters) - set(FILTERS):
            raise ValueError(f"dashboard {self.key!r}: filters are among {FILTERS}")
        if not 1 <= self.queries <= QUERY_BUDGET:
            raise ValueError(f"dashboard {self.key!r}: at most {QUERY_BUDGET} queries (PERFORMANCE.md)")

    @property
    def permission_name(self) -> str:
        return f"can_{self.permission or self.key}"

    def panels(self, params: Params, scopes: dict) -> list[Panel]:
        return self.compute(params, scopes)


DASHBOARDS: dict[str, Dashboard] = {}


def register(dashboard: Dashboard) -> Dashboard:
    """Add a dashboard to the Reports menu's index (in declaration order). A key is registered once."""
    if DASHBOARDS.get(dashboard.key, dashboard) is not dashboard:
        raise ValueError(f"dashboard {dashboard.key!r} is declared twice")
    DASHBOARDS[dashboard.key] = dashboard
    return dashboard


def get(key: str) -> Dashboard | None:
    return DASHBOARDS.get(key)


# ---- the filters -------------------------------------------------------------------------------------------------
def default_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """The twelve months to today: from the first day of the month eleven months back.

    >>> default_period(dt.date(2026, 11, 22))
    (datetime.date(2025, 12, 1), datetime.date(2026, 11, 22))
    """
    month = today.year * 12 + today.month - 1 - 11
    return dt.date(month // 12, month % 12 + 1, 1), today


def _date(text: str) -> dt.date:
    if len(text) > 10:
        raise ValueError(text)
    return dt.date.fromisoformat(text)


def parse_params(dashboard: Dashboard, args: Mapping[str, str], today: dt.date, units: dict | None = None,
                 allowed: set | None = None) -> Params:
    """The dashboard's filters from the URL arguments. A wrong value is said next to its field (`errors`) and the
    default is used instead: never a 500. `units` is the org tree (id -> raw unit) read for the unit filter,
    `allowed` the units the user may pick (None: all of them)."""
    start, end = default_period(today)
    params = Params(start=start, end=end, year=today.year, today=today)
    if "period" in dashboard.filters:
        _period(params, args.get("start", "") or "", args.get("end", "") or "")
    if "year" in dashboard.filters:
        text = (args.get("year", "") or "").strip()
        if text:
            if text.isdigit() and len(text) == 4 and 2000 <= int(text) <= 2100:
                params.year = int(text)
            else:
                params.errors["year"] = YEAR_FORMAT
    if "unit" in dashboard.filters and units is not None:
        _unit(params, (args.get("unit", "") or "").strip(), units, allowed)
    return params


def _period(params: Params, start_text: str, end_text: str) -> None:
    start, end = params.start, params.end
    try:
        start = _date(start_text.strip()) if start_text.strip() else start
    except ValueError:
        params.errors["start"] = PERIOD_FORMAT
    try:
        end = _date(end_text.strip()) if end_text.strip() else end
    except ValueError:
        params.errors["end"] = PERIOD_FORMAT
    if params.errors:
        return
    if start.year < 1900 or end.year > 2100:  # and no date arithmetic near year 9999
        params.errors["start" if start.year < 1900 or start.year > 2100 else "end"] = PERIOD_YEARS
        return
    if end < start or (end - start).days > MAX_DAYS:
        params.errors["end"] = PERIOD_RANGE
        return
    params.start, params.end = start, end


def _unit(params: Params, text: str, units: dict, allowed: set | None) -> None:
    params.unit_names = {uid: u.get("name", "") for uid, u in units.items()}
    params.unit_options = sorted(((uid, u.get("code", ""), u.get("name", "")) for uid, u in units.items()
                                  if allowed is None or uid in allowed), key=lambda row: row[1])
    if not text:
        return
    chosen = ObjectId(text) if ObjectId.is_valid(text) else None
    if chosen is None or chosen not in units or (allowed is not None and chosen not in allowed):
        params.errors["unit"] = UNIT_CHOICE
        return
    params.unit = chosen
    params.units = sorted(uid for uid, u in units.items() if uid == chosen or chosen in (u.get("ancestors") or []))


def record_download(board: Dashboard, panel: Panel, params: Params) -> None:
    """One audit entry per CSV download: dashboards name salespeople and customers, and exports of such data are
    audited (issue 9 item 3). Who, when, which dashboard and panel, the number of rows and the filters."""
    from flask_babel import force_locale

    from models.audit import AuditEntry
    from portal import audit

    with force_locale("en"):
        label = f"{board.title} · {panel.title}"
    filters = ", ".join(f"{k}={v}" for k, v in params.query(board.filters).items()) or "defaults"
    AuditEntry(user=audit.current_actor(), action="export", collection="dashboards", record_id=board.key,
               record_label=label[:200], note=f"CSV {panel.key}, {len(panel.rows)} rows; filters: {filters}"[:1000]
               ).save()


# ---- small helpers the declarations share ------------------------------------------------------------------------
def percent(part, whole) -> Decimal | None:
    """`part` of `whole` in percent with one decimal (None when there is no whole).

    >>> percent(1, 3), percent(0, 0)
    (Decimal('33.3'), None)
    """
    if not whole:
        return None
    return (Decimal(str(part)) * 100 / Decimal(str(whole))).quantize(TENTH, ROUND_HALF_UP)


def change(now, before) -> Decimal | None:
    """How much `now` changed against `before`, in percent (None when there was nothing before).

    >>> change(Decimal("150"), Decimal("100")), change(5, 0)
    (Decimal('50.0'), None)
    """
    if not before:
        return None
    return ((Decimal(str(now)) - Decimal(str(before))) * 100 / Decimal(str(before))).quantize(TENTH, ROUND_HALF_UP)


def one_place(value) -> Decimal | None:
    """A float from an aggregation ($avg) as a Decimal with one decimal."""
    return None if value is None else Decimal(repr(float(value))).quantize(TENTH, ROUND_HALF_UP)


def day(date: dt.date) -> dt.datetime:
    """A date as MongoDB keeps a DateField (midnight, naive)."""
    return dt.datetime(date.year, date.month, date.day)
