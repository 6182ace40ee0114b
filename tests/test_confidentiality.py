"""Rules of DOMAIN 3.10 (confidentiality agreements, intellectual property), one test per rule named after its clause,
and the screens: who keeps and who reads them, the signed copy, every page, the lists' round-trip budgets."""

import datetime as dt
import io

import pytest
from mongoengine import ValidationError

from models.approvals import Notification
from models.confidentiality import ConfidentialityAgreement, IntellectualProperty, months_later
from models.org import Employee
from portal import confidentiality, reminders
from portal.settings import local_today
from tests.approvals_kit import fields_of, person
from tests.test_conduct import reload, set_setting

PDF = b"%PDF-1.4\n% signed agreement\n"


def agreement(username: str = "finance", signed_on: dt.date | None = None, months: int = 24,
              **fields) -> ConfidentialityAgreement:
    values = {"employee": person(username), "signed_on": signed_on or local_today(), "term_months": months,
              "scope": "客户资料与价格体系", "penalty_clause": "按年收入 30% 支付违约金", **fields}
    return ConfidentialityAgreement(**values).save()


def right(**fields) -> IntellectualProperty:
    values = {"kind": "trademark", "title": "华信", "number": f"TM-{IntellectualProperty.objects.count() + 100}",
              "owner": "华信商贸有限公司", "filed_on": dt.date(2016, 1, 1), "status": "granted",
              "expires_on": local_today() + dt.timedelta(days=400), "responsible": person("legal"), **fields}
    return IntellectualProperty(**values).save()


def expiring_on(expires: dt.date, months: int = 12) -> dt.date:
    """The signing day that makes an agreement of `months` end on `expires`."""
    return months_later(expires + dt.timedelta(days=1), -months)


# ---- agreements (BRD 9(2)1, SOC 8.1) ---------------------------------------------------------------------------
def test_an_agreement_is_in_force_for_its_term_from_signing_BRD_9_2_1(db):
    assert agreement(signed_on=dt.date(2025, 1, 15), months=36).expires_on == dt.date(2028, 1, 14)
    assert agreement(signed_on=dt.date(2024, 1, 31), months=1).expires_on == dt.date(2024, 2, 28)  # short month
    renewed = agreement(signed_on=dt.date(2025, 1, 15), months=12)
    renewed.term_months = 24
    assert renewed.save().expires_on == dt.date(2027, 1, 14)  # derived again, never typed
    with pytest.raises(ValidationError) as raised:
        agreement(months=0)
    assert "term_months" in fields_of(raised)


def test_an_agreement_states_its_scope_and_penalty_SOC_8_1(db):
    for field in ("scope", "penalty_clause"):
        with pytest.raises(ValidationError) as raised:
            agreement(**{field: ""})
        assert field in fields_of(raised)
    assert agreement().owner_unit.code == "BR-FIN"


def test_an_expiring_agreement_is_reminded_once_to_hr_and_the_employee_BRD_9_2_1(db):
    today = local_today()
    soon = agreement("finance", expiring_on(today + dt.timedelta(days=10)), months=12)
    agreement("legal", expiring_on(today + dt.timedelta(days=10)), months=12)
    agreement("legal", expiring_on(today + dt.timedelta(days=400)), months=12)  # renewed: no reminder for the old
    far = agreement("auditor", expiring_on(today + dt.timedelta(days=90)), months=12)
    left = agreement("gm", expiring_on(today + dt.timedelta(days=5)), months=12)
    Employee._get_collection().update_one({"_id": person("gm").pk}, {"$set": {"status": "left"}})
    sent = confidentiality.agreement_reminders(reminders.utcnow())
    titles = [s.title for s in sent]
    assert titles.count("黄磊") == 1 and "周婷" not in titles and "吴刚" not in titles and "郑国华" not in titles
    told = {n.recipient for n in Notification.objects(kind="agreement_expiring", link__contains=str(soon.pk))}
    assert told == {person("finance").pk, person("hr").pk}
    assert "黄磊" not in [s.title for s in confidentiality.agreement_reminders(reminders.utcnow())]  # once
    set_setting("agreement_expiry_days", "120")  # Admin widens the window
    assert "吴刚" in [s.title for s in confidentiality.agreement_reminders(reminders.utcnow())]
    soon.term_months += 1  # a new expiry date is reminded again when it comes near
    soon.save()
    assert reload(soon).expiry_reminded is False and reload(left).expiry_reminded is not True
    assert reload(far).expiry_reminded is True


# ---- intellectual property (SOC 8.2, BRD 9(1)2) ----------------------------------------------------------------------
def test_the_ip_register_keeps_each_right_with_its_number_and_expiry_SOC_8_2(db):
    with pytest.raises(ValidationError) as raised:
        right(number="")
    assert "number" in fields_of(raised)
    with pytest.raises(ValidationError) as raised:
        right(expires_on=None)
    assert "expires_on" in fields_of(raised)
    with pytest.raises(ValidationError) as raised:
        right(expires_on=dt.date(2015, 1, 1))
    assert "expires_on" in fields_of(raised)
    kept = right(number="ZL-1")
    with pytest.raises(ValidationError) as raised:
        right(number=" ZL-1 ")
    assert "number" in fields_of(raised)
    assert right(kind="patent", number="ZL-1").pk != kept.pk  # another kind may share the number
    assert right(status="filed", number="", expires_on=None).number is None  # only filed so far


