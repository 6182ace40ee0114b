"""Training (DOMAIN 5; BRD 7, FSS 5, SOC 4.2, MIC 培訓管理, DSC 4(1)): needs, the annual plan with its courses,
sessions with participants and attendance, assessments with retakes and certificates, and trainees' feedback.

Attendance, scores, retakes and certificates change only through portal.training (one conditional update each);
these classes hold the data and its validation.
"""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from mongoengine import (
    DENY,
    NULLIFY,
    PULL,
    BooleanField,
    DateField,
    DateTimeField,
    DecimalField,
    Document,
    EmbeddedDocumentField,
    IntField,
    ListField,
    ReferenceField,
    StringField,
)

from models.approvals import ApprovableDocument, approvable
from models.common import MoneyField, OwnedDocument, PortalEmbedded, choices, field_error, money
from models.files import Attachment
from models.org import Employee, OrgUnit, owned_by_unit

NEED_SOURCES = choices(("questionnaire", _l("Questionnaire")), ("interview", _l("Interview")),
                       ("appraisal", _l("Performance appraisal")), ("other", _l("Other")))
PRIORITIES = choices(("high", _l("High")), ("medium", _l("Medium")), ("low", _l("Low")))
NEED_STATUSES = choices(("open", _l("Open")), ("planned", _l("Planned")), ("met", _l("Met")),
                        ("dropped", _l("Dropped")))
LIVE_NEEDS = ("open", "planned")
METHODS = choices(("internal", _l("Internal course")), ("external", _l("External course")),
                  ("online", _l("Online learning")), ("practice", _l("Hands-on practice")))
SESSION_KINDS = choices(
    ("onboarding", _l("Onboarding")), ("job_skills", _l("Job skills")), ("sales_techniques", _l("Sales techniques")),
    ("product", _l("Product knowledge")), ("industry", _l("Industry knowledge")),
    ("law", _l("Law and regulations")), ("customer_service", _l("Customer service")),
    ("team_management", _l("Team management")),
)
SESSION_STATUSES = choices(("planned", _l("Planned")), ("held", _l("Took place")), ("cancelled", _l("Cancelled")))
ATTENDANCE_MARKS = choices(("present", _l("Present")), ("late", _l("Late")), ("absent", _l("Did not attend")))
ATTENDED = ("present", "late")
ASSESSMENT_METHODS = choices(("exam", _l("Exam")), ("practice", _l("Practical task")),
                             ("essay", _l("Written reflection")), ("questionnaire", _l("Questionnaire")))
ASSESSMENT_STATUSES = choices(("retake_open", _l("Retake open")), ("passed", _l("Passed")),
                              ("failed", _l("Failed")))
RATINGS = choices((5, _l("5 · very good")), (4, _l("4 · good")), (3, _l("3 · fair")), (2, _l("2 · poor")),
                  (1, _l("1 · very poor")))
CERTIFICATE_PREFIX = "ZS"  # 证书: ZS-2026-0001


def ref_id(value):
    """The id behind a reference as stored or loaded (a Document, a DBRef or an ObjectId)."""
    return getattr(value, "pk", getattr(value, "id", value))


def loaded_name(value) -> str | None:
    """The name of a referenced record if it is loaded already (never a query), else None."""
    return getattr(value, "name", None) if isinstance(value, Document) else None


def closed_key(need_id) -> str:
    """The key of a met or dropped need: its own, so it never stands in the way of the same need raised again."""
    return f"closed:{need_id}"


def need_key(employee_id, unit_id, topic: str | None, reference: str | None) -> str:
    """What makes a need the same need: the person (or, for a unit's need, the unit), the topic (case and spacing
    aside) and the reference it came from."""
    whom = f"e:{employee_id}" if employee_id is not None else f"u:{unit_id}"
    return f"{whom}|{' '.join((topic or '').split()).casefold()}|{(reference or '').strip()}"


