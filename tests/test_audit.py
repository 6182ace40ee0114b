"""Audit trail (DOMAIN 7): every write is an append-only entry, shown on the record and to Auditors."""

import pytest
from mongoengine import OperationError

from models.audit import AuditEntry
from models.org import OrgUnit


def entries(document):
    return list(AuditEntry.objects(collection=document._get_collection_name(), record_id=str(document.pk))
                .order_by("at"))


def test_create_update_delete_each_write_an_entry_with_old_and_new_values(as_role, make_unit):
    hr = as_role("HR")
    parent = OrgUnit.objects(code="BR-EAST").first()
    hr.post_form("/orgunitview/add", {"code": "AUD-1", "name": "审计测试", "kind": "group", "parent": str(parent.pk),
                                     "active": "y"})
    created = OrgUnit.objects(code="AUD-1").first()
    hr.post_form(f"/orgunitview/edit/{created.pk}", {"code": "AUD-1", "name": "审计测试二", "kind": "group",
                                                     "parent": str(parent.pk), "active": "y",
                                                     "version": str(created.version)})
    hr.post_form(f"/orgunitview/delete/{created.pk}", {}, form_url="/orgunitview/list/")
    log = entries(created)
    assert [e.action for e in log] == ["create", "update", "delete"]
    assert all(e.user == "hr" for e in log)
    change = next(c for c in log[1].changes if c.field == "name")
    assert (change.old, change.new) == ("审计测试", "审计测试二")


def test_the_show_page_has_a_history_panel(as_role):
    hr = as_role("HR")
    unit = OrgUnit.objects(code="BR-LEGAL").first()
    unit.duties = "合同审查"
    unit.save()
    page = hr.get(f"/orgunitview/show/{unit.pk}").data.decode()
    assert "portal-history" in page and "合同审查" in page
    assert "<strong>Duties</strong>" in page and "<strong>duties</strong>" not in page  # the field's label


def test_auditor_reads_the_audit_log_and_others_cannot(as_role):
    assert as_role("Auditor").get("/auditentryview/list/").status_code == 200
    for role in ("HR", "Clerk", "DeptHead", "Employee", "Finance", "Legal"):
        assert as_role(role).get("/auditentryview/list/").status_code == 302


def test_no_route_can_edit_or_delete_the_audit_log(app, as_role):
    entry = AuditEntry.objects.first()
    admin = as_role("Admin")
    for url in (f"/auditentryview/edit/{entry.pk}", f"/auditentryview/delete/{entry.pk}", "/auditentryview/add"):
        assert admin.get(url).status_code in (404, 405)
    rules = [r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/auditentryview/")]
    assert sorted(rules) == ["/auditentryview/export/<fmt>/", "/auditentryview/list/", "/auditentryview/show/<pk>"]


def test_the_audit_log_is_append_only_in_the_model_too():
    entry = AuditEntry.objects.first()
    entry.note = "tampered"
    with pytest.raises(OperationError):
        entry.save()
    with pytest.raises(OperationError):
        entry.delete()


def test_stored_text_is_escaped_in_the_history_and_the_log(as_role, make_unit):
    hostile = make_unit(name='<script>alert("x")</script>')
    page = as_role("Auditor").get(f"/auditentryview/list/?_flt_0_record_id={hostile.pk}").data.decode()
    assert '<script>alert("x")' not in page and "&lt;script&gt;" in page
