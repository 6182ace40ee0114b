"""The appraisal boards as their users work them: My team side by side (BRD 6(4)2), the department review with its
calibration against the target distribution and the per-row refusals (BRD 6(4)3), HR's cycle board (BRD 6(3),
DSC 4(2)1); scope (a head of another unit sees nothing of this unit), bad arguments, and the fixed round-trips
with ten times more appraisals."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from bson import ObjectId

from models.appraisal import STATES, Appraisal, AppraisalCycle, AppraisalLine
from models.org import Employee
from models.settings import Setting
from portal import appraisal_boards as boards
from portal import approvals
from portal.settings import local_today
from tests.approvals_kit import person, unit
from tests.conftest import data_round_trips

FORM = "/resetmypassword/form"  # a page with a CSRF token for people the review page shows no form
LINES = (("sales_completion", "销售完成率", Decimal("60")), ("teamwork", "团队协作", Decimal("40")))


def text(response) -> str:
    return response.data.decode()


def rows_of(page: str, marker: str = "data-appraisal") -> dict[str, dict]:
    """The data attributes of each table row of a board, by the row's id."""
    found = {}
    for match in re.finditer(rf'<tr {marker}="([^"]+)"([^>]*)>', page):
        found[match.group(1)] = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', match.group(2)))
    return found


def make_cycle(**fields) -> AppraisalCycle:
    """An open monthly cycle of last month for the whole company."""
    first = local_today().replace(day=1)
    end = first - dt.timedelta(days=1)
    values = {"name": "测试考核", "period_kind": "month", "period": f"{end:%Y-%m}", "self_due": first,
              "evaluation_due": first + dt.timedelta(days=3), "review_due": first + dt.timedelta(days=6),
              "status": "open", "owner_unit": unit("HQ"), **fields}
    return AppraisalCycle(**values).save()


def make_appraisal(cycle, who, state="department_review", own=(80, 90), superior=(90, 70), final=None,
                   step_due=None, total=None, grade=None, **fields) -> Appraisal:
    """An appraisal of `who` (a demo username or an Employee) at `state`, with its two indicators scored."""
    employee = person(who) if isinstance(who, str) else who
    lines = []
    for number, (key, name, weight) in enumerate(LINES):
        lines.append(AppraisalLine(
            key=key, name=name, weight=weight, measure="quantitative", rule="score_is_actual",
            self_score=Decimal(own[number]) if own else None,
            superior_score=Decimal(superior[number]) if superior else None,
            final_score=Decimal(final[number]) if final else None))
    return Appraisal(cycle=cycle, employee=employee, appraiser=employee.manager, owner_unit=employee.owner_unit,
                     template_name="销售人员考核", staff_kind=employee.staff_kind, period_kind=cycle.period_kind,
                     period=cycle.period, lines=lines, state=state,
                     step_due=step_due if step_due is not None else local_today() + dt.timedelta(days=3),
                     total=total, grade=grade, **fields).save()


def sales_staff() -> list[Employee]:
    """Three staff of 销售部 besides the accounts (appraiser: the head, 张伟)."""
    return list(Employee.objects(owner_unit=unit("BR-SALES"), employee_no__startswith="E01").order_by("employee_no")
                .limit(3))


# ---- the query layer -------------------------------------------------------------------------------------------
def test_the_distribution_compares_counts_and_percents_with_the_target_shares_BRD_6_4_3(db):
    result = boards.distribution(["A", "A", "B", "C", "C", "C", "D", None], boards.target_shares())
    rows = {r["grade"]: r for r in result["rows"]}
    assert (result["graded"], result["ungraded"]) == (7, 1)
    assert (rows["A"]["count"], rows["A"]["percent"], rows["A"]["target"]) == (2, Decimal("28.6"), 10)
    assert rows["A"]["target_count"] == Decimal("0.7") and rows["A"]["gap"] == Decimal("1.3") and rows["A"]["over"]
    assert (rows["E"]["count"], rows["E"]["percent"], rows["E"]["over"]) == (0, Decimal("0.0"), False)
    assert [r["percent"] for r in result["rows"]] == [Decimal(p) for p in ("28.6", "14.3", "42.9", "14.3", "0.0")]