# ---- needs (BRD 7(1), FSS 5(1)) -------------------------------------------------------------------------------
@owned_by_unit
class TrainingNeed(OwnedDocument):
    """A training need of one employee or of a whole unit, found by questionnaire, interview or appraisal
    (BRD 7(1)1-2); planned by an approved training plan, then met or dropped."""

    meta = {"collection": "training_needs",
            "indexes": ["owner_unit", "employee", "status", "plan",
                        {"fields": ["live_key"], "unique": True, "sparse": True}],
            "ordering": ["-created_at"]}

    source = StringField(required=True, choices=NEED_SOURCES, default="questionnaire", verbose_name=_l("Source"))
    employee = ReferenceField(Employee, reverse_delete_rule=DENY, verbose_name=_l("Employee"))
    topic = StringField(required=True, max_length=120, verbose_name=_l("Topic"))
    description = StringField(max_length=2000, verbose_name=_l("Description"))
    priority = StringField(required=True, choices=PRIORITIES, default="medium", verbose_name=_l("Priority"))
    reference = StringField(max_length=120, verbose_name=_l("Reference"))
    status = StringField(required=True, choices=NEED_STATUSES, default="open", verbose_name=_l("Status"))
    plan = ReferenceField("TrainingPlan", verbose_name=_l("Training plan"))  # delete rule below TrainingPlan
    closed_by = StringField(max_length=64, verbose_name=_l("Closed by"))
    closed_at = DateTimeField(verbose_name=_l("Closed at"))
    closing_note = StringField(max_length=1000, verbose_name=_l("Closing note"))
    live = BooleanField(default=True)  # open or planned: at most one per person (or unit), topic and reference
    live_key = StringField(max_length=400)  # need_key() while live, "closed:<id>" after: unique either way

    def __str__(self) -> str:
        """The topic and whom it is for, read from references already loaded only: a select of needs reads
        nothing per option (views.training loads the people and units of its options in one query each)."""
        who = loaded_name(self._data.get("employee")) or loaded_name(self._data.get("owner_unit"))
        return f"{self.topic or ''} · {who or ''}".strip(" ·")

    def clean(self) -> None:
        self.topic = " ".join((self.topic or "").split())
        self.reference = (self.reference or "").strip() or None
        if not self.topic:
            raise field_error("topic", _l("Say what training is needed."))
        if self.employee is not None:
            self.owner_unit = self.employee.owner_unit
        if self.owner_unit is None:
            raise field_error("employee", _l("Name the employee, or the org unit, that needs this training."))
        self.live = self.status in LIVE_NEEDS
        if not self.live:
            self.live_key = closed_key(self.pk) if self.pk is not None else None
            return
        self.live_key = need_key(self.employee.pk if self.employee is not None else None, ref_id(self.owner_unit),
                                 self.topic, self.reference)
        same = type(self).objects(live_key=self.live_key, pk__ne=self.pk).only("id").first()
        if same is not None:
            raise field_error("topic", _l("This need is already recorded and still open."))


# ---- the annual plan (BRD 7(2), FSS 5(1)) ----------------------------------------------------------------------
class PlanCourse(PortalEmbedded):
    """One course of the plan: what, how, when, by whom and for how much (BRD 7(2)2, FSS 5(1)2)."""

    topic = StringField(required=True, max_length=120, verbose_name=_l("Topic"))
    content = StringField(max_length=2000, verbose_name=_l("Content"))
    method = StringField(required=True, choices=METHODS, default="internal", verbose_name=_l("Method"))
    kind = StringField(required=True, choices=SESSION_KINDS, default="job_skills", verbose_name=_l("Kind"))
    month = IntField(required=True, min_value=1, max_value=12, verbose_name=_l("Planned month"))
    trainer = StringField(max_length=120, verbose_name=_l("Trainer"))
    budget = MoneyField(verbose_name=_l("Budget (CNY)"))
    participants = IntField(min_value=0, max_value=100000, verbose_name=_l("Planned participants"))


