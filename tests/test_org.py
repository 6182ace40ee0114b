"""Organization area (DOMAIN 2) and data scope (DOMAIN 1): the tree, and who sees which records."""

import pytest

from models.org import Employee, OrgUnit
from portal.compat import PortalMongoInterface


def unit(code):
    return OrgUnit.objects(code=code).first()


def edit_data(item, **changes):
    data = {"code": item.code, "name": item.name, "kind": item.kind, "active": "y",
            "parent": str(item.parent.pk) if item.parent else "__None", "version": str(item.version)}
    data.update(changes)
    return data


def test_a_unit_cannot_be_placed_under_its_own_sub_unit__DSC_2_1(as_role, make_unit):
    top = make_unit()
    child = make_unit(parent=top)
    grandchild = make_unit(parent=child)
    response = as_role("HR").post_form(f"/orgunitview/edit/{top.pk}", edit_data(top, parent=str(grandchild.pk)))
    assert response.status_code == 200 and b"cannot be placed under itself" in response.data
    assert OrgUnit.objects(pk=top.pk).first().parent is None


def test_the_refusal_is_in_chinese_for_a_chinese_user(as_role, make_unit):
    top = make_unit()
    child = make_unit(parent=top)
    hr = as_role("HR")
    hr.get("/lang/zh")
    response = hr.post_form(f"/orgunitview/edit/{top.pk}", edit_data(top, parent=str(child.pk)))
    assert "不能" in response.data.decode() and "General Error" not in response.data.decode()


def test_moving_a_unit_moves_its_whole_subtree(make_unit):
    a, b = make_unit(), make_unit()
    child = make_unit(parent=a)
    leaf = make_unit(parent=child)
    child.parent = b
    child.save()
    assert OrgUnit.objects(pk=leaf.pk).first().ancestors == [b.pk, child.pk]


def test_a_unit_that_owns_employees_cannot_be_deleted(as_role, make_unit, make_employee):
    team = make_unit()
    make_employee(team)
    hr = as_role("HR")
    response = hr.post_form(f"/orgunitview/delete/{team.pk}", {}, form_url="/orgunitview/list/",
                            follow_redirects=True)
    assert b"Other records refer to this one" in response.data
    assert OrgUnit.objects(pk=team.pk).count() == 1


def test_deleting_the_head_empties_the_head_field(make_unit, make_employee):
    team = make_unit()
    boss = make_employee(team)
    team.head = boss
    team.save()
    boss.delete()
    assert OrgUnit.objects(pk=team.pk).first().head is None


# ---- scope ---------------------------------------------------------------------------------------
def test_a_clerk_sees_employees_of_their_own_unit_only(as_role):
    page = as_role("Clerk").get("/employeeview/list/?psize_EmployeeView=100").data.decode()
    own = Employee.objects(owner_unit=unit("BR-SALES")).first()
    other = Employee.objects(owner_unit=unit("BR-CS")).first()
    assert own.employee_no in page and other.employee_no not in page


def test_records_outside_the_scope_answer_404_on_every_route(as_role):
    clerk = as_role("Clerk")
    other = Employee.objects(owner_unit=unit("BR-CS")).first()
    assert clerk.get(f"/employeeview/show/{other.pk}").status_code == 404
    assert clerk.get(f"/employeeview/edit/{other.pk}").status_code in (302, 404)  # Clerk may not edit at all
    hr_view_denied = clerk.post_form(f"/employeeview/delete/{other.pk}", {}, form_url="/employeeview/list/")
    assert hr_view_denied.status_code in (302, 404) and Employee.objects(pk=other.pk).count() == 1


def test_a_branch_head_sees_the_whole_branch_subtree(as_role):
    page = as_role("branch_head").get("/employeeview/list/?psize_EmployeeView=100").data.decode()
    for code in ("BR-SALES", "BR-CS", "BR-HR"):
        assert Employee.objects(owner_unit=unit(code)).first().employee_no in page
    center = Employee.objects(owner_unit=unit("DSC-SH-MKT")).first()
    assert center.employee_no not in page


def test_an_employee_sees_only_their_own_record(as_role):
    page = as_role("Employee").get("/employeeview/list/").data.decode()
    assert page.count("/employeeview/show/") == 1 and "E0011" in page


def test_hr_and_auditor_see_every_employee(as_role):
    total = Employee.objects.count()
    for role in ("HR", "Auditor"):
        page = as_role(role).get("/employeeview/list/?psize_EmployeeView=100").data.decode()
        assert page.count("/employeeview/show/") == min(total, 100)


def test_filtering_or_sorting_cannot_reveal_records_outside_the_scope(as_role):
    clerk = as_role("Clerk")
    other_unit = unit("BR-CS")
    page = clerk.get(f"/employeeview/list/?_flt_0_owner_unit={other_unit.pk}").data.decode()
    assert "/employeeview/show/" not in page
    page = clerk.get("/employeeview/list/?_oc_EmployeeView=name&_od_EmployeeView=asc").data.decode()
    assert Employee.objects(owner_unit=other_unit).first().employee_no not in page


def test_actions_load_rows_through_the_scope__F2(app, as_role, make_unit, make_employee):
    from tests.sample import Sample

    outside = Sample(name="hidden-from-clerk", level="junior", owner_unit=unit("BR-CS")).save()
    with app.test_request_context():
        from flask import g

        from models.users import PortalUser

        g.user = PortalUser.objects(username="sales_clerk").first()
        from tests.sample import SampleView

        view = next(v for v in app.appbuilder.baseviews if isinstance(v, SampleView))
        assert view.get_item(str(outside.pk)) is None


def test_creating_into_another_unit_is_refused_and_an_empty_unit_is_filled_in(app):
    """force_owner on create: a Clerk's record lands in the Clerk's unit, never elsewhere."""
    from flask import g

    from models.users import PortalUser
    from portal import scope
    from tests.sample import Sample

    with app.test_request_context():
        g.user = PortalUser.objects(username="sales_clerk").first()
        mine = Sample(name="x", level="junior")
        scope.force_owner(mine, "owner_unit", None, frozenset({"Admin"}))
        assert mine.owner_unit.code == "BR-SALES"
        theirs = Sample(name="y", level="junior", owner_unit=unit("BR-CS"))
        with pytest.raises(Exception, match="outside your scope"):
            scope.force_owner(theirs, "owner_unit", None, frozenset({"Admin"}))


def test_scoped_views_require_a_portal_interface():
    from portal.modelview import PortalModelView

    class Broken(PortalModelView):
        from flask_appbuilder.models.mongoengine.interface import MongoEngineInterface

        datamodel = MongoEngineInterface(Employee)

    with pytest.raises(TypeError):
        Broken()
    assert isinstance(PortalMongoInterface(Employee), PortalMongoInterface)