def test_the_target_distribution_is_a_setting_BRD_6_1_1(db):
    assert boards.target_shares() == {"A": 10, "B": 20, "C": 40, "D": 20, "E": 10}
    Setting._get_collection().update_one({"key": "appraisal_target_share_a"},
                                         {"$set": {"key": "appraisal_target_share_a", "kind": "int", "value": "15"}},
                                         upsert=True)
    assert boards.target_shares()["A"] == 15


def test_who_must_act_on_an_overdue_review_is_the_head_of_the_unit_never_the_employee_BRD_6_4_3(db):
    units = boards.org_units()
    sales = unit("BR-SALES").pk
    dept_heads = set(approvals.role_holders("DeptHead"))
    assert boards.head_for(units, sales, person("sales_rep").pk, dept_heads) == person("sales_head").pk
    assert boards.head_for(units, sales, person("sales_head").pk, dept_heads) == person("branch_head").pk


# ---- My team (BRD 6(4)2) -----------------------------------------------------------------------------------------
def test_my_team_shows_each_report_side_by_side_with_self_and_superior_scores_BRD_6_4_2(as_role, db):
    cycle = make_cycle()
    waiting = make_appraisal(cycle, "sales_rep", state="superior_evaluation", superior=None)
    reviewed = make_appraisal(cycle, "sales_clerk", state="feedback", final=(90, 70), total=Decimal("82.00"),
                              grade="B")
    late = make_appraisal(cycle, sales_staff()[0], state="self_assessment", own=None, superior=None,
                          step_due=local_today() - dt.timedelta(days=2))
    page = text(as_role("sales_head").get(f"/appraisal-team/?cycle={cycle.pk}"))
    rows = rows_of(page)
    assert rows[str(waiting.pk)]["self"] == "84.00" and rows[str(waiting.pk)]["superior"] == ""
    assert rows[str(waiting.pk)]["action"] == "evaluate" and "portal-evaluate" in page
    assert (rows[str(reviewed.pk)]["superior"], rows[str(reviewed.pk)]["final"],
            rows[str(reviewed.pk)]["grade"]) == ("82.00", "82.00", "B")
    assert rows[str(late.pk)]["overdue"] == "yes" and rows[str(reviewed.pk)]["overdue"] == "no"
    assert "销售完成率" in page and "团队协作" in page  # the indicators are columns
    assert f'href="/appraisals/show/{waiting.pk}"' in page  # the appraisal's page, where the superior evaluates


def test_my_team_holds_only_the_people_i_appraise_or_whose_unit_i_head(as_role, db):
    cycle = make_cycle()
    rep = make_appraisal(cycle, "sales_rep")
    own = make_appraisal(cycle, "sales_head")
    other = make_appraisal(cycle, "service_clerk")
    rows = rows_of(text(as_role("sales_head").get(f"/appraisal-team/?cycle={cycle.pk}")))
    assert str(rep.pk) in rows and str(own.pk) not in rows and str(other.pk) not in rows
    branch = rows_of(text(as_role("branch_head").get(f"/appraisal-team/?cycle={cycle.pk}")))
    assert str(own.pk) in branch and branch[str(own.pk)]["action"] == "review"  # the branch head reviews 张伟
    assert rows_of(text(as_role("Employee").get(f"/appraisal-team/?cycle={cycle.pk}"))) == {}


# ---- department review with calibration (BRD 6(4)3) -------------------------------------------------------------
def _review_url(cycle, **args) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"cycle": cycle.pk, "unit": unit("BR-SALES").pk, **args}.items())
    return f"/appraisal-review/?{query}"


def _finals(item, *scores) -> dict:
    return {f"final-{item.pk}-{key}": str(score) for (key, _n, _w), score in zip(LINES, scores, strict=True)}


