"""i18n: every string the portal shows exists in Simplified Chinese, and the compiled catalogue is current."""

import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "portal" / "translations" / "zh" / "LC_MESSAGES"
KEYWORDS = {"_": None, "gettext": None, "lazy_gettext": None, "_l": None, "ngettext": (1, 2)}
METHODS = [("portal/**.py", "python"), ("models/**.py", "python"), ("views/**.py", "python"),
           ("seeds/**.py", "python"), ("portal/templates/**.html", "jinja2")]


def extracted_msgids() -> set[str]:
    ids = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map=METHODS, keywords=KEYWORDS):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def test_every_msgid_has_a_chinese_translation():
    catalogue = read_po((CATALOGUE / "messages.po").open("rb"))
    translated = {m.id for m in catalogue if m.id and m.string and "fuzzy" not in m.flags}
    missing = sorted(extracted_msgids() - translated)
    assert not missing, f"run `pybabel update` and translate: {missing}"


def test_the_compiled_catalogue_is_not_stale():
    catalogue = read_po((CATALOGUE / "messages.po").open("rb"))
    fresh = io.BytesIO()
    write_mo(fresh, catalogue)
    assert (CATALOGUE / "messages.mo").read_bytes() == fresh.getvalue(), "run `pybabel compile -d portal/translations`"


def test_the_menu_and_labels_switch_to_chinese(as_role):
    hr = as_role("HR")
    english = hr.get("/employeeview/list/").data.decode()
    assert "Employees" in english and "Organization" in english
    assert hr.get("/lang/zh").status_code == 302
    chinese = hr.get("/employeeview/list/").data.decode()
    assert "员工" in chinese and "组织架构" in chinese and "Employee no." not in chinese


def test_the_navbar_offers_the_other_language(as_role):
    b = as_role("Employee")
    assert "/lang/zh" in b.get("/").data.decode()
    b.get("/lang/zh")
    assert "/lang/en" in b.get("/").data.decode()


def test_the_default_locale_comes_from_portal_locale(monkeypatch):
    import importlib

    import portal.config

    monkeypatch.setenv("PORTAL_LOCALE", "zh")
    assert importlib.reload(portal.config).Config.BABEL_DEFAULT_LOCALE == "zh"
    monkeypatch.setenv("PORTAL_LOCALE", "fr")
    assert importlib.reload(portal.config).Config.BABEL_DEFAULT_LOCALE == "en"
    monkeypatch.delenv("PORTAL_LOCALE")
    importlib.reload(portal.config)


def test_clause_titles_follow_the_language(as_role):
    b = as_role("Employee")
    b.get("/lang/zh")
    page = b.get("/regulations/?code=DSC").data.decode()
    assert "组织架构" in page and "直销中心管理办法" in page


def test_column_labels_and_choice_values_are_translated_on_list_pages(as_role):
    hr = as_role("HR")
    hr.get("/lang/zh")
    page = hr.get("/employeeview/list/").data.decode()
    assert "工号" in page and "人员类别" in page  # labels from the model's verbose_name
    cells = page.replace(" ", "").replace("\n", "")
    assert ">customer_service<" not in cells and "客户服务" in page  # choice labels, not stored values
    assert ">None<" not in cells


def test_an_empty_reference_select_shows_a_readable_blank(as_role):
    from models.org import Employee

    boss = Employee.objects(employee_no="E0001").first()
    page = as_role("HR").get(f"/employeeview/edit/{boss.pk}").data.decode()
    assert ">__None<" not in page and "(none)" in page


def test_the_app_name_is_translated(as_role):
    b = as_role("Employee")
    b.get("/lang/zh")
    assert "制度管理门户" in b.get("/").data.decode()


def test_a_line_editor_row_error_is_in_the_users_language(as_role, db):
    rep = as_role("Employee")
    rep.get("/lang/zh")
    response = rep.post_form("/expense-plans/add", {
        "period_kind": "quarter", "period": "2026-q1", "lines-0-category": "office", "lines-0-amount": "",
        "lines-0-planned_on": "2026-01-02", "lines-0-purpose": "办公用品"})
    page = response.data.decode()
    assert response.status_code == 200 and "This field is required." not in page
    assert "必填" in page