@owned_by_unit
@approvable(_l("Training plan"))
class TrainingPlan(ApprovableDocument):
    """A unit's annual training plan from its needs: goals and courses; the department manager reviews it, then
    the branch leadership approves it (BRD 7(2)3)."""

    meta = {"collection": "training_plans", "indexes": ["owner_unit", "status", "year", "needs"],
            "ordering": ["-year"]}
    summary_fields = ("year", "owner_unit", "title", "goals", "budget_total", "courses")

    year = IntField(required=True, min_value=2000, max_value=2100, verbose_name=_l("Year"))
    title = StringField(required=True, max_length=120, verbose_name=_l("Title"))
    goals = StringField(required=True, max_length=4000, verbose_name=_l("Goals"))
    courses = ListField(EmbeddedDocumentField(PlanCourse), max_length=100, verbose_name=_l("Courses"))
    needs = ListField(ReferenceField(TrainingNeed, reverse_delete_rule=PULL), verbose_name=_l("Needs addressed"))
    budget_total = MoneyField(default=Decimal("0"), verbose_name=_l("Total budget (CNY)"))
    requested_by = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("Drafted by"))

    def __str__(self) -> str:
        return f"{self.year or ''} {self.title or ''}".strip()  # no unit: lists and selects read no other record

    def approval_amount(self):
        return self.budget_total

    def clean(self) -> None:
        if self.owner_unit is None:
            raise field_error("owner_unit", _l("Choose the unit whose training plan this is."))
        for field, message in (("title", _l("Give the plan a title.")),
                               ("goals", _l("State the plan's goals (BRD 7(2)2)."))):
            setattr(self, field, (getattr(self, field) or "").strip())
            if not getattr(self, field):
                raise field_error(field, message)
        if not self.courses:
            raise field_error("courses", _l("A plan lists at least one course."))
        self.budget_total = sum((money(c.budget or 0) for c in self.courses), Decimal("0"))
        unit_id = ref_id(self.owner_unit)
        for need in self.needs or []:
            if not isinstance(need, TrainingNeed):
                continue
            if need.status not in LIVE_NEEDS:
                raise field_error("needs", _l("The need “%(topic)s” is already closed.", topic=need.topic))
            need_unit = OrgUnit._get_collection().find_one({"_id": ref_id(need.owner_unit)}, {"ancestors": 1}) or {}
            if need_unit.get("_id") != unit_id and unit_id not in (need_unit.get("ancestors") or []):
                raise field_error("needs", _l("The need “%(topic)s” belongs to another unit.", topic=need.topic))
        if self.year is not None:
            same = type(self).objects(owner_unit=unit_id, year=self.year, status__ne="rejected",
                                      pk__ne=self.pk).only("id").first()
            if same is not None:
                raise field_error("year", _l("This unit already has a training plan for %(year)s.", year=self.year))


TrainingPlan.register_delete_rule(TrainingNeed, "plan", NULLIFY)


# ---- sessions (BRD 7(3), FSS 5(2-3), SOC 4.2) ----------------------------------------------------------------
class Material(PortalEmbedded):
    """A handout, slides or a recording of a session."""

    file = ReferenceField(Attachment, verbose_name=_l("File"))
    description = StringField(max_length=300, verbose_name=_l("What it is"))


class AttendanceMark(PortalEmbedded):
    """One participant's attendance, taken on the attendance sheet."""

    employee = ReferenceField(Employee, verbose_name=_l("Employee"))
    status = StringField(choices=ATTENDANCE_MARKS, verbose_name=_l("Attendance"))
    note = StringField(max_length=300, verbose_name=_l("Note"))


