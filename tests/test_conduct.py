"""Rules of DOMAIN 3.8 (attendance, violations, gift declarations), one test per rule, named after its clause."""

import datetime as dt
from decimal import Decimal

import pytest
from mongoengine import NotUniqueError, ValidationError

from models.agents import AgentTier
from models.approvals import Notification
from models.audit import AuditEntry
from models.conduct import AttendanceRecord, GiftDeclaration, LeaveRequest, Violation
from models.org import Position
from models.settings import DEFAULTS, Setting
from portal import approvals, conduct, reminders
from portal.approvals import Refused
from portal.settings import local_today
from tests.approvals_kit import actor, fields_of, person, unit

MONDAY = dt.date(2025, 3, 3)  # a month with no demo attendance


def set_setting(key: str, value: str) -> None:
    row = Setting.objects(key=key).first() or Setting(key=key, kind=DEFAULTS[key][0])
    row.value = value
    row.save()


def attend(username: str, day: dt.date = MONDAY, check_in="08:55", check_out="18:05", **fields) -> AttendanceRecord:
    return AttendanceRecord(employee=person(username), date=day, check_in=check_in, check_out=check_out,
                            **fields).save()


def violation(username: str = "sales_rep", measure: str = "warning", **fields) -> Violation:
    if measure == "warning":
        fields.setdefault("correction_deadline", local_today() + dt.timedelta(days=10))
    if measure == "fine":
        fields.setdefault("fine_amount", Decimal("200.00"))
    values = {"person": person(username), "occurred_on": local_today() - dt.timedelta(days=3), "category": "duty",
              "description": "未按时提交周报", "measure": measure, **fields}
    return Violation(**values).save()


def reload(document):
    return type(document).objects(pk=document.pk).first()


# ---- attendance (FSS 4(1)1) -------------------------------------------------------------------------------------
def test_attendance_status_is_derived_from_the_working_day_FSS_4_1_1(db):
    assert attend("finance", MONDAY, "09:05", "18:00").status == "normal"  # within the five grace minutes
    late = attend("finance", MONDAY + dt.timedelta(days=1), "09:06", "18:00")
    assert (late.status, late.late, late.left_early) == ("late", True, False)
    early = attend("finance", MONDAY + dt.timedelta(days=2), "08:50", "17:59")
    assert (early.status, early.late, early.left_early) == ("early_leave", False, True)
    both = attend("finance", MONDAY + dt.timedelta(days=3), "10:00", "16:00")
    assert (both.status, both.late, both.left_early) == ("late", True, True)
    assert attend("finance", MONDAY + dt.timedelta(days=4), None, None).status == "absent"
    set_setting("work_start", "10:30")  # Admin moves the working day: the same times are derived again
    set_setting("attendance_grace_minutes", "0")
    late.check_in = "10:00"
    assert late.save().status == "normal"


def test_a_day_of_approved_leave_is_on_approved_leave_FSS_4_1_1(db):
    leave = LeaveRequest(employee=person("finance"), kind="sick", start=MONDAY, end=MONDAY + dt.timedelta(days=1),
                         reason="发烧").save()
    assert attend("finance", MONDAY, None, None).status == "absent"  # asked for, not approved: no excuse
    LeaveRequest._get_collection().update_one({"_id": leave.pk}, {"$set": {"status": "approved"}})
    covered = attend("finance", MONDAY + dt.timedelta(days=1), None, None)
    assert covered.status == "leave" and covered.leave.pk == leave.pk
    assert attend("finance", MONDAY + dt.timedelta(days=2), None, None).status == "absent"  # after the leave


def test_a_day_recorded_before_its_leave_was_approved_turns_to_leave_on_approval_FSS_4_1_1(db):
    today = local_today()
    leave = LeaveRequest(employee=person("sales_rep"), kind="sick", start=today, end=today, reason="就医").save()
    request_id = approvals.submit(leave, actor("sales_rep"))
    day = attend("sales_rep", today, None, None)
    assert day.status == "absent"  # recorded while the leave still waited for the head
    approvals.decide(request_id, actor("sales_head"), "approve", "")
    assert reload(leave).status == "approved" and reload(day).status == "leave"


def test_one_attendance_record_per_employee_and_day_FSS_4_1_1(db):
    attend("finance")
    with pytest.raises(ValidationError) as raised:
        attend("finance", check_in="09:30")
    assert "date" in fields_of(raised)
    assert "already has an attendance record" in str(raised.value)
    twin = AttendanceRecord(employee=person("finance"), date=MONDAY, status="normal").to_mongo()
    twin.pop("_id", None)
    with pytest.raises(NotUniqueError):  # the unique index holds even when two clerks save at once
        AttendanceRecord.objects.insert(AttendanceRecord._from_son(twin), load_bulk=False)
    assert attend("legal").status == "normal"  # another employee, the same day


