"""Issue 9 item 1: the home page per role lists what needs my action now, with counts and links, the approvals
waiting and my recent records; it is the same list as `portal remind`, which tells each item once."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from bson import ObjectId

from models.appraisal import Appraisal
from models.approvals import ApprovalRequest, Notification
from models.audit import AuditEntry
from models.customers import Complaint
from models.products import StockItem
from models.receivables import Receivable
from models.training import TrainingAssessment, TrainingSession
from models.users import PortalUser
from portal import approvals, customers, home, reminders
from portal.settings import local_today
from seeds.demo import ACCOUNTS
from tests.approvals_kit import actor, budget_line, claim, person, unit
from tests.conftest import data_round_trips
from tests.sales_kit import buyer, contract, product, stock

DEMO_USERS = [username for username, *_rest in ACCOUNTS]
_ITEM = re.compile(r'data-due-kind="([^"]+)" data-due-link="([^"]+)" data-due-record="([^"]+)"')
_COUNT = re.compile(r'data-count="([^"]+)">(\d+)<')
_DRY = re.compile(r"^(\w+): (.*) · (/\S*) · due \S+ · \d+ to act · (reminded|to send)$")


def utcnow() -> dt.datetime:
    return reminders.utcnow()


# ---- seeds: one overdue item of each kind the issue names --------------------------------------------------------
def overdue_approval(budget=None) -> ObjectId:
    """A claim of sales_rep waiting for sales_head, past its time limit and past the escalation hours."""
    request_id = approvals.submit(claim("sales_rep", 120, budget or budget_line(annual="900000"), title="首页逾期报销"),
                                  actor("sales_rep"))
    ApprovalRequest._get_collection().update_one({"_id": request_id},
                                                 {"$set": {"due_at": utcnow() - dt.timedelta(hours=30)}})
    return request_id


def overdue_complaint(**fields) -> Complaint:
    """Handled by service_clerk for 销售部 (head: sales_head), past its 4-hour deadline."""
    item = Complaint(customer=buyer(), content="送货晚了两天", severity="critical", responsible_unit=unit("BR-SALES"),
                     handler=person("service_clerk"), owner_unit=unit("BR-CS"),
                     received_at=utcnow() - dt.timedelta(hours=6), **fields)
    customers.apply_deadline(item, actor("service_clerk"))
    return item.save()


def late_appraisal(username: str = "sales_rep", state: str = "self_assessment") -> ObjectId:
    """An appraisal whose step was due last week."""
    raw = {"_id": ObjectId(), "cycle": ObjectId(), "employee": person(username).pk, "owner_unit": unit("BR-SALES").pk,
           "state": state, "period": "2031-01", "step_due": dt.datetime.combine(local_today(), dt.time())
           - dt.timedelta(days=7), "lines": [], "version": 0}
    Appraisal._get_collection().insert_one(raw)
    return raw["_id"]


_attempts = iter(range(1000, 100000))


def open_retake(username: str = "sales_rep") -> ObjectId:
    """A retake still open after a failed assessment (HR and the trainee act on it)."""
    session = TrainingSession._get_collection().find_one({}, {"_id": 1})
    raw = {"_id": ObjectId(), "session": session["_id"], "employee": person(username).pk, "attempt": next(_attempts),
           "status": "retake_open", "owner_unit": unit("BR-SALES").pk, "version": 0}
    TrainingAssessment._get_collection().insert_one(raw)
    return raw["_id"]


def ending_contract():
    """A signed contract of sales_rep that ends within the renewal window."""
    return contract(end=local_today() + dt.timedelta(days=10))


def overdue_receivable(days: int = 45) -> Receivable:
    """Owed to sales_rep's customer, 45 days past due: overdue to sales_rep, escalated to sales_head."""
    return Receivable(customer=buyer(), owner=person("sales_rep"), amount="1000.00",
                      due_date=local_today() - dt.timedelta(days=days)).save()


_batches = iter(range(1, 100000))


def low_stock() -> StockItem:
    """A row of 运营管理部 below its reorder level (told to the branch leader, the nearest head)."""
    return stock(product(), 1, batch=f"H{next(_batches)}", reorder=10)


@pytest.fixture
def seeded(db):
    return {"approval": overdue_approval(), "complaint": overdue_complaint().pk, "appraisal": late_appraisal(),
            "retake": open_retake(), "contract": ending_contract().pk, "receivable": overdue_receivable().pk,
            "stock": low_stock().pk}


# ---- how each side lists the items -------------------------------------------------------------------------------
def on_home_page(browser) -> set[tuple[str, str, str]]:
    """(kind, link, record) of every item under "Needs your action"; every group shows all its items."""
    page = browser.get("/").data.decode()
    items = {tuple(html.unescape(part) for part in found) for found in _ITEM.findall(page)}
    counts = {kind: int(n) for kind, n in _COUNT.findall(page)}
    assert sum(counts.values()) == len(items) and all(n <= home.GROUP_SIZE for n in counts.values())
    return items


