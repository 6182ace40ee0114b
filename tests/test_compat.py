"""The FAB-on-MongoDB compatibility layer: every field type renders, saves and prefills; lists are safe."""

import datetime as dt
import re
from decimal import Decimal

import pytest

from tests.sample import Sample

ADD = "/sampleview/add"


def sample_form(**overrides):
    data = {"name": "Alpha", "level": "senior", "amount": "1234.50", "day": "2026-03-04",
            "at": "2026-03-04 10:20:00", "tags": "red\nblue\n", "address-city": "上海", "address-postcode": "200000",
            "lines-0-day": "2026-03-01", "lines-0-place": "杭州", "lines-0-amount": "10.05", "lines-0-kind": "junior",
            "lines-1-day": "2026-03-02", "lines-1-place": "苏州", "lines-1-amount": "20", "lines-1-kind": "",
            "flag": "y", "count": "3", "ratio": "0.5", "email": "a@example.test"}
    data.update(overrides)
    return data


@pytest.fixture
def admin(as_role):
    return as_role("Admin")


def test_every_field_type_renders_on_the_add_page(admin):
    page = admin.get(ADD).data.decode()
    assert 'name="level"' in page and "<select" in page  # choices as a select, not free text
    assert 'name="amount"' in page and 'name="day"' in page
    assert 'name="tags"' in page and "<textarea" in page  # one item per line
    assert 'name="address-city"' in page  # embedded document as a sub-form
    assert 'class="portal-lines"' in page and "lines-__index__-amount" in page  # line editor with a row template
    assert "{" not in re.sub(r"<script.*?</script>", "", page, flags=re.S).split('name="lines')[0][-200:]


def test_every_field_type_saves_real_values(admin):
    response = admin.post_form(ADD, sample_form(), follow_redirects=False)
    assert response.status_code == 302
    item = Sample.objects(name="Alpha").first()
    assert item.level == "senior" and item.amount == Decimal("1234.50") and item.day == dt.date(2026, 3, 4)
    assert item.tags == ["red", "blue"] and item.address.city == "上海"
    assert [(line.place, line.amount) for line in item.lines] == [("杭州", Decimal("10.05")), ("苏州", Decimal("20"))]
    # entered as 10:20 in the company's time zone (Asia/Shanghai), stored as UTC
    assert item.flag is True and item.count == 3 and item.at == dt.datetime(2026, 3, 4, 2, 20)


def test_edit_form_prefills_and_saves_unchanged_values_back(admin):
    admin.post_form(ADD, sample_form(name="Beta"))
    item = Sample.objects(name="Beta").first()
    page = admin.get(f"/sampleview/edit/{item.pk}").data.decode()
    assert 'value="2026-03-04"' in page and 'value="1234.50"' in page and "red\nblue" in page
    assert 'value="杭州"' in page and 'name="version"' in page
    unchanged = sample_form(name="Beta", version=str(item.version))
    response = admin.post_form(f"/sampleview/edit/{item.pk}", unchanged)
    assert response.status_code == 302
    again = Sample.objects(pk=item.pk).first()
    assert again.day == item.day and again.amount == item.amount and len(again.lines) == 2
    assert again.version == item.version + 1


def test_a_removed_line_is_removed_and_order_is_kept(admin):
    admin.post_form(ADD, sample_form(name="Gamma"))
    item = Sample.objects(name="Gamma").first()
    form = sample_form(name="Gamma", version=str(item.version))
    data = {k: v for k, v in form.items() if not k.startswith("lines-0")}
    admin.post_form(f"/sampleview/edit/{item.pk}", data)
    assert [line.place for line in Sample.objects(pk=item.pk).first().lines] == ["苏州"]


def test_a_bad_line_value_is_shown_next_to_that_cell_and_nothing_is_saved(admin):
    response = admin.post_form(ADD, sample_form(name="Delta", **{"lines-1-amount": "-5"}))
    page = response.data.decode()
    assert response.status_code == 200 and Sample.objects(name="Delta").count() == 0
    assert "text-danger" in page and 'value="Delta"' in page  # the input is kept


def test_an_invalid_choice_is_refused_next_to_the_field(admin):
    response = admin.post_form(ADD, sample_form(name="Eps", level="boss"))
    assert response.status_code == 200 and Sample.objects(name="Eps").count() == 0
    assert "Not a valid choice" in response.data.decode()


def test_editing_a_record_changed_by_someone_else_is_refused(admin):
    admin.post_form(ADD, sample_form(name="Zeta"))
    item = Sample.objects(name="Zeta").first()
    stale = sample_form(name="Zeta mine", version=str(item.version))
    Sample.objects(pk=item.pk).first().save()  # someone else saves in between
    response = admin.post_form(f"/sampleview/edit/{item.pk}", stale, follow_redirects=True)
    assert "Someone else changed this record" in response.data.decode()
    assert Sample.objects(pk=item.pk).first().name == "Zeta"


@pytest.mark.parametrize("pk", ["not-an-id", "0", "ffffffffffffffffffffffff", "%24ne", "[]"])
def test_invalid_or_unknown_ids_answer_404(admin, pk):
    for route in ("show", "edit"):
        assert admin.get(f"/sampleview/{route}/{pk}").status_code == 404


def test_sorting_goes_the_asked_direction_and_only_on_allowed_columns(admin):
    for name, amount in (("S-a", "3"), ("S-b", "1"), ("S-c", "2")):
        admin.post_form(ADD, sample_form(name=name, amount=amount))
    ascending = admin.get("/sampleview/list/?_oc_SampleView=amount&_od_SampleView=asc&_flt_2_name=S-").data.decode()
    assert ascending.index("S-b") < ascending.index("S-c") < ascending.index("S-a")
    descending = admin.get("/sampleview/list/?_oc_SampleView=amount&_od_SampleView=desc&_flt_2_name=S-").data
    assert descending.decode().index("S-a") < descending.decode().index("S-b")
    secret_sort = admin.get("/sampleview/list/?_oc_SampleView=secret&_od_SampleView=asc")
    unknown_sort = admin.get("/sampleview/list/?_oc_SampleView=nope&_od_SampleView=asc")
    assert secret_sort.status_code == 200 and unknown_sort.status_code == 200