def test_the_review_lists_the_unit_sortable_with_its_distribution_against_the_target_BRD_6_4_3(as_role, db):
    cycle = make_cycle()
    low = make_appraisal(cycle, "sales_rep", superior=(60, 50))  # 56.00: E
    high = make_appraisal(cycle, "sales_clerk", superior=(95, 90))  # 93.00: A
    make_appraisal(cycle, sales_staff()[0], state="closed", final=(80, 80), total=Decimal("80.00"), grade="B")
    make_appraisal(cycle, sales_staff()[1], state="self_assessment", own=None, superior=None)
    head = as_role("sales_head")
    page = text(head.get(_review_url(cycle)))
    rows = rows_of(page)
    assert list(rows) == [str(high.pk), str(low.pk)]  # by superior total, highest first
    assert (rows[str(high.pk)]["final"], rows[str(high.pk)]["grade"]) == ("93.00", "A")
    assert (rows[str(low.pk)]["final"], rows[str(low.pk)]["grade"]) == ("56.00", "E")
    grades = rows_of(page, "data-grade")
    assert {g: grades[g]["count"] for g in "ABCDE"} == {"A": "1", "B": "1", "C": "0", "D": "0", "E": "1"}
    assert grades["A"]["percent"] == "33.3" and grades["A"]["target"] == "10"
    chart = page.split("portal-grade-chart")[1][:3000]
    assert "<svg" in page and 'data-kind="target"' in chart and "<script" not in chart  # drawn on the server
    ascending = rows_of(text(head.get(_review_url(cycle, sort="superior_asc"))))
    assert list(ascending) == [str(low.pk), str(high.pk)]
    assert rows_of(text(head.get(_review_url(cycle, sort="zzz")))) == rows  # an unknown sort keeps the default


def test_the_head_adjusts_recalculates_and_confirms_the_review_BRD_6_4_3(as_role, db):
    cycle = make_cycle()
    rep = make_appraisal(cycle, "sales_rep", superior=(90, 70))  # 82.00: B
    clerk = make_appraisal(cycle, "sales_clerk", superior=(70, 70))  # 70.00: C
    head = as_role("sales_head")
    url = _review_url(cycle)
    form = {"cycle": str(cycle.pk), "unit": str(unit("BR-SALES").pk), **_finals(rep, 95, 90), **_finals(clerk, 70, 70)}
    preview = head.post_form("/appraisal-review/confirm", {**form, "do": "preview"}, url)
    assert preview.status_code == 200
    rows = rows_of(text(preview))
    assert (rows[str(rep.pk)]["final"], rows[str(rep.pk)]["grade"]) == ("93.00", "A")  # recalculated, not saved
    assert rep.reload().state == "department_review" and rep.lines[0].final_score is None
    assert rows_of(text(preview), "data-grade")["A"]["count"] == "1"

    done = head.post_form("/appraisal-review/confirm", {**form, "do": "confirm", "pick": [str(rep.pk)],
                                                        f"comment-{rep.pk}": "季度冲刺表现突出"}, url)
    assert done.status_code == 302
    rep.reload()
    assert rep.state == "feedback" and rep.total == Decimal("93.00") and rep.grade == "A"
    assert [line.final_score for line in rep.lines] == [Decimal("95.00"), Decimal("90.00")]
    assert clerk.reload().state == "department_review"  # not ticked: left as it was
    after = text(head.get(url))
    assert str(rep.pk) not in rows_of(after) and rows_of(after, "data-grade")["A"]["count"] == "1"


def test_a_bad_score_on_recalculate_is_shown_in_its_cell_and_nothing_is_saved_BRD_6_4_3(as_role, db):
    cycle = make_cycle()
    rep = make_appraisal(cycle, "sales_rep")
    head = as_role("sales_head")
    form = {"cycle": str(cycle.pk), "unit": str(unit("BR-SALES").pk), **_finals(rep, "9x", 80), "do": "preview"}
    page = text(head.post_form("/appraisal-review/confirm", form, _review_url(cycle)))
    assert "Enter a number." in page and 'value="9x"' in page and rows_of(page)[str(rep.pk)]["final"] == ""
    assert rep.reload().state == "department_review"


