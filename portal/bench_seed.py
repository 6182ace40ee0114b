"""The data set of `portal bench` (PERFORMANCE.md "The benchmark"): the demo company, multiplied.

The demo (seeds/demo.py) holds one of everything a page reads: a branch and a sales center with their departments,
staff, customers, orders, approvals waiting in inboxes, receivables, complaints, appraisals, training, budgets. The
bench takes it as its template and repeats it:

* **worlds**: every unit below the company (with its staff) and every record that belongs to them, found by
  following references from those units and employees (an order refers to its salesperson, a payment to its
  receivable, an audit entry to its record, ...), is copied as a new branch of the same company. References inside a
  copy point to the copy; references to company-wide data (settings, routes, products, tiers) stay.
* **fan-out**: inside each world, the staff, customers and the records about them, and orders are repeated again, so
  that a department has about ten people and a salesperson tens of customers and hundreds of orders, as in the
  profiles' proportions.

A copy's unique values get a suffix, its person and company names are drawn from a fixed random seed, and the dates
of a fanned-out record move back by up to a year. Nothing here builds a mongoengine document: the copies are raw
dicts written with `insert_many` in batches, on mongomock after lifting the unique indexes it checks by scanning the
collection on every insert (PERFORMANCE.md: quadratic), which are put back, and checked once, afterwards.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass

from bson import ObjectId

SEED = 2026
STAFF = 3  # each employee of the demo stands for three: about nine people per unit
BATCH = 1000
SECURITY = frozenset({"user", "role", "permission_view", "permission", "view_menu", "group", "register_user"})
# company-wide or mechanical collections: never copied, even where they refer to someone of the world
NEVER_COPIED = SECURITY | {"approval_routes", "settings", "counters", "regulations", "clauses", "attachments",
                           "import_jobs", "bench_marker"}
# fanned-out collections and the group whose factor they follow
FAN_OUT = {"employees": "staff", "appraisals": "staff", "compensation_profiles": "staff",
           "training_assessments": "staff", "attendance_records": "staff", "career_plans": "staff",
           "confidentiality_agreements": "staff", "awards": "staff",
           "customers": "customers", "complaints": "customers", "inquiries": "customers",
           "customer_visits": "customers", "return_visits": "customers", "receivables": "customers",
           "after_sales": "customers", "sales_orders": "orders"}
CITIES = ("杭州", "宁波", "苏州", "无锡", "南京", "合肥", "上海", "嘉兴", "绍兴", "温州", "常州", "南通")
TRADES = ("贸易", "科技", "商贸", "电器", "百货", "实业", "净水设备", "家居", "供应链", "环保")
WORDS = "瑞丰华新源百汇安泰恒达金鼎宏远嘉禾创联信诚永盛海纳天成鼎盛广源"


@dataclass(frozen=True)
class Profile:
    """A data set size: about this many employees, customers and orders (PERFORMANCE.md "The benchmark")."""

    name: str
    employees: int
    customers: int
    orders: int


PROFILES = {
    "XS": Profile("XS", 100, 400, 1_000),  # CI: seeding and every visit well under a minute on mongomock
    "S": Profile("S", 1_000, 10_000, 100_000),
    "L": Profile("L", 10_000, 100_000, 1_000_000),  # for a real server
}


@dataclass(frozen=True)
class Plan:
    """How the template is repeated: `worlds` copies of the company's units (the demo's own included) and the
    fan-out factor of each group inside every world."""

    worlds: int
    fans: dict

    def factor(self, collection: str) -> int:
        return self.fans.get(FAN_OUT.get(collection, ""), 1)


class Template:
    """The demo data as read once after seeding: what a world is, and the raw documents to copy."""

    def __init__(self, db):
        self.db = db
        names = sorted(n for n in db.list_collection_names() if n not in NEVER_COPIED and not n.startswith("system."))
        docs = {name: list(db[name].find()) for name in names}
        roots = {u["_id"] for u in docs.get("org_units", []) if not u.get("parent")}
        world = {u["_id"] for u in docs.get("org_units", []) if u["_id"] not in roots}
        world |= {e["_id"] for e in docs.get("employees", []) if e.get("owner_unit") in world}
        self.owner: dict[ObjectId, str] = {}  # id of a world document -> its collection
        changed = True
        while changed:  # a record belongs to the world when it refers to something of the world
            changed = False
            for name, rows in docs.items():
                for row in rows:
                    if row["_id"] not in self.owner and (row["_id"] in world or _refers(row, world)):
                        world.add(row["_id"])
                        self.owner[row["_id"]] = name
                        changed = True
        self.docs = {name: [r for r in rows if r["_id"] in self.owner] for name, rows in docs.items()}
        self.docs = {name: rows for name, rows in self.docs.items() if rows}
        self.strings = {str(i): i for i in self.owner}
        self.unique = {name: _unique_keys(db[name]) for name in self.docs}

    def count(self, collection: str) -> int:
        return len(self.docs.get(collection, ()))

    def plan(self, profile: Profile, scale: int = 1) -> Plan:
        """The worlds and fan-out factors that come closest to the profile's sizes (times `scale` worlds)."""
        worlds = max(1, round(profile.employees / max(1, STAFF * self.count("employees"))))
        fans = {"staff": STAFF,
                "customers": max(1, round(profile.customers / max(1, worlds * self.count("customers")))),
                "orders": max(1, round(profile.orders / max(1, worlds * self.count("sales_orders"))))}
        return Plan(worlds * scale, fans)

    # -- copying ------------------------------------------------------------------------------------------------
    def seed(self, plan: Plan, first_world: int = 0) -> dict[str, int]:
        """Write worlds `first_world` .. plan.worlds - 1 (world 0 is the demo itself: only its fan-out is written);
        return the documents written per collection."""
        written = {}
        for name, rows in self.docs.items():
            documents = self._copies(name, rows, plan, first_world)
            written[name] = _insert(self.db[name], documents, self.unique[name])
        return {name: n for name, n in written.items() if n}

    def _copies(self, name: str, rows: list[dict], plan: Plan, first_world: int) -> Iterator[dict]:
        rng = random.Random(f"{SEED}-{name}-{first_world}")
        factor = plan.factor(name)
        for world in range(first_world, plan.worlds):
            for copy in range(factor):
                if world == 0 and copy == 0:
                    continue  # the demo's own documents
                for row in rows:
                    if copy and row.get("approval"):
                        continue  # one approval request belongs to one document
                    document = self._copy(name, row, world, copy, plan, rng)
                    if document is not None:
                        yield document

    def _copy(self, name: str, row: dict, world: int, copy: int, plan: Plan, rng: random.Random) -> dict | None:
        document = self._remap(row, world, copy, plan)
        document["_id"] = self.new_id(row["_id"], world, copy)
        for keys, sparse in self.unique[name]:
            if sparse and all(document.get(k) is None for k in keys):
                continue  # a sparse index leaves a record without the key alone
            if any(self._distinct(row.get(k), document.get(k), name, copy) for k in keys):
                continue  # the copy's own reference keeps the key unique
            texts = [k for k in keys if isinstance(document.get(k), str)]
            if not texts:
                return None  # nothing to tell the copy from its template by
            for key in texts:
                document[key] = f"{document[key]}-{world}" + (f".{copy}" if copy else "")
        if copy:
            _shift_dates(document, dt.timedelta(days=rng.randrange(0, 365)))
        vary = VARY.get(name)
        if vary is not None:
            vary(document, rng)
        return document

    def _distinct(self, before, after, collection: str, copy: int) -> bool:
        """Whether a remapped key value tells this copy from every other: any world's own reference does; inside a
        world, only a reference to a record fanned out with this one (copy j of an appraisal -> copy j of the
        employee)."""
        if before == after:
            return False
        if not copy:
            return True
        target = self.owner.get(before) if isinstance(before, ObjectId) else None
        return target is not None and FAN_OUT.get(target) == FAN_OUT.get(collection)

    def new_id(self, original: ObjectId, world: int, copy: int) -> ObjectId:
        """The id of `original` in a world (and fan-out copy): its template's creation second, then a hash, so that
        every id is known without a table and sorts near its template."""
        if world == 0 and copy == 0:
            return original
        digest = hashlib.blake2b(f"{original}-{world}-{copy}".encode(), digest_size=8).digest()
        return ObjectId(original.binary[:4] + digest)

    def _target(self, value: ObjectId, world: int, copy: int, plan: Plan) -> ObjectId:
        collection = self.owner[value]
        factor = plan.factor(collection)
        return self.new_id(value, world, copy % factor if copy and factor > 1 else 0)

    def _remap(self, value, world: int, copy: int, plan: Plan):
        if isinstance(value, dict):
            return {k: self._remap(v, world, copy, plan) for k, v in value.items()}
        if isinstance(value, list):
            return [self._remap(v, world, copy, plan) for v in value]
        if isinstance(value, ObjectId) and value in self.owner:
            return self._target(value, world, copy, plan)
        if isinstance(value, str) and len(value) == 24 and value in self.strings:  # the audit trail's record ids
            return str(self._target(self.strings[value], world, copy, plan))
        if isinstance(value, str) and ":" in value and len(value) < 200:  # keys such as "<session>:<employee>"
            return ":".join(self._remap(part, world, copy, plan) for part in value.split(":"))
        return value


