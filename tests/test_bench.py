"""`portal bench` (issue 10 item 2; PERFORMANCE.md "The benchmark" and "Budgets").

The command runs in a process of its own (the bench connects its process to a database of its own, which would take
the test session's away): profile XS with the committed budgets, grown to ten times XS, which is CI's run of profile
XS; and a quick run of one list with its budget tightened. One test per run, so that xdist never runs one twice. The
plan checker for a MongoDB server (there is none here) is proved on recorded shapes of pymongo's explain output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import mongomock
import pytest

from portal import bench_budget, bench_explain
from portal.bench import BenchError, Measure, claim_database, server_database
from portal.bench_explain import QueryLog, explain_all, explain_command, plan_problems
from portal.bench_pages import ROLE_USERS, Page

COMMAND = [sys.executable, "-c", "from portal.cli import main; main()", "bench", "--profile", "XS", "--repeat", "1"]
KINDS = {"approve", "list", "show", "board", "page", "my_appraisals", "inbox", "dashboard", "home", "export", "api"}
TIGHTENED = "/orders/list/"


def bench(folder, *args: str) -> SimpleNamespace:
    env = {k: v for k, v in os.environ.items() if k not in ("MONGODB_URI", "PORTAL_DB_NAME")}  # the embedded store
    done = subprocess.run([*COMMAND, "--json", str(folder / "report.json"), *args], env=env, text=True,
                          capture_output=True, timeout=600)
    report = folder / "report.json"
    return SimpleNamespace(code=done.returncode, out=done.stdout, err=done.stderr,
                           report=json.loads(report.read_text()) if report.exists() else None)


def test_profile_xs_exits_0_visits_every_page_kind_as_expected_and_no_count_grows_at_ten_times_xs(tmp_path):
    from portal import dashboards, reports  # noqa: F401  (dashboards registers them)

    run = bench(tmp_path, "--scale", "10")
    assert run.code == 0, run.out[-3000:] + run.err[-3000:]
    assert run.report["failures"] == [] and "explain: needs a MongoDB server, skipped" in run.out
    pages = run.report["pages"]
    assert {p["kind"] for p in pages} == KINDS
    table_kinds = {line.split()[0] for line in run.out.splitlines() if line.split() and line.split()[0] in KINDS}
    assert table_kinds == KINDS  # the printed table, one line per page
    by_kind = {kind: {p["page"] for p in pages if p["kind"] == kind} for kind in KINDS}
    assert len(by_kind["list"]) > 70 and {"/users/list/", "/roles/list/", TIGHTENED} <= by_kind["list"]
    assert by_kind["dashboard"] == {f"/reports/{key}/" for key in reports.DASHBOARDS}
    assert by_kind["home"] == {f"/ ({role})" for role in ROLE_USERS}
    assert {"/approvals/inbox/", "/appraisal-board/", "/training-board/"} <= by_kind["inbox"] | by_kind["board"]
    assert all(p["status"] == p["expected"] == (302 if p["kind"] == "approve" else 200) for p in pages)
    assert all(p["status_at_scale"] == p["expected"] for p in pages)
    assert all(p["html_bytes"] > 0 and p["p50_ms"] > 0 and p["ratio"] > 0 for p in pages)
    assert [p["page"] for p in pages if p["kind"] == "list" and p["documents"] == 0] == [], "a list measured empty"
    # ten times the data, the same round-trips on every page
    sizes, grown = run.report["sizes"], run.report["sizes_at_scale"]
    assert sizes["sales_orders"] >= 1000 and sizes["employees"] >= 100 and run.report["scale"] == 10
    assert all(grown[name] >= 9 * sizes[name] for name in ("employees", "customers", "sales_orders", "receivables"))
    grew = {p["page"]: (p["data_round_trips"], p["data_round_trips_at_scale"]) for p in pages
            if p["data_round_trips_at_scale"] != p["data_round_trips"]}
    assert grew == {}


def test_a_tightened_budget_makes_the_command_fail_naming_the_page(tmp_path):
    budgets = bench_budget.load()
    budgets["pages"][TIGHTENED] = {"data_round_trips": 1, "reason": "tightened by tests/test_bench.py"}
    (tmp_path / "tight.json").write_text(json.dumps(budgets), encoding="utf-8")
    run = bench(tmp_path, "--only", TIGHTENED, "--budgets", str(tmp_path / "tight.json"))
    assert run.code == 1, run.out[-2000:] + run.err[-2000:]
    failures = [line for line in run.err.splitlines() if line.startswith("FAIL ")]
    assert failures and all(line.startswith(f"FAIL {TIGHTENED} as Clerk: ") for line in failures), run.err
    assert "data round-trips > budget 1 (measured)" in failures[0]
    assert f"list  {TIGHTENED}" in run.out and "1 pages" in run.out


# ---- budgets ----------------------------------------------------------------------------------------------------
def page(kind: str = "page", key: str = "/x/", expected: int = 200) -> Page:
    return Page(kind, key, key, "Clerk", "sales_orders", expected=expected)


def test_every_budget_says_where_it_comes_from():
    budgets = bench_budget.load()
    assert "PERFORMANCE.md" in budgets["all_pages"]["source"]
    assert all(rule["source"] for rule in budgets["kinds"].values())
    assert all("measured" in entry["reason"] for entry in budgets["pages"].values()), "a pinned budget is measured"
    assert all(set(entry) <= {"data_round_trips", "documents", "reason"} for entry in budgets["pages"].values())


def test_a_page_whose_round_trips_grow_with_the_data_or_that_answers_another_status_fails():
    budgets = bench_budget.load()
    budgets["pages"] = {"/x/": {"data_round_trips": 10, "documents": 10, "reason": "measured"}}
    budgets["page_size"] = 25
    grows = Measure(page(), status=200, status_at_scale=200, data_round_trips=3, data_round_trips_at_scale=4)
    assert bench_budget.check([grows], budgets) == ["/x/ as Clerk: data round-trips grow with the data (3 -> 4)"]
    wrong = Measure(page(expected=302), status=500)
    assert bench_budget.check([wrong], budgets) == ["/x/ as Clerk: answered 500, expected 302"]
    over = Measure(page(), status=200, security_round_trips=5, documents=11)
    assert bench_budget.check([over], budgets) == [
        "/x/ as Clerk: 5 permission and menu round-trips > budget 4 (PERFORMANCE.md)",
        "/x/ as Clerk: 11 documents built > budget 10 (measured)"]
    unknown = Measure(page(key="/y/"), status=200)
    assert bench_budget.check([unknown], budgets) == ["/y/ as Clerk: no budget (add one to the budgets file)"]


# ---- its own database on a server --------------------------------------------------------------------------------
def test_the_bench_database_is_named_after_the_configured_one_and_keeps_the_address_options():
    assert server_database("mongodb://u:p@db1,db2/portal?replicaSet=rs0", "x") == (
        "mongodb://u:p@db1,db2/portal_bench?replicaSet=rs0", "portal_bench")
    assert server_database("mongodb+srv://cluster.example.net/?retryWrites=true", "prod") == (
        "mongodb+srv://cluster.example.net/prod_bench?retryWrites=true", "prod_bench")
    with pytest.raises(BenchError):
        server_database("postgres://db/portal", "portal")


def test_a_database_of_the_bench_name_not_made_by_the_bench_is_refused_and_left_alone():
    client = mongomock.MongoClient()
    client["portal_bench"]["employees"].insert_one({"name": "someone else's"})
    with pytest.raises(BenchError, match="was not made by `portal bench`"):
        claim_database(client, "portal_bench")
    assert client["portal_bench"]["employees"].count_documents({}) == 1


def test_a_database_left_by_an_interrupted_bench_run_is_replaced_and_marked():
    client = mongomock.MongoClient()
    claim_database(client, "portal_bench")
    client["portal_bench"]["employees"].insert_one({"name": "left over"})
    claim_database(client, "portal_bench")
    assert client["portal_bench"]["employees"].count_documents({}) == 0
    assert client["portal_bench"]["bench_marker"].count_documents({}) == 1


# ---- query plans (explain on a MongoDB server) --------------------------------------------------------------------
def ixscan(key: dict) -> dict:
    return {"stage": "IXSCAN", "keyPattern": key, "indexName": "_".join(f"{k}_{v}" for k, v in key.items()),
            "isMultiKey": False, "direction": "forward", "indexBounds": {k: ["[MinKey, MaxKey]"] for k in key}}


def classic(winning: dict, rejected: list | None = None) -> dict:
    """A find's explain at verbosity queryPlanner, classic engine (explainVersion 1)."""
    return {"explainVersion": "1", "queryPlanner": {"namespace": "portal.sales_orders", "parsedQuery": {},
                                                    "winningPlan": winning, "rejectedPlans": rejected or []},
            "command": {"find": "sales_orders"}, "serverInfo": {"version": "7.0.14"}, "ok": 1.0}