def test_a_refusal_is_shown_on_its_row_and_the_others_go_through_BRD_6_4_3(as_role, db):
    cycle = make_cycle()
    rep = make_appraisal(cycle, "sales_rep")
    clerk = make_appraisal(cycle, "sales_clerk")
    head = as_role("sales_head")
    url = _review_url(cycle)
    form = {"cycle": str(cycle.pk), "unit": str(unit("BR-SALES").pk), **_finals(rep, "abc", 80),
            **_finals(clerk, 85, 85), "do": "confirm", "pick": [str(rep.pk), str(clerk.pk)]}
    response = head.post_form("/appraisal-review/confirm", form, url)
    assert response.status_code == 422
    page = text(response)
    assert "Some appraisals were not confirmed" in page and 'value="abc"' in page  # kept as typed, on its row
    assert "Reviews confirmed: 1." in page
    assert rows_of(page)[str(rep.pk)] and "portal-cell-error" in page
    assert rep.reload().state == "department_review" and clerk.reload().state == "feedback"
    nothing = head.post_form("/appraisal-review/confirm", {**form, "pick": []}, url)
    assert nothing.status_code == 422 and "Tick the appraisals to confirm first." in text(nothing)


def test_the_review_refuses_a_head_who_is_the_employee_and_auditor_only_reads_BRD_6_4_3(as_role, db):
    cycle = make_cycle()
    own = make_appraisal(cycle, "sales_head")
    head = as_role("sales_head")
    assert str(own.pk) not in rows_of(text(head.get(_review_url(cycle))))  # never one's own review
    crafted = head.post_form("/appraisal-review/confirm", {"cycle": str(cycle.pk), "do": "confirm",
                                                          "pick": [str(own.pk)], **_finals(own, 90, 90)}, FORM)
    assert crafted.status_code == 422 and own.reload().state == "department_review"
    assert "never the employee" in text(crafted)  # said, though the row is not on the page
    auditor = text(as_role("Auditor").get(_review_url(cycle)))
    assert "portal-calibration" not in auditor and str(own.pk) in rows_of(auditor)


# ---- the HR cycle board (BRD 6(3), DSC 4(2)1) ---------------------------------------------------------------
def test_the_board_shows_progress_per_step_and_unit_and_who_must_act_on_overdue_steps_BRD_6_3(as_role, db):
    cycle = make_cycle(without_template=[person("legal")])
    past = local_today() - dt.timedelta(days=4)
    self_late = make_appraisal(cycle, "sales_rep", state="self_assessment", own=None, superior=None, step_due=past)
    review_late = make_appraisal(cycle, "sales_clerk", step_due=past)
    make_appraisal(cycle, "service_clerk", state="feedback", final=(90, 90), total=Decimal("90.00"), grade="A")
    make_appraisal(cycle, "sales_head", state="closed", final=(65, 65), total=Decimal("65.00"), grade="D")
    page = text(as_role("HR").get(f"/appraisal-board/?cycle={cycle.pk}"))
    matrix = rows_of(page, "data-unit")
    sales = matrix[str(unit("BR-SALES").pk)]
    assert sales["total"] == "3" and matrix[str(unit("BR-CS").pk)]["total"] == "1"
    assert re.search(r'data-total-state="department_review"><strong>(<a [^>]*>)?1', page)
    overdue = rows_of(page)
    assert overdue[str(self_late.pk)]["actor"] == person("sales_rep").name  # the employee self-assesses
    assert overdue[str(review_late.pk)]["actor"] == person("sales_head").name  # the head reviews
    grades = rows_of(page, "data-grade")
    assert (grades["A"]["count"], grades["D"]["count"], grades["B"]["count"]) == ("1", "1", "0")
    assert person("legal").name in page.split('id="without-template"')[1]
    assert 'id="kpi-total">4<' in page and 'id="kpi-overdue">2<' in page


def test_the_board_links_each_count_to_the_appraisal_list_filtered_to_it_BRD_6_3(as_role, db):
    cycle = make_cycle()
    rep = make_appraisal(cycle, "sales_rep", state="self_assessment", own=None, superior=None)
    clerk = make_appraisal(cycle, "sales_clerk")
    hr = as_role("HR")
    page = text(hr.get(f"/appraisal-board/?cycle={cycle.pk}"))
    cell = re.search(r'data-state="self_assessment"><a href="([^"]+)">1</a>', page)
    assert cell, "the count links to the list"
    listed = text(hr.get(cell.group(1).replace("&amp;", "&")))
    assert f"/appraisals/show/{rep.pk}" in listed and f"/appraisals/show/{clerk.pk}" not in listed


