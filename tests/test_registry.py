"""Regulation registry: five regulations, every surviving clause with our zh/en title and summary, the
Regulations page, clauses declared by views, and the full texts an Admin attaches."""

import io
import json

import pytest

from models.files import Attachment
from models.regulations import Clause, Regulation
from seeds import reference

pytestmark = pytest.mark.usefixtures("db")


def test_every_surviving_clause_is_seeded_once_with_both_languages():
    rows = reference.clause_rows()
    assert len(rows) == 347 and len({r["id"] for r in rows}) == 347  # CLAUSES.md: 70+90+71+26+90
    assert Clause.objects.count() == 347 and Regulation.objects.count() == 5
    for clause in Clause.objects.only("title_zh", "title_en", "summary_zh", "summary_en"):
        assert clause.title_zh and clause.title_en and clause.summary_zh and clause.summary_en


def test_seeding_again_changes_nothing():
    before = Clause.objects.count(), Regulation.objects.count()
    assert reference.load() == {"regulations": 5, "clauses": 347, "settings created": 0, "routes created": 0,
                                "routes": 14}
    assert (Clause.objects.count(), Regulation.objects.count()) == before


def test_clause_ids_cited_by_views_exist(app):
    known = set(Clause.objects.scalar("clause_id"))
    cited = {cid for view in app.appbuilder.baseviews for cid in getattr(view, "regulation_clauses", ()) or ()}
    assert cited and cited <= known, cited - known


def test_a_view_shows_its_clauses_on_list_and_show_pages(as_role):
    from models.org import OrgUnit

    b = as_role("Employee")
    assert "DSC 2(1)" in b.get("/orgunitview/list/").data.decode()
    unit = OrgUnit.objects(code="HQ").first()
    assert "BRD 2(1)" in b.get(f"/orgunitview/show/{unit.pk}").data.decode()


def test_the_regulations_page_lists_clauses_and_links_the_pages_implementing_them(as_role):
    page = as_role("Clerk").get("/regulations/?code=BRD").data.decode()
    assert "BRD 2(1)" in page and "/orgunitview/list/" in page and "DSC 1(1)" not in page
    found = as_role("Clerk").get("/regulations/?q=deputies").data.decode()
    assert "DSC 2(2)2" in found


def test_search_text_is_escaped_on_the_regulations_page(as_role):
    page = as_role("Clerk").get("/regulations/?q=<script>x</script>").data.decode()
    assert "<script>x</script>" not in page


def pdf_upload(content=b"%PDF-1.4 test document", name="直销中心管理办法.pdf"):
    return (io.BytesIO(content), name)


def test_admin_attaches_the_full_text_and_everyone_can_download_it(as_role):
    admin = as_role("Admin")
    regulation = Regulation.objects(code="DSC").first()
    data = {"code": "DSC", "name_zh": regulation.name_zh, "name_en": regulation.name_en, "sort_order": "0",
            "version": str(regulation.version), "upload": pdf_upload()}
    response = admin.post_form(f"/regulationview/edit/{regulation.pk}", data, content_type="multipart/form-data")
    assert response.status_code == 302
    regulation.reload()
    assert regulation.document.filename == "直销中心管理办法.pdf"
    download = as_role("Employee").get(f"/regulationview/file/{regulation.pk}")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_a_file_whose_content_does_not_match_its_type_is_refused_next_to_the_field(as_role):
    admin = as_role("Admin")
    regulation = Regulation.objects(code="BRD").first()
    count = Attachment.objects.count()
    data = {"code": "BRD", "name_zh": regulation.name_zh, "name_en": regulation.name_en, "sort_order": "1",
            "version": str(regulation.version), "upload": pdf_upload(b"MZ\x90\x00 not a pdf", "evil.pdf")}
    response = admin.post_form(f"/regulationview/edit/{regulation.pk}", data, content_type="multipart/form-data")
    assert response.status_code == 200 and b"Allowed file types" in response.data
    assert Attachment.objects.count() == count and Regulation.objects(code="BRD").first().document is None


def test_only_admin_edits_regulations_and_clauses(as_role):
    regulation = Regulation.objects(code="SOC").first()
    clause = Clause.objects.first()
    for role in ("HR", "Clerk", "DeptHead", "Auditor", "Legal"):
        b = as_role(role)
        assert b.get(f"/regulationview/edit/{regulation.pk}").status_code == 302
        assert b.get(f"/clauseview/edit/{clause.pk}").status_code == 302


def test_the_clause_files_are_well_formed():
    for name in reference.CLAUSE_FILES:
        rows = json.loads((reference.HERE / name).read_text(encoding="utf-8"))
        assert all(set(r) >= {"id", "code", "kind", "title_zh", "title_en", "summary_zh", "summary_en"} for r in rows)