@pytest.mark.parametrize("query", [
    "_flt_0_amount=abc", "_flt_2_count=x", "_flt_0_day=garbage", "_flt_0_at=31-31-31", "_flt_0_unit=notanid",
    "_flt_0_flag=maybe", "_flt_9_name=x", "_flt_0_nosuchcolumn=1", "_flt_0_tags=red", "_flt_0_name[$ne]=x",
    "_flt_4_name=.*", "_flt_0_unit=ffffffffffffffffffffffff",
])
def test_filters_never_answer_500(admin, query):
    assert admin.get(f"/sampleview/list/?{query}").status_code == 200


def test_contains_filter_matches_regex_metacharacters_literally__F4(admin):
    admin.post_form(ADD, sample_form(name="a.b"))
    admin.post_form(ADD, sample_form(name="axb"))
    page = admin.get("/sampleview/list/?_flt_4_name=a.b").data.decode()
    assert "a.b" in page and "axb" not in page


def test_a_filter_value_that_cannot_be_converted_matches_nothing(admin):
    admin.post_form(ADD, sample_form(name="NoDay", day=""))
    page = admin.get("/sampleview/list/?_flt_0_day=garbage").data.decode()
    assert "NoDay" not in page


@pytest.mark.parametrize("args", ["page_SampleView=-1", "page_SampleView=abc", "psize_SampleView=x",
                                  "psize_SampleView=-5", "page_SampleView=99999999999"])
def test_malformed_paging_answers_400(admin, args):
    assert admin.get(f"/sampleview/list/?{args}").status_code == 400


def test_page_size_is_capped(admin, app):
    from models.org import OrgUnit

    unit = OrgUnit.objects(code="HQ").first()
    Sample.objects.insert([Sample(name=f"cap{i:03d}", level="junior", owner_unit=unit) for i in range(120)])
    page = admin.get("/sampleview/list/?psize_SampleView=100000&_flt_2_name=cap").data.decode()
    assert page.count("/sampleview/show/") <= app.config["PAGE_SIZE_MAX"]


def test_legacy_api_routes_of_model_views_are_gone(app):
    rules = {r.rule for r in app.url_map.iter_rules()}
    assert not [r for r in rules if re.search(r"view/api/|/api/(read|get|create|update|delete|column)", r)]


def test_reference_columns_cost_one_query_each_and_dangling_ones_do_not_break_the_list(admin, make_unit):
    unit = make_unit()
    admin.post_form(ADD, sample_form(name="Dangle", unit=str(unit.pk)))
    unit.delete()  # no delete rule on Sample.unit: the reference dangles
    assert admin.get("/sampleview/list/").status_code == 200
    item = Sample.objects(name="Dangle").first()
    assert admin.get(f"/sampleview/show/{item.pk}").status_code == 200


def test_master_detail_loads_the_master_through_the_row_filters__F2(admin):
    from models.org import OrgUnit

    allowed = OrgUnit.objects(code="BR-SALES").first()
    hidden = OrgUnit.objects(code="HQ").first()
    assert admin.get(f"/sampleunitsview/list/{allowed.pk}").status_code == 200
    assert admin.get(f"/sampleunitsview/list/{hidden.pk}").status_code == 404


def test_a_number_past_what_the_database_can_store_is_refused_next_to_the_field(admin):
    for name, field, value, message in (("Huge", "count", "99999999999999999999999", "This number is out of range."),
                                        ("Inf", "ratio", "1e400", "Enter a number.")):
        response = admin.post_form(ADD, sample_form(name=name, **{field: value}))
        assert response.status_code == 200 and Sample.objects(name=name).count() == 0
        assert message in response.data.decode()


def test_the_views_help_text_and_labels_show_on_every_converted_field(as_role):
    admin = as_role("Admin")
    risk = admin.get("/risks/add").data.decode()
    assert "1 negligible, 2 minor, 3 moderate" in risk  # a whole number's description_columns entry
    assert "The person responsible for the measures" in risk  # a reference's
    tier = admin.get("/agent-tiers/add").data.decode()
    assert "A fraction: 0.15 means fifteen percent" in tier  # a decimal's


def test_an_untouched_line_row_reads_as_no_row_and_the_browser_may_send_it(admin, db):
    from models.appraisal import GradeBand
    from portal.compat import embedded_form

    page = admin.get(ADD).data.decode()
    lines = page[page.index('class="portal-lines"'):page.index("portal-lines-add")]
    assert "<td><input" in lines and " required" not in lines  # the server checks a row begun, cell by cell
    assert embedded_form(GradeBand)().grade.data in (None, "")  # a required choice of a line starts blank
    response = admin.post_form(ADD, sample_form(name="Starter", **{"lines-2-day": "", "lines-2-amount": "",
                                                                   "lines-2-place": "", "lines-2-kind": ""}))
    assert response.status_code == 302 and len(Sample.objects.get(name="Starter").lines) == 2


def test_a_record_holding_as_many_lines_as_allowed_opens_for_editing(admin, db):
    item = Sample(name="Full", lines=[{"day": dt.date(2026, 1, 1), "amount": Decimal(n)} for n in range(200)]).save()
    response = admin.get(f"/sampleview/edit/{item.pk}")
    assert response.status_code == 200 and 'name="lines-199-amount"' in response.data.decode()