def test_the_board_narrows_to_a_unit_and_its_subtree(as_role, db):
    cycle = make_cycle()
    make_appraisal(cycle, "sales_rep")
    make_appraisal(cycle, "service_clerk")
    page = text(as_role("HR").get(f"/appraisal-board/?cycle={cycle.pk}&unit={unit('BR-CS').pk}"))
    assert list(rows_of(page, "data-unit")) == [str(unit("BR-CS").pk)]
    east = text(as_role("HR").get(f"/appraisal-board/?cycle={cycle.pk}&unit={unit('BR-EAST').pk}"))
    assert {str(unit("BR-CS").pk), str(unit("BR-SALES").pk)} <= set(rows_of(east, "data-unit"))


# ---- scope: scores only for the employee, the managers up the tree, HR, Admin and Auditor ------------------------
def test_a_head_of_another_unit_sees_nothing_of_this_unit_on_any_board(as_role, db):
    cycle = make_cycle(without_template=[person("sales_clerk")])
    rep = make_appraisal(cycle, "sales_rep", step_due=local_today() - dt.timedelta(days=1))
    other = as_role("service_head")
    for url in (f"/appraisal-team/?cycle={cycle.pk}", f"/appraisal-review/?cycle={cycle.pk}",
                f"/appraisal-board/?cycle={cycle.pk}"):
        page = text(other.get(url))
        assert str(rep.pk) not in page and person("sales_rep").name not in page, url
        assert str(unit("BR-SALES").pk) not in rows_of(page, "data-unit"), url
        assert person("sales_clerk").name not in page, url
    assert other.get(_review_url(cycle)).status_code == 404  # a unit outside theirs
    assert other.get(f"/appraisal-board/?cycle={cycle.pk}&unit={unit('BR-SALES').pk}").status_code == 404
    assert str(rep.pk) in text(as_role("branch_head").get(f"/appraisal-board/?cycle={cycle.pk}"))  # up the tree


def test_a_clerk_opens_neither_the_review_nor_the_board(as_role, db):
    cycle = make_cycle()
    make_appraisal(cycle, "sales_rep")
    clerk = as_role("Clerk")
    assert clerk.get(f"/appraisal-review/?cycle={cycle.pk}").status_code == 302
    assert clerk.get(f"/appraisal-board/?cycle={cycle.pk}").status_code == 302
    assert rows_of(text(clerk.get(f"/appraisal-team/?cycle={cycle.pk}"))) == {}


# ---- every page renders; bad arguments ------------------------------------------------------------------------
PAGES = ["/appraisal-team/", "/appraisal-review/", "/appraisal-board/"]


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize("role", ["Admin", "HR", "sales_head"])
def test_every_board_renders(as_role, db, url, role):
    make_appraisal(make_cycle(), "sales_rep")
    assert as_role(role).get(url).status_code == 200


@pytest.mark.parametrize("query", ["cycle=x", f"cycle={'0' * 24}", "unit=x", f"unit={'0' * 24}",
                                   "cycle=%24ne", "unit[$ne]=1"])
@pytest.mark.parametrize("url", PAGES)
def test_bad_arguments_answer_404_never_500(as_role, db, url, query):
    make_cycle()
    status = as_role("HR").get(f"{url}?{query}").status_code
    ignored = "[$ne]" in query or (url == "/appraisal-team/" and query.startswith("unit"))  # My team has no unit
    assert status == (200 if ignored else 404)


def test_a_crafted_confirm_answers_in_place(as_role, db):
    head = as_role("sales_head")
    token = head.token(FORM)
    for data in ({"do": "confirm", "pick": ["bad", "0" * 24]}, {"do": "confirm", "cycle": "x"},
                 {"do": "preview", "final-x": "1", "final-" * 3: "y"}):
        status = head.post("/appraisal-review/confirm", {**data, "csrf_token": token}).status_code
        assert status in (200, 404, 422)


# ---- fixed round-trips ------------------------------------------------------------------------------------------
def demo_cycle() -> AppraisalCycle:
    """The demo's monthly cycle of 销售部, launched, with appraisals at every step."""
    return AppraisalCycle.objects(owner_unit=unit("BR-SALES"), period_kind="month").order_by("-end").first()