def test_a_right_near_expiry_is_reminded_once_to_its_responsible_person_and_legal_SOC_8_2(db):
    today = local_today()
    soon = right(expires_on=today + dt.timedelta(days=30), responsible=person("branch_head"))
    right(expires_on=today + dt.timedelta(days=30), status="lapsed")  # let go: no reminder
    right(expires_on=today + dt.timedelta(days=200))
    sent = [s for s in confidentiality.ip_reminders(reminders.utcnow()) if soon.title in s.title]
    ours = [s for s in sent if soon.number in s.title]
    assert len(ours) == 1 and ours[0].recipients == 2
    told = {n.recipient for n in Notification.objects(kind="ip_expiring", link__contains=str(soon.pk))}
    assert told == {person("branch_head").pk, person("legal").pk}
    assert not [s for s in confidentiality.ip_reminders(reminders.utcnow()) if soon.number in s.title]  # once
    soon.expires_on = today + dt.timedelta(days=60)  # renewed: the new date is reminded again
    soon.save()
    assert [s for s in confidentiality.ip_reminders(reminders.utcnow()) if soon.number in s.title]


# ---- screens ----------------------------------------------------------------------------------------------------
def test_hr_files_an_agreement_with_its_signed_copy_and_the_employee_reads_their_own(as_role, db):
    hr = as_role("HR")
    data = {"employee": str(person("sales_rep").pk), "signed_on": "2025-06-01", "term_months": "36",
            "scope": "客户名单与报价", "penalty_clause": "赔偿全部损失",
            "signed_file": (io.BytesIO(PDF), "保密协议.pdf")}
    response = hr.post_form("/confidentiality-agreements/add", data, content_type="multipart/form-data")
    assert response.status_code == 302, response.data.decode()[:2000]
    signed = ConfidentialityAgreement.objects(scope="客户名单与报价").first()
    assert signed.expires_on == dt.date(2028, 5, 31) and signed.signed_file.filename == "保密协议.pdf"
    rep = as_role("Employee")
    assert "保密协议.pdf" in rep.get(f"/confidentiality-agreements/show/{signed.pk}").data.decode()
    assert rep.get(f"/confidentiality-agreements/file/{signed.pk}").data == PDF
    for user in ("Clerk", "DeptHead", "Finance", "Legal"):  # colleagues and their head: not theirs to read
        browser = as_role(user)
        assert browser.get(f"/confidentiality-agreements/show/{signed.pk}").status_code == 404, user
        assert browser.get(f"/confidentiality-agreements/file/{signed.pk}").status_code == 404, user
    assert as_role("Auditor").get(f"/confidentiality-agreements/file/{signed.pk}").data == PDF
    bad = hr.post_form("/confidentiality-agreements/add", {**{k: v for k, v in data.items() if k != "signed_file"},
                                                           "term_months": "0"})
    assert bad.status_code == 200 and ConfidentialityAgreement.objects(scope="客户名单与报价").count() == 1
    assert as_role("Employee").post_form("/confidentiality-agreements/add", {}, "/resetmypassword/form",
                                         follow_redirects=False).status_code == 302  # no add for staff


def test_the_list_flags_agreements_that_expire_soon(as_role, db):
    soon = agreement("finance", expiring_on(local_today() + dt.timedelta(days=20)), months=12)
    hr = as_role("HR")
    page = hr.get("/confidentiality-agreements/list/").data.decode()
    assert "Expires soon" in page and "In force" in page
    shown = hr.get(f"/confidentiality-agreements/show/{soon.pk}").data.decode()
    assert "sign a new agreement with the employee" in shown


def test_legal_keeps_the_ip_register_and_staff_read_it(as_role, db):
    legal = as_role("Legal")
    data = {"kind": "patent", "title": "一种滤芯结构", "number": "ZL 2026 1 0000001.1", "owner": "华信商贸有限公司",
            "filed_on": "2026-01-10", "status": "filed", "responsible": str(person("legal").pk)}
    assert legal.post_form("/intellectual-property/add", data, follow_redirects=False).status_code == 302
    filed = IntellectualProperty.objects(title="一种滤芯结构").first()
    response = legal.post_form(f"/intellectual-property/edit/{filed.pk}", {**data, "status": "granted",
                                                                          "version": "0"})
    assert response.status_code == 200 and "A granted or registered right has its expiry date." in \
        response.data.decode()
    for user in ("Clerk", "DeptHead", "HR", "Finance", "Auditor"):
        browser = as_role(user)
        assert browser.get(f"/intellectual-property/show/{filed.pk}").status_code == 200, user
        assert browser.get(f"/intellectual-property/edit/{filed.pk}").status_code == 302, user  # read only
    assert as_role("agent").get("/intellectual-property/list/").status_code == 302  # not an employee's page
    soon = IntellectualProperty.objects(title__contains="HUAXIN").first()
    assert "Expires on" in legal.get(f"/intellectual-property/show/{soon.pk}").data.decode()


PAGES = ["/confidentiality-agreements/list/", "/confidentiality-agreements/add", "/intellectual-property/list/",
         "/intellectual-property/add"]


@pytest.mark.parametrize("url", PAGES)
def test_every_page_of_confidentiality_renders(as_role, url):
    assert as_role("Admin").get(url).status_code == 200


@pytest.mark.parametrize(("document", "route"), [(ConfidentialityAgreement, "confidentiality-agreements"),
                                                 (IntellectualProperty, "intellectual-property")])
def test_every_demo_record_page_renders(as_role, db, document, route):
    admin = as_role("Admin")
    rows = list(document._get_collection().find({}, {"_id": 1}))
    assert rows, "the demo has records of every kind"
    for raw in rows:
        assert admin.get(f"/{route}/show/{raw['_id']}").status_code == 200
        assert admin.get(f"/{route}/edit/{raw['_id']}").status_code == 200