@owned_by_unit
class TrainingSession(OwnedDocument):
    """One session held under a plan course (or outside the plan): time, place, content and participants are
    recorded (BRD 7(3)3); attendance taken on one sheet; afterwards its effect and lessons (BRD 7(4))."""

    meta = {"collection": "training_sessions",
            "indexes": ["owner_unit", "plan", "status", "start", "participants", "trainer"],
            "ordering": ["-start"]}

    plan = ReferenceField(TrainingPlan, reverse_delete_rule=DENY, verbose_name=_l("Training plan"))
    course_no = IntField(min_value=1, max_value=100, verbose_name=_l("Course no. in the plan"))
    title = StringField(max_length=120, verbose_name=_l("Title"))  # required; may come from the course
    kind = StringField(choices=SESSION_KINDS, verbose_name=_l("Kind"))
    trainer = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("Trainer (staff)"))
    trainer_name = StringField(max_length=120, verbose_name=_l("External trainer"))
    start = DateTimeField(required=True, verbose_name=_l("Starts"))
    end = DateTimeField(required=True, verbose_name=_l("Ends"))
    place = StringField(required=True, max_length=200, verbose_name=_l("Place"))
    content = StringField(max_length=4000, verbose_name=_l("Content"))
    materials = ListField(EmbeddedDocumentField(Material), max_length=20, verbose_name=_l("Materials"))
    participants = ListField(ReferenceField(Employee, reverse_delete_rule=PULL), max_length=500,
                             verbose_name=_l("Participants"))
    attendance = ListField(EmbeddedDocumentField(AttendanceMark), verbose_name=_l("Attendance"))
    status = StringField(required=True, choices=SESSION_STATUSES, default="planned", verbose_name=_l("Status"))
    assessment_method = StringField(required=True, choices=ASSESSMENT_METHODS, default="exam",
                                    verbose_name=_l("Assessed by"))
    pass_mark = IntField(min_value=0, max_value=100, verbose_name=_l("Pass mark (this session)"))
    cost = MoneyField(verbose_name=_l("Session cost (CNY)"))
    effect_evaluation = StringField(max_length=4000, verbose_name=_l("Effect evaluation"))
    lessons = StringField(max_length=4000, verbose_name=_l("Lessons learned"))
    attendance_taken_at = DateTimeField(verbose_name=_l("Attendance taken at"))
    attendance_taken_by = StringField(max_length=64, verbose_name=_l("Attendance taken by"))
    cancel_reason = StringField(max_length=1000, verbose_name=_l("Reason for cancelling"))

    def __str__(self) -> str:
        day = f" {self.start:%Y-%m-%d}" if self.start else ""
        return f"{self.title or ''}{day}".strip()

    @property
    def headcount(self) -> int:
        return len(self._data.get("participants") or [])

    def participant_ids(self) -> list:
        return list(dict.fromkeys(ref_id(p) for p in self._data.get("participants") or [] if p is not None))

    def clean(self) -> None:
        if self.plan is not None:
            self._from_course()
        elif self.course_no is not None:
            raise field_error("course_no", _l("A course number refers to a plan: choose the plan too."))
        self.title, self.content = (self.title or "").strip(), (self.content or "").strip()
        self.place = (self.place or "").strip()
        for field, message in (("title", _l("Give the session a title.")), ("kind", _l("Choose the kind of training.")),
                               ("place", _l("Say where the session takes place (BRD 7(3)3).")),
                               ("content", _l("Say what the session teaches (BRD 7(3)3)."))):
            if not getattr(self, field):
                raise field_error(field, message)
        self.trainer_name = (self.trainer_name or "").strip() or None
        if self.trainer is None and not self.trainer_name:
            raise field_error("trainer", _l("Name the trainer: a member of staff or an external trainer."))
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise field_error("end", _l("The session ends after it starts."))
        if self.owner_unit is None:
            raise field_error("owner_unit", _l("Choose the unit that holds this session."))
        self._keep_unit_once_held()
        self.participants = [p for p in dict.fromkeys(self.participants or []) if p is not None]
        self._keep_attendance_in_step()

    def _from_course(self) -> None:
        """A session of the plan belongs to the plan's unit; an empty title, kind or content comes from its course."""
        chosen_now = self.pk is None or self._created or "plan" in self._get_changed_fields()
        if chosen_now and self.plan.status != "approved":
            raise field_error("plan", _l("Choose an approved plan, or none for a session outside the plan."))
        self.owner_unit = self.plan.owner_unit
        if self.course_no is None or not 1 <= self.course_no <= len(self.plan.courses or []):
            raise field_error("course_no", _l("Give the number of the course in the plan (1 to %(n)s).",
                                              n=len(self.plan.courses or [])))
        course = self.plan.courses[self.course_no - 1]
        self.title = (self.title or "").strip() or course.topic
        self.kind = self.kind or course.kind
        self.content = (self.content or "").strip() or course.content or course.topic
        if self.trainer is None and not (self.trainer_name or "").strip():
            self.trainer_name = course.trainer

    def _keep_unit_once_held(self) -> None:
        """A session that took place (or was cancelled) stays with its unit, so its assessments and feedback, which
        are kept under that unit, stay with it."""
        if self.pk is None or self._created:
            return
        stored = type(self)._get_collection().find_one({"_id": self.pk}, {"status": 1, "owner_unit": 1}) or {}
        if stored.get("status", "planned") != "planned" and stored.get("owner_unit") != ref_id(self.owner_unit):
            field = "plan" if "plan" in self._get_changed_fields() else "owner_unit"
            raise field_error(field, _l("A session that has taken place stays with its unit: its assessments and "
                                        "feedback are kept there."))

    def _keep_attendance_in_step(self) -> None:
        """Marks of people no longer taking part are dropped; someone with assessment results stays a participant
        (newcomers have no mark until the sheet is filled in again)."""
        members = set(self.participant_ids())
        gone = {ref_id(mark._data.get("employee")) for mark in self.attendance or []} - members
        if self.pk is not None:
            assessed = set(TrainingAssessment._get_collection().distinct("employee", {"session": self.pk}))
            kept = assessed - members
            if kept:
                names = [e["name"] for e in Employee._get_collection().find({"_id": {"$in": list(kept)}}, {"name": 1})]
                raise field_error("participants", _l("%(names)s already have assessment results in this session and "
                                                     "stay participants.", names="、".join(sorted(names))))
        if gone:
            self.attendance = [m for m in self.attendance if ref_id(m._data.get("employee")) in members]