def keys(items) -> set[tuple[str, str, str]]:
    return {(d.kind, d.link, str(d.record)) for d in items}


def dry_run(app, username: str) -> set[tuple[str, str, str]]:
    """(kind, link, title) of the lines `portal remind --dry-run --user NAME` prints."""
    result = app.test_cli_runner().invoke(args=["portal", "remind", "--dry-run", "--user", username])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].endswith("(dry run: nothing sent)")
    found = [_DRY.match(line) for line in lines[:-1]]
    assert all(found), lines
    return {(m.group(1), m.group(3), m.group(2)) for m in found}


def told(now: dt.datetime, employee_id) -> set[tuple[str, str, str]]:
    """(kind, link, title) of the reminders `run(now)` posted to one person."""
    kinds = {kind for source in reminders.sources() for kind in source.kinds}
    return {(n.kind, n.link, n.params.get("title", "")) for n in Notification.objects(
        recipient=employee_id, created_at=now) if n.kind in kinds}


# ---- the rule ----------------------------------------------------------------------------------------------------
def test_the_home_page_and_portal_remind_list_the_same_items__issue_9_1(app, as_role, seeded):
    now = utcnow().replace(microsecond=0)  # a server keeps milliseconds: the notifications are found by this time
    everything = [due for _source, due in reminders.pending(now)]
    mine = {}
    for username in DEMO_USERS:
        employee = person(username).pk
        listed = reminders.due_for(username, now)
        mine[username] = listed
        assert keys(listed) == keys(d for d in everything if employee in d.people), username  # narrowed = all
        assert on_home_page(as_role(username)) == keys(listed), username
        assert dry_run(app, username) == {(d.kind, d.link, d.title) for d in listed}, username
    # every kind the issue names is on somebody's page, with the people who must act
    expected = {("overdue", "sales_head"), ("escalated", "branch_head"), ("complaint_overdue", "service_clerk"),
                ("complaint_overdue", "sales_head"), ("appraisal_overdue", "sales_rep"), ("training_retake", "hr"),
                ("training_retake", "sales_rep"), ("contract_renewal", "sales_rep"), ("contract_renewal", "sales_head"),
                ("receivable_overdue", "sales_rep"), ("receivable_escalated", "sales_head"),
                ("stock_low", "branch_head")}
    ours = {str(v) for v in seeded.values()}
    found = {(d.kind, username) for username, listed in mine.items() for d in listed
             if str(d.record) in ours}
    assert expected <= found

    reminders.run(now)  # what the command sends is what the pages list (less what it had told before)
    for username, listed in mine.items():
        waiting = {(d.kind, d.link, d.params.get("title", "")) for d in listed if not d.reminded}
        assert told(now, person(username).pk) == waiting, username
    assert {(d.kind, username) for username, listed in mine.items() for d in listed
            if str(d.record) in ours and not d.reminded} == found  # ours were all new: all told


def test_a_reminded_item_stays_on_the_home_page_until_it_is_done__issue_9_1(as_role, db):
    late = overdue_complaint()
    assert [s.title for s in reminders.run()[0]].count(late.number) == 1
    assert late.number not in [s.title for s in reminders.run()[0]]  # told once
    clerk = as_role("service_clerk")
    key = ("complaint_overdue", f"/complaints/show/{late.pk}", str(late.pk))
    assert key in on_home_page(clerk)
    response = clerk.post_form(f"/complaints/handle/{late.pk}", {"action": "answer", "text": "已补发三箱"},
                               f"/complaints/show/{late.pk}")
    assert response.status_code == 302
    assert key not in on_home_page(clerk)  # answered: gone at once, no cache to wait for
    assert key not in on_home_page(as_role("sales_head"))


def test_each_user_sees_only_the_items_they_must_act_on__issue_9_1(as_role, seeded):
    rep = on_home_page(as_role("sales_rep"))
    assert {kind for kind, _link, _record in rep} >= {"receivable_overdue", "appraisal_overdue", "training_retake",
                                                     "contract_renewal"}
    for username in ("sales_rep", "agent", "sales_clerk"):
        page = on_home_page(as_role(username))
        employee = person(username).pk
        for due in reminders.pending():
            if employee not in due[1].people:
                assert (due[1].kind, due[1].link, str(due[1].record)) not in page, (username, due[1].kind)
    assert not {k for k in on_home_page(as_role("agent")) if k[2] in {str(v) for v in seeded.values()}}
    head = on_home_page(as_role("sales_head"))
    assert ("receivable_escalated", f"/receivables/show/{seeded['receivable']}", str(seeded["receivable"])) in head
    assert ("receivable_overdue", f"/receivables/show/{seeded['receivable']}", str(seeded["receivable"])) not in head
    assert ("stock_low", f"/stock/show/{seeded['stock']}", str(seeded["stock"])) in on_home_page(as_role("branch_head"))