COLLSCAN = classic({"stage": "LIMIT", "limitAmount": 25, "inputStage": {
    "stage": "COLLSCAN", "filter": {"status": {"$eq": "confirmed"}}, "direction": "forward"}})
IN_MEMORY_SORT = classic({"stage": "SORT", "sortPattern": {"order_date": -1}, "memLimit": 104857600, "limitAmount": 25,
                          "type": "simple", "inputStage": {"stage": "FETCH", "inputStage": ixscan({"owner_unit": 1})}})
INDEXED = classic({"stage": "LIMIT", "limitAmount": 25, "inputStage": {"stage": "FETCH", "inputStage": ixscan(
    {"owner_unit": 1, "order_date": -1})}}, rejected=[{"stage": "COLLSCAN", "direction": "forward"}])
SLOT_BASED = {"explainVersion": "2", "queryPlanner": {"winningPlan": {
    "queryPlan": {"stage": "SORT", "sortPattern": {"order_date": -1}, "inputStage": {"stage": "COLLSCAN"}},
    "slotBasedPlan": {"slots": "...", "stages": "..."}}, "rejectedPlans": []}, "ok": 1.0}
AGGREGATION = {"explainVersion": "1", "stages": [
    {"$cursor": {"queryPlanner": {"winningPlan": {"stage": "PROJECTION_SIMPLE", "inputStage": {"stage": "COLLSCAN"}},
                                  "rejectedPlans": []}}},
    {"$group": {"_id": "$customer", "total": {"$sum": "$total_fen"}}}], "ok": 1.0}