@pytest.mark.parametrize(("check_in", "check_out", "day", "field"), [
    ("25:00", "18:00", MONDAY, "check_in"), ("9h", "18:00", MONDAY, "check_in"), ("09:00", "7:61", MONDAY, "check_out"),
    ("18:00", "09:00", MONDAY, "check_out"), ("09:00", "18:00", dt.date(2100, 1, 4), "date"),
])
def test_check_times_and_days_are_validated_FSS_4_1_1(db, check_in, check_out, day, field):
    with pytest.raises(ValidationError) as raised:
        attend("finance", day, check_in, check_out)
    assert field in fields_of(raised)
    assert attend("finance", MONDAY, "8:05", "18:00").check_in == "08:05"  # written the short way


def test_the_working_day_settings_are_times_of_day_FSS_4_1_1(db):
    row = Setting.objects(key="work_start").first() or Setting(key="work_start", kind="time")
    row.value = "25:61"
    with pytest.raises(ValidationError) as raised:
        row.save()
    assert "value" in fields_of(raised)
    row.value = "8:30"
    assert row.save().value == "08:30" and row.typed() == dt.time(8, 30)


def test_the_monthly_summary_counts_each_employees_days_FSS_4_1_1(db):
    days = [MONDAY + dt.timedelta(days=n) for n in range(5)]
    for day, (check_in, check_out) in zip(days, (("08:50", "18:00"), ("09:30", "18:00"), ("09:40", "17:00"),
                                                 (None, None), ("08:59", "17:30")), strict=True):
        attend("finance", day, check_in, check_out)
    attend("legal", days[0])
    attend("finance", dt.date(2025, 4, 1))  # next month: not counted
    rows = {row["name"]: row for row in conduct.monthly_summary({}, dt.date(2025, 3, 1), dt.date(2025, 3, 31))}
    assert {k: rows["黄磊"][k] for k in ("days", "normal", "late", "early_leave", "absent", "leave")} == {
        "days": 5, "normal": 1, "late": 2, "early_leave": 2, "absent": 1, "leave": 0}
    assert rows["周婷"]["days"] == 1 and set(rows) == {"黄磊", "周婷"}
    only = conduct.monthly_summary({"employee": person("legal").pk}, dt.date(2025, 3, 1), dt.date(2025, 3, 31))
    assert [row["name"] for row in only] == ["周婷"]


# ---- violations (MIC 違規處理, FSS 4) ---------------------------------------------------------------------------
def test_a_violation_falls_in_one_of_the_three_categories_MIC_違規處理_違規行為界定_1(db):
    for category in ("law", "harm", "duty"):  # 違規行為界定/1, /2, /3
        assert violation(category=category).number.startswith("WJ-")
    with pytest.raises(ValidationError) as raised:
        violation(category="gossip")
    assert "category" in fields_of(raised)


def test_a_warning_needs_a_correction_deadline_in_the_future_MIC_違規處理_違規處理措施_1(db):
    with pytest.raises(ValidationError) as raised:
        violation(correction_deadline=None)
    assert "correction_deadline" in fields_of(raised)
    with pytest.raises(ValidationError) as raised:
        violation(correction_deadline=local_today())
    assert "correction_deadline" in fields_of(raised)
    kept = violation(fine_amount=Decimal("50.00"))
    assert kept.fine_amount is None  # only the chosen measure's own field is kept


def test_a_fine_needs_an_amount_above_zero_MIC_違規處理_違規處理措施_2(db):
    for amount in (None, Decimal("0")):
        with pytest.raises(ValidationError) as raised:
            violation(measure="fine", fine_amount=amount)
        assert "fine_amount" in fields_of(raised)
    fined = violation(measure="fine", fine_amount=Decimal("300.00"))
    assert reload(fined).fine_amount == Decimal("300.00") and reload(fined).correction_deadline is None


def test_a_demotion_names_a_new_position_and_is_applied_to_the_employee_MIC_違規處理_違規處理措施_3(db):
    rep = person("sales_rep")
    manager_post, rep_post = Position.objects(name="销售经理").first(), Position.objects(name="销售代表").first()
    rep.position = manager_post
    rep.save()
    with pytest.raises(ValidationError) as raised:
        violation(measure="demotion")
    assert "new_position" in fields_of(raised)
    with pytest.raises(ValidationError) as raised:
        violation(measure="demotion", new_position=manager_post)  # not a demotion
    assert "new_position" in fields_of(raised)
    demotion = violation(measure="demotion", new_position=rep_post)
    conduct.decide(demotion, actor("hr"))
    assert reload(rep).position.pk == rep_post.pk
    assert reload(demotion).previous_position.pk == manager_post.pk
    entry = AuditEntry.objects(collection="employees", record_id=str(rep.pk)).order_by("-at").first()
    assert entry.note == "by hr" and entry.changes[0].field == "position"
    assert entry.changes[0].new == str(rep_post.pk)


def test_an_agents_downgrade_names_a_lower_tier_MIC_違規處理_違規處理措施_3(db):
    agent = person("agent")  # tier level 2
    with pytest.raises(ValidationError) as raised:
        violation("agent", measure="demotion", new_tier=AgentTier.objects(level=1).first())  # higher, not lower
    assert "new_tier" in fields_of(raised)
    lower = AgentTier.objects(level=3).first()
    downgrade = violation("agent", measure="demotion", new_tier=lower)
    conduct.decide(downgrade, actor("hr"))
    assert reload(agent).agent_tier.pk == lower.pk and reload(downgrade).previous_tier.level == 2