def test_the_home_page_shows_the_approvals_waiting_in_my_inbox__issue_9_1(as_role, seeded):
    page = as_role("sales_head").get("/").data.decode()
    waiting = approvals.inbox_count(actor("sales_head"))
    assert waiting >= 2 and 'data-group="inbox"' in page
    badge = re.search(r'Approvals waiting for your decision</a> <span class="badge">(\d+)<', page)
    assert badge.group(1) == str(waiting)
    assert f'/approvals/request/{seeded["approval"]}' in page
    assert 'data-group="inbox"' not in as_role("agent").get("/").data.decode()


def test_my_recent_records_link_to_their_pages__issue_9_1(as_role, db):
    from models.customers import Customer

    mine = Customer.objects(name="杭州瑞丰贸易有限公司").first()
    # the trail is append-only and outlives each test: stamp these after whatever sales_clerk did before (tests of
    # imports, say), so that they are the newest whichever tests ran first in this worker
    latest = AuditEntry.objects(user="sales_clerk").order_by("-at").only("at").first()
    start = max(utcnow(), latest.at if latest is not None else utcnow()) + dt.timedelta(seconds=5)
    for seconds, action in ((3, "update"), (2, "delete"), (1, "login")):  # a sign-in is not a change to a record
        AuditEntry(user="sales_clerk", action=action, collection="customers", record_id=str(mine.pk),
                   record_label=mine.name, at=start - dt.timedelta(seconds=seconds)).save()
    page = as_role("sales_clerk").get("/").data.decode()
    rows = re.findall(r'<tr data-record="customers/' + str(mine.pk) + r'">(.*?)</tr>', page, re.S)
    assert len(rows) == 2  # newest first: the deletion (nothing to link), then the update (its page)
    assert "Deleted" in rows[0] and "href=" not in rows[0]
    assert "Updated" in rows[1] and f'href="/customers/show/{mine.pk}"' in rows[1]
    assert "customers/" + str(mine.pk) not in as_role("sales_rep").get("/").data.decode()  # only my own changes


def test_the_home_page_costs_a_fixed_number_of_round_trips__issue_9_1(as_role, counter, db):
    def seed(n):
        for _ in range(n):
            overdue_receivable()
            overdue_complaint()
            low_stock()
            open_retake()
            late_appraisal()

    def cost(browser) -> int:
        browser.get("/")  # warm: role ids, permission names
        counter.reset()
        assert browser.get("/").status_code == 200
        return data_round_trips(counter)

    users = {name: as_role(name) for name in ("sales_head", "sales_rep", "hr", "branch_head", "service_clerk")}
    seed(3)
    small = {name: cost(b) for name, b in users.items()}
    seed(27)
    large = {name: cost(b) for name, b in users.items()}
    assert large == small, (small, large)
    assert max(large.values()) <= 60
    page = users["sales_rep"].get("/").data.decode()
    assert re.search(r'data-count="receivable_overdue">(\d+)<', page).group(1) == str(
        len([d for d in reminders.due_for("sales_rep") if d.kind == "receivable_overdue"]))
    assert 'href="/receivables/list/?_flt_0_state=open"' in page  # a long group links to the list


def test_every_source_reads_its_items_in_a_fixed_number_of_queries__issue_9_1(counter, db):
    """What `portal remind` and `--dry-run` read: no query per row, whatever the number of overdue items."""
    line = budget_line(annual="900000")

    def seed(n):
        for _ in range(n):
            overdue_approval(line)
            ending_contract()
            overdue_receivable()
            overdue_complaint()
            low_stock()
            open_retake()
            late_appraisal()

    def cost() -> int:
        counter.reset()
        reminders.pending()
        return data_round_trips(counter)

    seed(2)
    small = cost()
    seed(18)
    large = cost()
    assert large == small


def test_portal_remind_dry_run_lists_and_sends_nothing__issue_9_1(app, seeded):
    before = Notification.objects.count()
    stamps = Receivable._get_collection().find_one({"_id": seeded["receivable"]})
    result = app.test_cli_runner().invoke(args=["portal", "remind", "--dry-run"])
    assert result.exit_code == 0
    assert f"/receivables/show/{seeded['receivable']}" in result.output and "to send" in result.output
    assert Notification.objects.count() == before
    assert Receivable._get_collection().find_one({"_id": seeded["receivable"]}) == stamps
    unknown = app.test_cli_runner().invoke(args=["portal", "remind", "--user", "nobody-here"])
    assert unknown.exit_code != 0 and "No user named 'nobody-here'" in unknown.output
    assert Notification.objects.count() == before


def test_a_login_without_an_employee_has_nothing_due__issue_9_1(app, make_user, signed_in):
    user = make_user("Clerk")
    assert reminders.due_for(PortalUser.objects(pk=user.pk).first()) == []
    page = signed_in(user).get("/").data.decode()
    assert "not linked to an employee record" in page and "data-due-kind" not in page
    result = app.test_cli_runner().invoke(args=["portal", "remind", "--dry-run", "--user", user.username])
    assert result.exit_code != 0 and "not linked to an employee record" in result.output