SHARDED = {"queryPlanner": {"winningPlan": {"stage": "SHARD_MERGE", "shards": [
    {"shardName": "rs0", "winningPlan": {"stage": "FETCH", "inputStage": ixscan({"customer": 1})}},
    {"shardName": "rs1", "winningPlan": {"stage": "SHARDING_FILTER", "inputStage": {"stage": "COLLSCAN"}}}]}}}
SORTABLE = {"order_date", "number", "total_fen"}


def test_the_plan_checker_flags_a_collection_scan_over_ten_thousand_documents_only():
    assert plan_problems(COLLSCAN, "sales_orders", 20_000, SORTABLE) == [
        "COLLSCAN over sales_orders (20,000 documents)"]
    assert plan_problems(COLLSCAN, "sales_orders", 10_000, SORTABLE) == []  # a small collection may be scanned


def test_the_plan_checker_flags_an_in_memory_sort_on_a_sortable_column_only():
    assert plan_problems(IN_MEMORY_SORT, "sales_orders", 20_000, SORTABLE) == [
        "in-memory SORT on sales_orders.order_date"]
    assert plan_problems(IN_MEMORY_SORT, "sales_orders", 20_000, {"number"}) == []


def test_the_plan_checker_passes_an_index_scan_and_ignores_rejected_plans():
    assert plan_problems(INDEXED, "sales_orders", 1_000_000, SORTABLE) == []


def test_the_plan_checker_reads_the_slot_based_engine_aggregations_and_sharded_clusters():
    assert sorted(plan_problems(SLOT_BASED, "sales_orders", 50_000, SORTABLE)) == [
        "COLLSCAN over sales_orders (50,000 documents)", "in-memory SORT on sales_orders.order_date"]
    assert plan_problems(AGGREGATION, "sales_orders", 50_000, SORTABLE) == [
        "COLLSCAN over sales_orders (50,000 documents)"]
    assert plan_problems(SHARDED, "sales_orders", 50_000, SORTABLE) == ["COLLSCAN over sales_orders (50,000 documents)"]


def started(name: str, command: dict) -> SimpleNamespace:
    return SimpleNamespace(command_name=name, command=command)


def test_the_query_log_keeps_one_example_of_each_query_shape_while_a_page_is_answered():
    log = QueryLog()
    log.started(started("find", {"find": "sales_orders", "filter": {"status": "draft"}, "limit": 25}))  # not enabled
    log.enabled = True
    log.started(started("find", {"find": "sales_orders", "filter": {"status": "draft"}, "sort": {"order_date": -1}}))
    log.started(started("find", {"find": "sales_orders", "filter": {"status": "paid"}, "sort": {"order_date": -1}}))
    log.started(started("find", {"find": "sales_orders", "filter": {"customer": 1}, "sort": {"order_date": -1}}))
    log.started(started("insert", {"insert": "audit_log", "documents": []}))  # writes are not explained
    assert [(name, collection, body["filter"]) for name, collection, body in log.queries.values()] == [
        ("find", "sales_orders", {"status": "draft"}), ("find", "sales_orders", {"customer": 1})]


def test_each_logged_query_is_explained_at_planner_verbosity_and_its_problems_reported():
    assert explain_command("find", "sales_orders", {"filter": {"status": "x"}, "sort": {"order_date": -1}}) == {
        "explain": {"find": "sales_orders", "filter": {"status": "x"}, "sort": {"order_date": -1}},
        "verbosity": "queryPlanner"}
    assert explain_command("count", "customers", {"query": {"kind": "company"}})["explain"] == {
        "count": "customers", "query": {"kind": "company"}}
    log = QueryLog()
    log.enabled = True
    log.started(started("find", {"find": "sales_orders", "filter": {}, "sort": {"order_date": -1}}))
    log.started(started("aggregate", {"aggregate": "views_of_something", "pipeline": []}))

    class Server:
        def command(self, command):
            if command["explain"].get("find") == "sales_orders":
                return IN_MEMORY_SORT
            raise RuntimeError("not a collection")

    rows = explain_all(Server(), log, {"sales_orders": 20_000}, {"sales_orders": SORTABLE})
    assert [(r["collection"], r["problems"], r.get("note")) for r in rows] == [
        ("sales_orders", ["in-memory SORT on sales_orders.order_date"], None),
        ("views_of_something", [], "not explained: RuntimeError")]
    assert bench_explain.COLLSCAN_LIMIT == 10_000
