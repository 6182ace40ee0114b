"""The budgets `portal bench` holds each page to (PERFORMANCE.md "Budgets"), read from portal/data/bench_budgets.json.

The file has three parts: `all_pages` (permissions and menu, on every page), `kinds` (the rule of a kind of page:
a list, the inbox, a dashboard, an approve, an export), and `pages` (a budget per page where PERFORMANCE.md sets
none, equal to what was measured, each with its reason). A page's budget is its `pages` entry if it has one, else
its kind's rule. Counts only: round-trips and documents hold on any machine, times do not.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

BUDGETS_FILE = Path(__file__).parent / "data" / "bench_budgets.json"


def load(path: str | Path | None = None) -> dict:
    with open(path or BUDGETS_FILE, encoding="utf-8") as handle:
        return json.load(handle)


def small_selects(view) -> list:
    """The documents the list's search form loads whole (a select; large relations get an autocomplete instead)."""
    return [view.datamodel.get_related_model(c) for c in view.search_columns
            if view.datamodel.is_relation(c) and not view.datamodel.is_lookup_relation(c)]


def _references(view, columns) -> int:
    return sum(1 for c in columns if view.datamodel.is_relation(c))


def list_allowance(view, role: str, rule: dict, page_rows: int, select_rows: int = 0) -> tuple[int, int]:
    """The data round-trips and documents a list page may cost (PERFORMANCE.md, as tests/test_list_budgets.py reads
    it): count and page, one query per reference column and per small select of the search form, the scope of a
    Clerk or DeptHead, the navbar, the view's declared summary queries. Documents: the page's rows and one per
    reference cell, the rows of the small selects, and the frame (the user's own employee and unit records)."""
    references = _references(view, view.list_columns)
    trips = (rule["base"] + rule["per_reference_column"] * references
             + rule["per_search_select"] * len(small_selects(view)) + rule["navbar"] + rule["scope"].get(role, 0)
             + getattr(view, "list_summary_queries", 0))  # FAB's own views (users, roles, groups) declare none
    return trips, page_rows * (1 + references) + select_rows + rule["frame_documents"]


def allowance(measure, budgets: dict) -> tuple[int | None, int | None, str]:
    """(data round-trips, documents, where the budget comes from) for one measured page; None: no budget. A page's
    own entry in `pages` replaces what it gives of its kind's rule."""
    trips, documents, source = _by_kind(measure, budgets)
    pinned = budgets.get("pages", {}).get(measure.page.key)
    if pinned is None:
        return trips, documents, source
    return pinned.get("data_round_trips", trips), pinned.get("documents", documents), "measured"


def _by_kind(measure, budgets: dict) -> tuple[int | None, int | None, str]:
    page = measure.page
    rule = budgets["kinds"].get(page.kind)
    if rule is None:
        return None, None, "none"
    if page.kind == "export":  # a fixed part, and the reference columns once per batch
        references = _references(page.view, page.view.export_columns)
        batches = max(1, math.ceil(measure.rows / max(1, int(page.view.export_batch_size))))
        return (rule["base"] + references * batches, measure.rows * (1 + references) + rule["frame_documents"],
                "measured + per batch")
    if page.kind == "list":
        selected = max(measure.select_rows, measure.select_rows_at_scale or 0)
        return (*list_allowance(page.view, page.role, rule, budgets["page_size"], selected), "PERFORMANCE.md")
    trips = rule.get("data_round_trips")
    if trips is not None:
        trips += rule.get("navbar", 0) + rule.get("scope", {}).get(page.role, 0)
    per_row = rule.get("documents_per_row_shown")
    documents = per_row * max(1, measure.rows) if per_row is not None else rule.get("documents")
    return trips, documents, "PERFORMANCE.md"


def check(measures: list, budgets: dict) -> list[str]:
    """Every way a page failed: another status than expected, a budget exceeded (at the profile and at scale), a
    search form that loads too much, round-trips that grow with the data. Empty when everything holds."""
    failures = []
    every, largest = budgets["all_pages"], budgets["kinds"]["list"]["select_rows_max"]
    for m in measures:
        name = f"{m.page.key} as {m.page.role}"
        wrong = [s for s in (m.status, m.status_at_scale) if s is not None and s != m.page.expected]
        if wrong:
            failures.append(f"{name}: answered {wrong[0]}, expected {m.page.expected}")
            continue
        trips, documents, source = allowance(m, budgets)
        if trips is None and documents is None:
            failures.append(f"{name}: no budget (add one to the budgets file)")
        for label, value, limit, origin in (
                ("permission and menu round-trips", m.security_round_trips, every["security_round_trips"],
                 "PERFORMANCE.md"),
                ("permission and menu documents", m.security_documents, every["security_documents"], "PERFORMANCE.md"),
                ("data round-trips", m.data_round_trips, trips, source),
                ("documents built", m.documents, documents, source),
                ("data round-trips at scale", m.data_round_trips_at_scale, trips, source),
                ("documents built at scale", m.documents_at_scale, documents, source)):
            if limit is not None and value is not None and value > limit:
                failures.append(f"{name}: {value} {label} > budget {limit} ({origin})")
        loaded = max(m.select_rows, m.select_rows_at_scale or 0)
        if m.page.kind == "list" and loaded > largest:
            failures.append(f"{name}: the search form loads {loaded} documents whole (> {largest}): make the "
                            "relation an autocomplete (PERFORMANCE.md)")
        if m.data_round_trips_at_scale is not None and m.data_round_trips_at_scale != m.data_round_trips:
            failures.append(f"{name}: data round-trips grow with the data "
                            f"({m.data_round_trips} -> {m.data_round_trips_at_scale})")
    return failures