# ---- assessments, retakes, certificates (FSS 5(4), BRD 7(4)1) -----------------------------------------------
@owned_by_unit
class TrainingAssessment(OwnedDocument):
    """One attempt of one trainee at a session's assessment. A failed attempt opens a retake (the next attempt)
    until passed; a pass issues one certificate per trainee and session (FSS 5(4)3). Written only by
    portal.training."""

    meta = {"collection": "training_assessments",
            "indexes": ["owner_unit", "employee", "session", "status",
                        {"fields": ["session", "employee", "attempt"], "unique": True},
                        {"fields": ["pass_key"], "unique": True, "sparse": True},
                        {"fields": ["certificate_no"], "unique": True, "sparse": True}],
            "ordering": ["-created_at"]}

    session = ReferenceField(TrainingSession, required=True, reverse_delete_rule=DENY, verbose_name=_l("Session"))
    employee = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Employee"))
    attempt = IntField(required=True, min_value=1, verbose_name=_l("Attempt"))  # retakes until passed: no cap
    method = StringField(required=True, choices=ASSESSMENT_METHODS, default="exam", verbose_name=_l("Method"))
    score = DecimalField(min_value=Decimal("0"), max_value=Decimal("100"), precision=1,
                         verbose_name=_l("Assessment score"))
    pass_mark = IntField(min_value=0, max_value=100, verbose_name=_l("Pass mark"))
    passed = BooleanField(verbose_name=_l("Passed"))
    status = StringField(required=True, choices=ASSESSMENT_STATUSES, verbose_name=_l("Status"))
    certificate_no = StringField(max_length=32, verbose_name=_l("Certificate no."))
    assessed_on = DateField(verbose_name=_l("Assessed on"))
    assessed_by = StringField(max_length=64, verbose_name=_l("Assessed by"))
    retake_reminded = BooleanField(default=False)
    pass_key = StringField(max_length=60)  # "<session>:<employee>" on the passed attempt only: one pass each

    def __str__(self) -> str:
        name = getattr(self.employee, "name", "")
        return f"{name} #{self.attempt or ''}".strip()

    def clean(self) -> None:
        if self.owner_unit is None and self.session is not None:
            self.owner_unit = self.session.owner_unit
        if self.score is not None and self.pass_mark is not None:
            self.passed = Decimal(self.score) >= self.pass_mark
        self.pass_key = pass_key(ref_id(self.session), ref_id(self.employee)) if self.status == "passed" else None


def pass_key(session_id, employee_id) -> str:
    """What a trainee's pass of a session is stored under: unique, so no trainee passes a session twice."""
    return f"{session_id}:{employee_id}"


# ---- feedback (BRD 7(4), MIC 培訓記錄與反饋/2) ----------------------------------------------------------------
@owned_by_unit
class TrainingFeedback(OwnedDocument):
    """A trainee's rating of a session they attended (content, trainer, usefulness, 1-5) and comments; one each,
    only from those present or late at a held session (BRD 7(4)1)."""

    meta = {"collection": "training_feedback",
            "indexes": ["owner_unit", "employee", {"fields": ["session", "employee"], "unique": True}],
            "ordering": ["-created_at"]}

    session = ReferenceField(TrainingSession, required=True, reverse_delete_rule=DENY, verbose_name=_l("Session"))
    employee = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Trainee"))
    content_rating = IntField(required=True, min_value=1, max_value=5, verbose_name=_l("Content rating"))
    trainer_rating = IntField(required=True, min_value=1, max_value=5, verbose_name=_l("Trainer rating"))
    usefulness_rating = IntField(required=True, min_value=1, max_value=5, verbose_name=_l("Usefulness rating"))
    comments = StringField(max_length=2000, verbose_name=_l("Comments"))

    def __str__(self) -> str:
        return f"{getattr(self.session, 'title', '')} · {getattr(self.employee, 'name', '')}".strip(" ·")

    def clean(self) -> None:
        if self.session is None or self.employee is None:
            return  # the fields say what is missing
        self.owner_unit = self.session.owner_unit
        if self.session.status != "held":
            raise field_error("session", _l("Feedback is given on a session that has been held."))
        marks = {ref_id(m._data.get("employee")): m.status for m in self.session.attendance or []}
        if marks.get(self.employee.pk) not in ATTENDED:
            raise field_error("session", _l("Only those who attended the session (present or late) give feedback "
                                            "on it."))
        same = type(self).objects(session=self.session.pk, employee=self.employee.pk, pk__ne=self.pk).only("id")
        if same.first() is not None:
            raise field_error("session", _l("You have already given feedback on this session."))
