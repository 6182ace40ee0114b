"""Regulation registry service: clause titles for the views that cite them, and which pages implement a clause."""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask_babel import get_locale

from models.regulations import Clause

_TTL_SECONDS = 300
SEARCH_MAX = 100
_SEARCHED = ("clause_id", "title_zh", "title_en", "summary_zh", "summary_en")
_cache: dict[str, object] = {"at": float("-inf"), "clauses": {}}  # -inf: never read


@dataclass(frozen=True)
class ClauseRef:
    """A clause as shown on a page: id and our own title and summary in both languages."""

    clause_id: str
    title_zh: str = ""
    title_en: str = ""
    summary_zh: str = ""
    summary_en: str = ""

    @property
    def title(self) -> str:
        return (self.title_zh if _is_zh() else self.title_en) or self.clause_id

    @property
    def summary(self) -> str:
        return self.summary_zh if _is_zh() else self.summary_en

    @property
    def anchor(self) -> str:
        return "c-" + "".join(ch if ch.isalnum() else "-" for ch in self.clause_id)


def _is_zh() -> bool:
    locale = get_locale()
    return bool(locale and locale.language == "zh")


def invalidate() -> None:
    _cache["at"] = float("-inf")


def _all() -> dict[str, ClauseRef]:
    """Every clause, read at most once per TTL per process (reference data, one query)."""
    if time.monotonic() - float(_cache["at"]) > _TTL_SECONDS:
        rows = Clause._get_collection().find({}, {"clause_id": 1, "title_zh": 1, "title_en": 1,
                                                  "summary_zh": 1, "summary_en": 1})
        _cache["clauses"] = {r["clause_id"]: ClauseRef(r["clause_id"], r.get("title_zh", ""), r.get("title_en", ""),
                                                      r.get("summary_zh", ""), r.get("summary_en", ""))
                             for r in rows}
        _cache["at"] = time.monotonic()
    return _cache["clauses"]  # type: ignore[return-value]


def clauses_for(clause_ids) -> list[ClauseRef]:
    """The clauses a view declares, in its order; unknown ids are shown bare rather than hidden."""
    if not clause_ids:
        return []
    known = _all()
    return [known.get(cid) or ClauseRef(cid) for cid in clause_ids]


def implementing_pages(appbuilder) -> dict[str, list[tuple[str, str]]]:
    """clause id -> [(view label, list URL)] for every registered view that declares it."""
    pages: dict[str, list[tuple[str, str]]] = {}
    for view in appbuilder.baseviews:
        for cid in getattr(view, "regulation_clauses", ()) or ():
            label = str(getattr(view, "list_title", "") or type(view).__name__)
            pages.setdefault(cid, []).append((label, f"{view.route_base}/list/"))
        for cid, label, url in getattr(view, "regulation_pages", lambda: ())():  # pages a view names itself
            pages.setdefault(cid, []).append((label, url))
    return pages


def find_clauses(regulation, text: str) -> dict:
    """regulation id -> clause rows, of one regulation (or all) whose id, title or summary holds `text`."""
    needle = (text or "")[:SEARCH_MAX].strip().lower()
    query = {"regulation": regulation.pk} if regulation is not None else {}
    grouped: dict = {}
    for row in Clause._get_collection().find(query).sort("sort_order", 1):
        if not needle or any(needle in str(row.get(f, "")).lower() for f in _SEARCHED):
            grouped.setdefault(row["regulation"], []).append(row)
    return grouped