def test_deciding_fixes_the_measure_once_and_tells_the_person_MIC_違規處理_違規處理措施_1(db):
    recorded = violation()
    with pytest.raises(Refused, match="their own"):
        conduct.decide(violation("hr"), actor("hr"))
    conduct.decide(recorded, actor("hr"))
    decided = reload(recorded)
    assert decided.status == "decided" and decided.decided_by == "赵敏" and decided.decided_at is not None
    with pytest.raises(Refused, match="already decided"):
        conduct.decide(decided, actor("hr"))
    told = Notification.objects(recipient=person("sales_rep").pk, kind="violation_decided").first()
    assert told is not None and told.params["title"] == decided.number
    late = violation()
    Violation._get_collection().update_one({"_id": late.pk}, {"$set": {"correction_deadline": dt.datetime(2020, 1, 1)}})
    with pytest.raises(Refused, match="in the future"):  # the deadline passed before HR decided
        conduct.decide(reload(late), actor("hr"))


def test_the_person_acknowledges_and_reports_a_correction_that_hr_confirms_MIC_違規處理_違規處理措施_1(db):
    warning = violation()
    with pytest.raises(Refused):
        conduct.acknowledge(warning.pk, actor("sales_rep"))  # nothing decided yet
    conduct.decide(warning, actor("hr"))
    with pytest.raises(Refused, match="person concerned"):
        conduct.acknowledge(warning.pk, actor("sales_head"))
    with pytest.raises(Refused, match="Acknowledge"):
        conduct.report_correction(warning.pk, actor("sales_rep"), "已补录全部拜访记录")
    conduct.acknowledge(warning.pk, actor("sales_rep"))
    with pytest.raises(Refused, match="what you corrected"):
        conduct.report_correction(warning.pk, actor("sales_rep"), "  ")
    conduct.report_correction(warning.pk, actor("sales_rep"), "已补录全部拜访记录")
    assert Notification.objects(recipient=person("hr").pk, kind="correction_reported").count() == 1
    assert Notification.objects(recipient=person("sales_head").pk, kind="correction_reported").count() == 1
    with pytest.raises(Refused, match="Someone else"):
        conduct.confirm_correction(warning.pk, actor("sales_rep"), "")
    conduct.confirm_correction(warning.pk, actor("sales_head"), "已核实")
    done = reload(warning)
    assert done.status == "corrected" and done.confirmed_by == "张伟" and done.acknowledged_at is not None
    fine = violation(measure="fine")
    conduct.decide(fine, actor("hr"))
    conduct.acknowledge(fine.pk, actor("sales_rep"))
    with pytest.raises(Refused, match="Only a warning"):
        conduct.report_correction(fine.pk, actor("sales_rep"), "已缴纳")


def test_a_warning_past_its_deadline_is_reminded_once_to_the_person_and_their_head_MIC_違規處理_違規處理措施_1(db):
    warning = violation()
    conduct.decide(warning, actor("hr"))
    corrected = violation()
    conduct.decide(corrected, actor("hr"))
    past = dt.datetime.combine(local_today() - dt.timedelta(days=1), dt.time())
    Violation._get_collection().update_many({"_id": {"$in": [warning.pk, corrected.pk]}},
                                            {"$set": {"correction_deadline": past}})
    Violation._get_collection().update_one({"_id": corrected.pk}, {"$set": {"status": "corrected"}})
    sent = [s for s in conduct.violation_reminders(reminders.utcnow()) if s.kind == "violation_overdue"]
    assert [s.title for s in sent] == [warning.number] and sent[0].recipients == 2
    people = {n.recipient for n in Notification.objects(kind="violation_overdue")}
    assert people == {person("sales_rep").pk, person("sales_head").pk}
    assert conduct.violation_reminders(reminders.utcnow()) == []  # once
    assert reminders.SOURCES.count(conduct.violation_reminders) == 1


# ---- gifts (FSS 4(4)1) ----------------------------------------------------------------------------------------
def test_a_gift_is_refused_returned_or_handed_in_never_kept_FSS_4_4_1(db):
    def declare(**fields):
        values = {"employee": person("sales_rep"), "giver": "杭州瑞丰", "item": "购物卡", "value": Decimal("500"),
                  "offered_on": local_today(), "handling": "refused", **fields}
        return GiftDeclaration(**values).save()

    for handling, field in (("kept", "handling"), ("handed_in", "handed_to")):
        with pytest.raises(ValidationError) as raised:
            declare(handling=handling)
        assert field in fields_of(raised)
    with pytest.raises(ValidationError) as raised:
        declare(offered_on=local_today() + dt.timedelta(days=1))
    assert "offered_on" in fields_of(raised)
    handed = declare(handling="handed_in", handed_to="人力资源部")
    assert handed.owner_unit.pk == unit("BR-SALES").pk  # the declarer's unit: their head sees it