def _refers(value, ids: set) -> bool:
    if isinstance(value, dict):
        return any(_refers(v, ids) for k, v in value.items() if k != "_id")
    if isinstance(value, list):
        return any(_refers(v, ids) for v in value)
    if isinstance(value, ObjectId):
        return value in ids
    return isinstance(value, str) and len(value) == 24 and ObjectId.is_valid(value) and ObjectId(value) in ids


def _unique_keys(collection) -> list[tuple[tuple[str, ...], bool]]:
    """The key fields of each unique index, and whether it is sparse (a record without them is not indexed)."""
    return [(tuple(k for k, _ in spec["key"]), bool(spec.get("sparse") or spec.get("partialFilterExpression")))
            for name, spec in collection.index_information().items() if spec.get("unique") and name != "_id_"]


def _shift_dates(value, delta: dt.timedelta) -> None:
    """Move every date of a record back by `delta`, so that its own order of events holds."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in list(items):
        if isinstance(item, dt.datetime):
            value[key] = item - delta
        elif isinstance(item, dict | list):
            _shift_dates(item, delta)


def _person(rng: random.Random) -> str:
    from seeds.demo import _name

    return _name(rng)


def _vary_employee(document: dict, rng: random.Random) -> None:
    document["name"] = _person(rng)
    if document.get("phone"):
        document["phone"] = f"13{rng.randrange(100000000, 999999999)}"
    if document.get("email"):
        document["email"] = f"{document['employee_no'].lower().replace('.', '-')}@bench.example"


def _vary_customer(document: dict, rng: random.Random) -> None:
    if document.get("kind") == "company":
        word = "".join(rng.sample(WORDS, 2))
        document["name"] = f"{rng.choice(CITIES)}{word}{rng.choice(TRADES)}有限公司 {document.get('code', '')}"
    else:
        document["name"] = _person(rng)
    for contact in document.get("contacts") or []:
        contact["name"] = _person(rng)
        if contact.get("phone"):
            contact["phone"] = f"13{rng.randrange(100000000, 999999999)}"


VARY = {"employees": _vary_employee, "customers": _vary_customer}


def _insert(collection, documents: Iterator[dict], unique: list) -> int:
    """insert_many in batches; on mongomock without the unique indexes while writing (see the module docstring)."""
    embedded = type(collection).__module__.startswith("mongomock")
    lifted = []
    if embedded:
        for name, spec in collection.index_information().items():
            if spec.get("unique") and name != "_id_":
                lifted.append((name, spec))
                collection.drop_index(name)
    written = 0
    try:
        batch = []
        for document in documents:
            batch.append(document)
            if len(batch) == BATCH:
                collection.insert_many(batch, ordered=False)
                written, batch = written + len(batch), []
        if batch:
            collection.insert_many(batch, ordered=False)
            written += len(batch)
    finally:
        for name, spec in lifted:  # one pass over the collection: fails loudly on a duplicate
            options = {k: spec[k] for k in ("sparse", "partialFilterExpression") if k in spec}
            collection.create_index(spec["key"], unique=True, name=name, **options)
    return written


def sizes(plan: Plan, template: Template) -> dict[str, int]:
    """What a plan makes of the main collections (for the report's heading)."""
    return {name: template.count(name) * plan.worlds * plan.factor(name)
            for name in ("employees", "org_units", "customers", "sales_orders", "approval_requests", "receivables",
                         "complaints", "appraisals", "training_assessments", "budgets", "audit_log")}



def fill_gaps(today: dt.date) -> list[str]:
    """One record in each collection the demo leaves empty, so that no page of the bench is measured empty; saved
    through the models (validated, numbered, audited). Return the collections filled."""
    from decimal import Decimal

    from flask import current_app

    from models.agents import ProfitDistribution
    from models.approvals import ApprovalDelegation
    from models.finance import Budget, BudgetIncrease
    from models.market import MarketExpansionPlan
    from models.org import Employee, OrgUnit
    from models.products import StockTake

    unit = {u.code: u for u in OrgUnit.objects(code__in=["BR-SALES", "BR-AGENT", "BR-OPS"])}
    people = {e.employee_no: e for e in Employee.objects(employee_no__in=["E0003", "E0005", "E0011", "E0013"])}
    head, clerk, rep = people["E0003"], people["E0005"], people["E0011"]
    filled = []
    if not ApprovalDelegation.objects.first():  # over and done: it must not change whose inbox a request is in
        ApprovalDelegation(delegator=head, deputy=clerk, start=today - dt.timedelta(days=40),
                           end=today - dt.timedelta(days=33), reason="出差（已结束）").save()
        filled.append("approval_delegations")
    line = Budget.objects(owner_unit=unit["BR-SALES"], status="approved").first()
    if line is not None and not BudgetIncrease.objects.first():
        BudgetIncrease(budget=line, amount=Decimal("5000.00"), reason="展会追加差旅", requested_by=rep).save()
        filled.append("budget_increases")
    if not MarketExpansionPlan.objects.first():
        MarketExpansionPlan(year=today.year, title="华东县级市场拓展计划", drafted_by=head,
                            targets="新增县级经销商 10 家", regions=["浙江", "江苏"], customer_groups="县级家电卖场",
                            approaches="地推与展会", schedule="每季度两个城市").save()
        filled.append("market_plans")
    if not ProfitDistribution.objects.first():
        quarter = (today.month - 1) // 3 or 4
        year = today.year if quarter != 4 or today.month > 3 else today.year - 1
        ProfitDistribution(owner_unit=unit["BR-AGENT"], period_kind="quarter", period=f"{year}-Q{quarter}",
                           note="草稿").save()
        filled.append("profit_distributions")
    if not StockTake.objects.first():
        StockTake(warehouse="杭州仓", taken_on=today, counted_by=clerk, owner_unit=unit["BR-OPS"]).save()
        filled.append("stock_takes")
    security = current_app.appbuilder.sm
    if not security.group_model.objects.first():  # Admin's groups page; nobody in it, so it grants nothing
        security.group_model(name="internal-audit", label="内审小组", description="审计期间的临时协作组",
                             roles=[security.find_role("Auditor")]).save()
        filled.append("group")
    return filled


def pending_requests(count: int, today: dt.date) -> int:
    """`count` expense claims and `count` leave requests of the sales department waiting for its head
    (`sales_head`): the inbox the bench reads and the requests its approve actions decide, one per visit. Submitted
    through the approval engine, as their staff would."""
    from decimal import Decimal

    from models.conduct import LeaveRequest
    from models.finance import Budget, ExpenseClaim, ExpenseItem
    from models.org import Employee, OrgUnit
    from portal import approvals

    sales = OrgUnit.objects(code="BR-SALES").first()
    staff = [e for e in Employee.objects(owner_unit=sales, status__ne="left", employee_no__startswith="E01")
             .order_by("employee_no") if sales.head is None or e.pk != sales.head.pk]
    travel = Budget.objects(year=today.year, owner_unit=sales, category="travel", status="approved").first()
    day = max(today - dt.timedelta(days=1), dt.date(today.year, 1, 1))
    for n in range(count):
        person = staff[n % len(staff)]
        actor = approvals.Actor(person.pk, person.name, "bench", frozenset({"Employee"}))
        claim = ExpenseClaim(claimant=person, title=f"市内交通 {n + 1}", budget=travel, items=[
            ExpenseItem(date=day, place="杭州", purpose="出租车", amount=Decimal("86.00"), invoice_no=f"B{n:07d}")])
        approvals.submit(claim.save(), actor)
        start = today + dt.timedelta(days=30 + 3 * (n // len(staff)))
        leave = LeaveRequest(employee=person, kind="annual", start=start, end=start + dt.timedelta(days=1),
                             reason="年假", handover="部门同事").save()
        approvals.submit(leave, actor)
    return 2 * count
