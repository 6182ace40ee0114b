"""Query plans for `portal bench` on a MongoDB server (PERFORMANCE.md: "no collection scan on a collection over 10,000
documents, no in-memory sort for a sortable column").

`QueryLog` is a pymongo command listener that keeps one example of each distinct query the bench's visits send
(find, aggregate, count, distinct: same collection, same filter and sort keys, whatever the values). After the
visits, `explain_all` asks the server for each one's plan (`explain`, verbosity queryPlanner: nothing is executed)
and `plan_problems` reads the plan. The reader knows the shapes the server answers in: the classic engine's stage
tree (`winningPlan.inputStage...`), the slot-based engine's (`winningPlan.queryPlan`), an aggregation's
(`stages[0].$cursor.queryPlanner`, or a top-level `queryPlanner` when the whole pipeline was pushed down), and a
sharded cluster's (`winningPlan.shards[*]`, or `shards.<name>` for an aggregation). mongomock has no planner: the
bench says so and skips this step.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from pymongo import monitoring

COLLSCAN_LIMIT = 10_000  # documents: above this a collection scan is a failure
WATCHED = ("find", "aggregate", "count", "distinct")
_BODY = ("filter", "sort", "projection", "limit", "skip", "hint", "pipeline", "query", "key")


def shape(value):
    """The structure of a query with its values left out: two queries that differ only in the ids or dates they ask
    for have one shape.

    >>> shape({"state": "pending", "due_at": {"$lt": 5}}) == shape({"state": "done", "due_at": {"$lt": 9}})
    True
    """
    if isinstance(value, dict):
        return tuple(sorted((k, shape(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(shape(v) for v in value[:3])
    return type(value).__name__


class QueryLog(monitoring.CommandListener):
    """One example of each distinct read the application sends while `enabled`."""

    def __init__(self):
        self.enabled = False
        self.queries: dict = {}
        self._lock = threading.Lock()

    def started(self, event):
        if not self.enabled or event.command_name not in WATCHED:
            return
        command = event.command
        body = {k: command[k] for k in _BODY if k in command}
        key = (event.command_name, str(command.get(event.command_name)), shape(body))
        with self._lock:
            self.queries.setdefault(key, (event.command_name, str(command.get(event.command_name)), body))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def explain_command(name: str, collection: str, body: dict) -> dict:
    """The `explain` command (planner only) for a logged read."""
    if name == "find":
        inner = {"find": collection, **{k: body[k] for k in ("filter", "sort", "projection", "limit", "skip", "hint")
                                        if k in body}}
    elif name == "aggregate":
        inner = {"aggregate": collection, "pipeline": body.get("pipeline", []), "cursor": {}}
    elif name == "count":
        inner = {"count": collection, "query": body.get("query") or {}}
    else:
        inner = {"distinct": collection, "key": body.get("key"), "query": body.get("query") or {}}
    return {"explain": inner, "verbosity": "queryPlanner"}


def _roots(explain: dict) -> Iterator[dict]:
    planner = explain.get("queryPlanner")
    if planner:
        yield planner.get("winningPlan") or {}
    for stage in explain.get("stages") or []:  # an aggregation: the part of the pipeline the planner ran
        cursor = stage.get("$cursor") if isinstance(stage, dict) else None
        if cursor and cursor.get("queryPlanner"):
            yield cursor["queryPlanner"].get("winningPlan") or {}
    shards = explain.get("shards")
    if isinstance(shards, dict):  # an aggregation on a sharded cluster: one explain per shard
        for answer in shards.values():
            yield from _roots(answer)


def stages(explain: dict) -> Iterator[dict]:
    """Every stage of the winning plan(s), whatever the engine and topology."""
    todo = list(_roots(explain))
    while todo:
        node = todo.pop()
        if not isinstance(node, dict):
            continue
        if "queryPlan" in node:  # slot-based engine: the classic-looking tree sits one level down
            todo.append(node["queryPlan"])
            continue
        if "stage" in node:
            yield node
        for child in ("inputStage", "outerStage", "innerStage"):
            if child in node:
                todo.append(node[child])
        todo.extend(node.get("inputStages") or [])
        for shard in node.get("shards") or []:  # a sharded find: SHARD_MERGE over each shard's plan
            todo.append(shard.get("winningPlan") or shard)


def plan_problems(explain: dict, collection: str, documents: int, sortable: set[str],
                  limit: int = COLLSCAN_LIMIT) -> list[str]:
    """What is wrong with a plan: a collection scan of a collection over `limit` documents, or a sort done in
    memory on a column a list lets people sort by (`sortable`: its stored field names).

    >>> plan_problems({"queryPlanner": {"winningPlan": {"stage": "COLLSCAN"}}}, "orders", 20_000, set())
    ['COLLSCAN over orders (20,000 documents)']
    """
    problems = []
    for node in stages(explain):
        if node["stage"] == "COLLSCAN" and documents > limit:
            problems.append(f"COLLSCAN over {collection} ({documents:,} documents)")
        if node["stage"] == "SORT":
            keys = sorted(set(node.get("sortPattern") or {}) & sortable)
            if keys:
                problems.append(f"in-memory SORT on {collection}.{','.join(keys)}")
    return list(dict.fromkeys(problems))


def explain_all(db, log: QueryLog, sizes: dict[str, int], sortable: dict[str, set[str]]) -> list[dict]:
    """Explain every logged query; one row per query: collection, command, shape and its problems."""
    rows = []
    for name, collection, body in log.queries.values():
        try:
            answer = db.command(explain_command(name, collection, body))
        except Exception as exc:  # a query the server cannot explain (e.g. a view) is reported, not fatal
            rows.append({"collection": collection, "command": name, "query": _brief(body),
                         "problems": [], "note": f"not explained: {exc.__class__.__name__}"})
            continue
        problems = plan_problems(answer, collection, sizes.get(collection, 0), sortable.get(collection, set()))
        rows.append({"collection": collection, "command": name, "query": _brief(body), "problems": problems})
    return rows


def _brief(body: dict) -> str:
    text = repr({k: body[k] for k in ("filter", "sort", "pipeline", "query", "key") if k in body})
    return text if len(text) <= 300 else text[:297] + "..."