def _ten_times(cycle) -> int:
    """Nine more copies of each appraisal of `cycle`, for as many new employees of 销售部, written directly, at
    every step and some overdue: ten times the volume. Returns the number of appraisals now in the cycle."""
    originals = list(Appraisal._get_collection().find({"cycle": cycle.pk}))
    states = [key for key, _label in STATES]
    people, copies = [], []
    for n in range(9 * len(originals)):
        raw = originals[n % len(originals)]
        someone = {"_id": ObjectId(), "employee_no": f"X{n:05d}", "name": f"批量员工{n}", "status": "active",
                   "owner_unit": unit("BR-SALES").pk, "staff_kind": "sales", "manager": person("sales_head").pk,
                   "version": 0}
        people.append(someone)
        copies.append({**raw, "_id": ObjectId(), "employee": someone["_id"], "appraiser": someone["manager"],
                       "owner_unit": someone["owner_unit"], "state": states[n % len(states)],
                       "step_due": dt.datetime.combine(local_today() + dt.timedelta(days=n % 5 - 2), dt.time())})
    Employee._get_collection().insert_many(people)
    Appraisal._get_collection().insert_many(copies)
    return len(originals) + len(copies)


ROUND_TRIP_PAGES = [("sales_head", "/appraisal-team/"), ("HR", "/appraisal-board/"),
                    ("sales_head", "/appraisal-board/"), ("sales_head", "/appraisal-review/"),
                    ("HR", "/appraisal-review/")]


@pytest.mark.parametrize(("role", "url"), ROUND_TRIP_PAGES)
def test_the_boards_cost_the_same_round_trips_with_ten_times_the_demo_appraisals(app, counter, as_role, db, role,
                                                                                  url):
    cycle = demo_cycle()
    browser = as_role(role)
    url = f"{url}?cycle={cycle.pk}"
    browser.get(url)
    counter.reset()
    browser.get(url)
    before, first = data_round_trips(counter), counter.by_collection()
    demo = Appraisal.objects(cycle=cycle).count()
    assert _ten_times(cycle) == 10 * demo
    counter.reset()
    page = text(browser.get(url))
    assert data_round_trips(counter) == before <= 12, (str(first), str(counter.by_collection()))
    assert "批量员工" in page or 'data-total="' in page


# ---- review findings of issue 8 --------------------------------------------------------------------------------------
def test_who_must_act_on_a_review_is_the_nearest_head_holding_depthead_M5_BRD_6_4_3(as_role, db):
    cycle = make_cycle()
    staff = Employee.objects(owner_unit=unit("BR-FIN"), employee_no__startswith="E01").order_by("employee_no").first()
    late = make_appraisal(cycle, staff, step_due=local_today() - dt.timedelta(days=2))  # 黄磊 heads, holds Finance
    overdue = rows_of(text(as_role("HR").get(f"/appraisal-board/?cycle={cycle.pk}")))
    assert overdue[str(late.pk)]["actor"] == person("branch_head").name
    team = text(as_role("finance").get(f"/appraisal-team/?cycle={cycle.pk}"))
    assert rows_of(team)[str(late.pk)]["action"] == ""  # no review offered to a head who cannot review
    review = text(as_role("branch_head").get(_review_url(cycle, unit=unit("BR-FIN").pk)))
    assert str(late.pk) in rows_of(review) and "portal-calibration" in review  # where 李志强 reviews it


def test_the_demo_month_falls_due_on_the_tenth_so_the_board_shows_overdue_steps_BRD_6_3(as_role, db):
    cycle = demo_cycle()
    today = local_today()
    if today.day > 10:
        assert cycle.self_due == today.replace(day=10)
        page = text(as_role("HR").get(f"/appraisal-board/?cycle={cycle.pk}"))
        rep = Appraisal.objects(cycle=cycle, employee=person("sales_rep")).first()
        assert rows_of(page)[str(rep.pk)]["state"] == "self_assessment" and 'id="kpi-overdue">0<' not in page
    else:
        assert cycle.self_due == today + dt.timedelta(days=3)
    assert cycle.review_due >= today + dt.timedelta(days=7)  # the 360 requests of the demo stay open
