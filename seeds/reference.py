"""Reference data: the five regulations and their clause index (our own titles and summaries, zh and en),
the settings with their defaults and the approval routes."""

import json
from pathlib import Path

from models.regulations import Clause, Regulation

HERE = Path(__file__).parent
REGULATIONS = (
    ("DSC", "直销中心管理办法", "Direct Sales Center Management Measures"),
    ("BRD", "分公司经营部门管理制度", "Branch Business Department Management Regulation"),
    ("MIC", "微商管理制度", "Micro-business (Agent Network) Management Regulation"),
    ("SOC", "销售外包公司管理制度", "Sales Outsourcing Company Management Regulation"),
    ("FSS", "公司跑业务管理制度", "Field Sales Staff Management Regulation"),
)
CLAUSE_FILES = ("clauses_dsc_brd.json", "clauses_mic_soc_fss.json")


def clause_rows() -> list[dict]:
    rows = []
    for name in CLAUSE_FILES:
        rows.extend(json.loads((HERE / name).read_text(encoding="utf-8")))
    return rows


def load() -> dict[str, int]:
    """Upsert regulations by code and clauses by clause id; never deletes, never duplicates."""
    regulations = {}
    for order, (code, name_zh, name_en) in enumerate(REGULATIONS):
        regulation = Regulation.objects(code=code).first() or Regulation(code=code)
        if (regulation.name_zh, regulation.name_en, regulation.sort_order) != (name_zh, name_en, order):
            regulation.name_zh, regulation.name_en, regulation.sort_order = name_zh, name_en, order
            regulation.save()
        regulations[code] = regulation
    existing = {row["clause_id"]: row for row in Clause._get_collection().find({}, {"clause_id": 1})}
    new = []
    for order, row in enumerate(clause_rows()):
        if row["id"] in existing:
            continue
        new.append(Clause(clause_id=row["id"], regulation=regulations[row["code"]], kind=row["kind"],
                          title_zh=row["title_zh"], title_en=row["title_en"], summary_zh=row["summary_zh"],
                          summary_en=row["summary_en"], portal_note=row.get("portal", ""), sort_order=order))
    if new:
        for clause in new:
            clause.validate()
        Clause.objects.insert(new, load_bulk=False)
    from portal import settings
    from seeds import kpi_templates, routes

    kpi_templates.load()  # the KPI templates of DOMAIN 6, once per staff kind
    return {"regulations": len(regulations), "clauses": Clause.objects.count(),
            "settings created": settings.ensure_defaults(), **routes.load()}
