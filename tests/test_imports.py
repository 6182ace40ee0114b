"""Bulk import (issue 9 item 4): templates, the dry run, all-or-nothing commits, natural keys, scope, the
background path and bad files. Named after the issue's "Done means"."""

from __future__ import annotations

import datetime as dt
import io
import threading
from decimal import Decimal

import pytest
from mongoengine import OperationError

from models.audit import AuditEntry
from models.customers import Customer
from models.finance import Budget
from models.imports import ImportJob, ImportLock
from models.org import Employee
from models.products import Product, StockItem
from models.receivables import Receivable
from portal import import_jobs, sheets
from portal.imports import SPECS
from tests.conftest import ROLE_USERS, data_round_trips

PRODUCT_HEADER = ["code", "name", "category", "unit", "standard_price", "unit_cost"]


def csv_file(header, rows) -> bytes:
    return sheets.csv_bytes(header, rows)


def xlsx_file(header, rows) -> bytes:
    return sheets.xlsx_bytes(header, rows)


def upload(browser, kind: str, data: bytes, name: str = "import.csv"):
    """POST a file to the kind's upload form; returns the response (a redirect to the job, or the form again)."""
    token = browser.token(f"/import/{kind}/")
    return browser.client.post(f"/import/{kind}/upload", data={"file": (io.BytesIO(data), name), "csrf_token": token},
                               content_type="multipart/form-data")


def job_of(response) -> ImportJob:
    assert response.status_code == 302, response.data[:500]
    return ImportJob.objects(pk=response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]).first()


def commit(browser, job: ImportJob):
    token = browser.token(f"/import/{job.kind}/")
    return browser.client.post(f"/import/jobs/{job.pk}/commit", data={"csrf_token": token})


def problems(job: ImportJob) -> set[tuple[int, str, str]]:
    return {(p.row, p.column, p.message) for p in job.reload().problems}


# ---- the dry run ------------------------------------------------------------------------------------------------
BAD_PRODUCTS = [
    ["IMP-OK", "好产品", "净水器", "piece", "100", "60"],
    ["IMP-X1", "坏价格", "净水器", "piece", "abc", "60"],
    ["IMP-X2", "", "净水器", "piece", "100", "60"],
    ["IMP-X3", "坏单位", "净水器", "barrel", "100", "60"],
    ["IMP-X4", "负成本", "净水器", "box", "100", "-5"],
]


def test_a_dry_run_with_bad_rows_commits_nothing_and_reports_each_bad_cell(as_role, db):
    clerk = as_role("Clerk")
    products, audits = Product.objects.count(), AuditEntry.objects.count()
    job = job_of(upload(clerk, "products", csv_file(PRODUCT_HEADER, BAD_PRODUCTS)))

    assert job.status == "checked" and job.total == 5 and job.problem_count == 4
    found = problems(job)
    assert (3, "standard_price", "Enter a number.") in found
    assert (4, "name", "This field is required.") in found
    assert any(row == 5 and column == "unit" and message.startswith("Not a valid choice.")
               for row, column, message in found)
    assert (6, "unit_cost", "The number is too small.") in found  # the model's own rule (min 0), as on the form
    page = clerk.get(f"/import/jobs/{job.pk}").data.decode()
    assert "Enter a number." in page and "Nothing was written" in page and "/commit" not in page

    assert commit(clerk, job).status_code == 302  # refused: the file has errors
    assert job.reload().status == "checked"
    assert Product.objects.count() == products and AuditEntry.objects.count() == audits
    assert not Product.objects(code="IMP-OK").first()


def test_a_dry_run_reports_its_errors_in_chinese_under_the_chinese_headers(as_role, db):
    clerk = as_role("Clerk")
    clerk.get("/lang/zh")
    template = clerk.get("/import/products/template/csv").data.decode("utf-8-sig")
    header = template.splitlines()[0].split(",")  # code, name, category, spec, unit, standard price, unit cost, ...
    assert header[:2] == ["产品编码", "名称"]  # the template speaks the user's language
    row = ["IMP-ZH1", "", "净水器", "", "件", "一百", "60"] + [""] * (len(header) - 7)
    job = job_of(upload(clerk, "products", csv_file(header, [row])))

    found = problems(job)
    assert (2, "名称", "此字段为必填项。") in found, found
    assert (2, header[5], "请输入数字。") in found, found
    assert "此字段为必填项。" in clerk.get(f"/import/jobs/{job.pk}").data.decode()
    assert not Product.objects(code="IMP-ZH1").first()


def test_a_key_repeated_in_one_file_is_an_error_on_its_second_row(as_role, db):
    clerk = as_role("Clerk")
    rows = [["IMP-D1", "一", "净水器", "piece", "1", "1"], ["imp-d1", "二", "净水器", "piece", "1", "1"]]
    job = job_of(upload(clerk, "products", csv_file(PRODUCT_HEADER, rows)))
    assert [(p.row, p.column) for p in job.problems] == [(3, "code")]
    assert "Row 2" in job.problems[0].message


# ---- natural keys: re-importing updates ---------------------------------------------------------------------------
CUSTOMER_HEADER = ["名称", "Kind", "Source channel", "Owner", "Region", "Contact name", "Contact phone"]


def test_re_import_updates_instead_of_duplicating(as_role, db):
    clerk = as_role("Clerk")
    rows = [["导入客户甲有限公司", "Company", "referral", "E0011", "杭州", "王五", "13800001111"],
            ["李四", "person", "Online", "E0005", "苏州", "", ""]]
    before = Customer.objects.count()
    first = job_of(upload(clerk, "customers", csv_file(CUSTOMER_HEADER, rows)))
    assert (first.status, first.created, first.updated, first.problem_count) == ("checked", 2, 0, 0)
    assert commit(clerk, first).status_code == 302
    assert first.reload().status == "done" and Customer.objects.count() == before + 2
    made = Customer.objects(name="导入客户甲有限公司").first()
    assert made.code.startswith("KH-") and made.contacts[0].phone == "13800001111" and made.owner_unit is not None

    again = job_of(upload(clerk, "customers", csv_file(CUSTOMER_HEADER, rows)))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)  # identical rows change nothing
    assert "nothing to import" in clerk.get(f"/import/jobs/{again.pk}").data.decode()

    rows[0][4] = "宁波"  # one changed cell, found by name; the second row by its number
    changed = job_of(upload(clerk, "customers", csv_file(["Customer no.", *CUSTOMER_HEADER],
                                                         [["", *rows[0]], [Customer.objects(name="李四").first().code,
                                                                           *rows[1]]])))
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 1)
    version = made.reload().version
    commit(clerk, changed)
    assert changed.reload().status == "done" and Customer.objects.count() == before + 2
    assert made.reload().region == "宁波" and made.version == version + 1
    entries = AuditEntry.objects(collection="customers", record_id=str(made.pk)).order_by("at")
    assert [e.action for e in entries] == ["create", "update"]
    assert [(c.field, c.new) for c in entries[1].changes] == [("region", "宁波")]
    summary = AuditEntry.objects(action="import", record_id=str(changed.pk)).first()
    assert summary is not None and "0 created, 1 updated, 1 unchanged" in summary.note


def test_a_number_that_is_not_on_file_is_refused_rather_than_invented(as_role, db):
    clerk = as_role("Clerk")
    job = job_of(upload(clerk, "customers", csv_file(["code", "name", "owner"], [["KH-2099-9999", "某公司", "E0011"]])))
    assert [(p.row, p.column) for p in job.problems] == [(2, "code")]


# ---- all or nothing -----------------------------------------------------------------------------------------------
def test_all_or_nothing_when_a_write_fails_midway(as_role, db, monkeypatch):
    clerk = as_role("Clerk")
    old = Product.objects(code="P-1001").first()
    rows = [["P-1001", "净水器 A100 改名", "净水器", "piece", "1999", "800"],
            ["IMP-N1", "新品一", "净水器", "piece", "10", "5"],
            ["IMP-N2", "新品二", "净水器", "piece", "10", "5"],
            ["IMP-N3", "新品三", "净水器", "piece", "10", "5"]]
    job = job_of(upload(clerk, "products", csv_file(PRODUCT_HEADER, rows)))
    assert (job.created, job.updated, job.problem_count) == (3, 1, 0)
    save, calls = Product.save, {"n": 0}

    def third_write_fails(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OperationError("the disk is full")
        return save(self, *args, **kwargs)

    monkeypatch.setattr(Product, "save", third_write_fails)
    commit(clerk, job)

    job.reload()
    assert job.status == "failed" and "row 4" in job.note and job.data is None  # the upload is not kept
    assert not Product.objects(code__in=["IMP-N1", "IMP-N2", "IMP-N3"]).first()  # nothing left behind
    restored = Product.objects(code="P-1001").first()
    assert (restored.name, restored.standard_price) == (old.name, old.standard_price)  # the update is undone
    assert restored.version == old.version + 2  # newer than the imported state anyone may have opened
    undone = AuditEntry.objects(note="import undone")
    assert {e.action for e in undone} == {"delete", "update"} and undone.count() == 2
    assert not ImportLock.objects(job=job.pk).first()  # the kind is free again


def test_one_import_per_kind_at_a_time_and_one_commit_per_job(as_role, db):
    clerk = as_role("Clerk")
    first = job_of(upload(clerk, "products", csv_file(PRODUCT_HEADER, [["IMP-L1", "一", "类", "piece", "1", "1"]])))
    second = job_of(upload(clerk, "products", csv_file(PRODUCT_HEADER, [["IMP-L2", "二", "类", "piece", "1", "1"]])))
    ImportLock(id="products", job=first.pk, until=dt.datetime(2999, 1, 1)).save()  # the first is being written

    response = commit(clerk, second)
    assert second.reload().status == "checked" and not Product.objects(code="IMP-L2").first()
    assert "Another import of this kind" in clerk.get(response.headers["Location"]).data.decode()

    ImportLock.objects(id="products").update_one(set__until=dt.datetime(2000, 1, 1))  # its worker died long ago
    commit(clerk, second)
    assert second.reload().status == "done" and Product.objects(code="IMP-L2").count() == 1
    commit(clerk, second)  # a second click
    assert second.reload().status == "done" and Product.objects(code="IMP-L2").count() == 1


# ---- template round trip, each kind, CSV and XLSX ------------------------------------------------------------------
def _values(kind: str, fmt: str) -> tuple[str, dict]:
    """(role, the cells of one row by column name) that make a valid record of `kind`."""
    tag = f"IMP-{fmt.upper()}"
    xlsx = fmt == "xlsx"
    if kind == "customers":
        return "Clerk", {"name": f"导入测试 {tag} 有限公司", "kind": "Company", "source": "referral",
                         "owner": "E0011", "key_account": False if xlsx else "否", "status": "线索",
                         "contact_name": "王五", "contact_phone": "13800001111"}
    if kind == "products":
        return "Clerk", {"code": tag.lower(), "name": "导入产品", "category": "净水器", "unit": "piece",
                         "standard_price": 1299.5 if xlsx else "1,299.50", "unit_cost": 800, "active": "yes"}
    if kind == "employees":
        return "HR", {"employee_no": tag, "name": "导入员工", "gender": "女", "owner_unit": "BR-SALES",
                      "position": "销售代表", "manager": "E0003", "status": "active", "staff_kind": "Sales",
                      "hire_date": dt.date(2026, 3, 1) if xlsx else "2026/3/1"}
    if kind == "stock":
        return "Clerk", {"product": "p-1002", "warehouse": f"{tag} 仓", "batch": "B9", "quantity": 10,
                         "reorder_level": "2", "received_on": dt.datetime(2026, 4, 1) if xlsx else "2026-04-01",
                         "owner_unit": "BR-SALES"}
    if kind == "budgets":
        return "Finance", {"year": 2031 if xlsx else "2032", "owner_unit": "BR-SALES", "kind": "expense",
                           "category": "Travel", "annual_amount": "1000", "q1": 250, "q2": "250", "q3": "250",
                           "q4": "250.00"}
    customer = Customer.objects(name="杭州瑞丰贸易有限公司").first()
    return "Finance", {"opening_ref": f"OB-{tag}", "customer": customer.code.lower(), "owner": "E0011",
                       "amount": "5000", "due_date": "2026-06-30", "terms": "月结 30 天"}


def _saved(kind: str, fmt: str):
    tag = f"IMP-{fmt.upper()}"
    return {"customers": lambda: Customer.objects(name=f"导入测试 {tag} 有限公司").first(),
            "products": lambda: Product.objects(code=tag).first(),
            "employees": lambda: Employee.objects(employee_no=tag).first(),
            "stock": lambda: StockItem.objects(warehouse=f"{tag} 仓").first(),
            "budgets": lambda: Budget.objects(year=2031 if fmt == "xlsx" else 2032).first(),
            "receivables": lambda: Receivable.objects(opening_ref=f"OB-{tag}").first()}[kind]()


def _filled_template(template: bytes, fmt: str, row: list) -> bytes:
    if fmt == "csv":
        return template + sheets.csv_bytes(["x"], [row]).decode("utf-8-sig").split("\r\n", 1)[1].encode()
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(template))
    book.worksheets[0].append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("kind", ["customers", "products", "employees", "stock", "budgets", "receivables"])
def test_template_round_trip(as_role, db, kind, fmt):
    role, values = _values(kind, fmt)
    browser = as_role(role)
    template = browser.get(f"/import/{kind}/template/{fmt}")
    assert template.status_code == 200 and template.headers["Content-Disposition"].startswith("attachment")
    row = [values.get(c.name or c.field) for c in SPECS[kind].columns]
    job = job_of(upload(browser, kind, _filled_template(template.data, fmt, row), f"filled.{fmt}"))
    assert (job.status, job.problem_count, job.created) == ("checked", 0, 1), [p.to_mongo() for p in job.problems]
    commit(browser, job)
    assert job.reload().status == "done", job.note
    record = _saved(kind, fmt)
    assert record is not None and record.created_by == ROLE_USERS[role]
    if kind == "budgets":
        assert record.quarters == [Decimal("250")] * 4 and record.requested_by is not None
    if kind == "employees":
        assert record.position.name == "销售代表" and record.manager.employee_no == "E0003"
    if kind == "stock":
        assert record.product.code == "P-1002" and record.available == 10


def test_the_xlsx_template_lists_what_each_column_takes(as_role, db):
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(as_role("Clerk").get("/import/products/template/xlsx").data))
    notes = [row for row in book.worksheets[1].iter_rows(values_only=True)]
    assert book.worksheets[0]["A1"].value == "Product code"
    assert any(row[0] == "Unit of measure" and "Piece" in row[2] for row in notes)


# ---- scope and permissions -------------------------------------------------------------------------------------------
def test_a_clerk_cannot_import_into_another_unit(as_role, db):
    clerk = as_role("Clerk")  # 销售部 (BR-SALES)
    stock = job_of(upload(clerk, "stock", csv_file(
        ["product", "warehouse", "quantity", "owner_unit"],
        [["P-1001", "导入仓", "5", "BR-CS"],  # a new row in another unit
         ["P-1001", "上海仓", "99", ""]])))  # batch "" of 上海仓 does not exist: new, in the clerk's unit
    assert {(p.row, p.column) for p in stock.problems} == {(2, "owner_unit")}
    assert "outside your scope" in stock.problems[0].message
    existing = job_of(upload(clerk, "stock", csv_file(["product", "warehouse", "batch", "quantity"],
                                                      [["P-1001", "上海仓", "B2602", "99"]])))  # 运营管理部's row
    assert [(p.row, p.column) for p in existing.problems] == [(2, "product")]  # taken, as a save would say; whose
    assert existing.problems[0].message == "A record with this value already exists."  # it is stays unsaid
    customers = job_of(upload(clerk, "customers", csv_file(["name", "owner"], [["跨部门客户", "E0006"]])))
    assert [(p.row, p.column) for p in customers.problems] == [(2, "owner")]
    assert StockItem.objects(quantity=99).count() == 0 and not Customer.objects(name="跨部门客户").first()


def test_each_kind_is_open_only_to_who_may_add_its_records(as_role, db):
    clerk, hr, rep = as_role("Clerk"), as_role("HR"), as_role("Employee")
    assert clerk.get("/import/employees/").status_code == 404  # clerks read staff records, HR keeps them
    assert hr.get("/import/employees/").status_code == 200 and hr.get("/import/stock/").status_code == 404
    assert rep.get("/import/").status_code == 302  # no import page for plain staff
    assert "portal-import-link" in clerk.get("/products/list/").data.decode()
    assert "portal-import-link" not in rep.get("/products/list/").data.decode()
    job = job_of(upload(clerk, "products", csv_file(PRODUCT_HEADER, [["IMP-P1", "一", "类", "piece", "1", "1"]])))
    assert hr.get(f"/import/jobs/{job.pk}").status_code == 404  # an upload is its uploader's alone


# ---- large files: the background -------------------------------------------------------------------------------------
def test_background_job_progress_reaches_total(app, as_role, db, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_BACKGROUND_ROWS", 3)
    gate, run_check = threading.Event(), import_jobs.run_check

    def held_check(job, rows=None):
        gate.wait(10)
        return run_check(job, rows)

    monkeypatch.setattr(import_jobs, "run_check", held_check)
    clerk = as_role("Clerk")
    rows = [[f"IMP-B{n}", f"批量{n}", "类", "piece", "1", "1"] for n in range(8)]
    job = job_of(upload(clerk, "products", csv_file(PRODUCT_HEADER, rows)))
    assert job.background and job.status == "checking"
    page = clerk.get(f"/import/jobs/{job.pk}").data.decode()
    assert "portal/imports.js" in page and "0 / 8" in page
    assert clerk.get(f"/import/jobs/{job.pk}/progress").json == {
        "status": "checking", "label": "Checking", "done": 0, "total": 8, "running": True}
    gate.set()
    import_jobs.join(job.pk)
    assert (job.reload().status, job.done, job.total, job.created) == ("checked", 8, 8, 8)

    commit(clerk, job)
    import_jobs.join(job.pk)
    progress = clerk.get(f"/import/jobs/{job.pk}/progress").json
    assert progress["status"] == "done" and progress["done"] == progress["total"] == 8 and not progress["running"]
    assert Product.objects(code__startswith="IMP-B").count() == 8
    assert AuditEntry.objects(collection="products", action="create", user="sales_clerk").count() >= 8


# ---- bad files: a message, never a 500 -------------------------------------------------------------------------------
def _huge_cell() -> bytes:
    return csv_file(PRODUCT_HEADER, [["IMP-H1", "x" * 100_000, "类", "piece", "1", "1"]])


GARBAGE = {
    "binary.csv": (bytes(range(256)) * 40, "not CSV text"),
    "empty.csv": (b"", "The file is empty."),
    "utf16.csv": ("code,name\r\nX,一\r\n".encode("utf-16"), "not CSV text"),
    "not-a-workbook.xlsx": (b"just text", "not an XLSX workbook"),
    "broken.xlsx": (b"PK\x03\x04" + b"\x00" * 300, "cannot be read"),
    "workbook-named.csv": (xlsx_file(["code"], [["x"]]), "a workbook"),
    "picture.png": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "Allowed file types"),
    "stray-quote.csv": (b'code,name\r\n"X,\xe4\xb8\x80\r\n' + b"y" * 200_000, "cannot be read"),
    "headers-only-blank.csv": (b"\r\n\r\n", "column headers"),
}


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_no_500_on_garbage_files(as_role, db, name):
    data, message = GARBAGE[name]
    jobs = ImportJob.objects.count()
    response = upload(as_role("Clerk"), "products", data, name)
    assert response.status_code == 422 and message in response.data.decode()  # next to the file input
    assert ImportJob.objects.count() == jobs  # nothing kept


@pytest.mark.parametrize(("name", "data", "row", "message"), [
    ("wrong-headers.csv", b"colour,size\r\nred,1\r\n", 1, "not a column of this import"),
    ("huge-cell.csv", None, 2, "The text is too long."),
    ("no-rows.csv", csv_file(PRODUCT_HEADER, [["", " "]]), 2, "no rows to import"),
])
def test_a_readable_file_with_wrong_content_is_reported_by_row(as_role, db, name, data, row, message):
    clerk = as_role("Clerk")
    job = job_of(upload(clerk, "products", data if data is not None else _huge_cell(), name))
    assert job.status == "checked" and any(p.row == row and message in p.message for p in job.problems)
    assert clerk.get(f"/import/jobs/{job.pk}").status_code == 200


def test_a_gbk_csv_with_chinese_headers_is_read(as_role, db):
    data = "产品编码,名称,类别,unit,标准价（元）,单位成本（元）\r\nIMP-GBK,国标编码产品,类,件,1,1\r\n".encode("gbk")
    clerk = as_role("Clerk")
    job = job_of(upload(clerk, "products", data, "gbk.csv"))
    assert (job.problem_count, job.created) == (0, 1), [p.to_mongo() for p in job.problems]
    commit(clerk, job)
    assert Product.objects(code="IMP-GBK").first().name == "国标编码产品"


# ---- round-trips: one query per referenced collection ----------------------------------------------------------------
def _stock_rows(n: int) -> list[list]:
    return [["P-1001" if i % 2 else "p-1002", f"测算仓{i}", "", str(i), "BR-SALES"] for i in range(n)]


@pytest.mark.parametrize(("kind", "header", "rows", "lookups"), [
    ("stock", ["product", "warehouse", "batch", "quantity", "owner_unit"], _stock_rows, ("products", "org_units")),
    ("receivables", ["opening_ref", "customer", "owner", "amount", "due_date"],
     lambda n: [[f"OB-RT-{i}", "KH-2026-0001", "E0011" if i % 2 else "E0005", "10", "2026-06-30"]
                for i in range(n)], ("customers", "employees", "org_units")),
    ("customers", ["name", "kind", "owner"], lambda n: [[f"测算客户{i}", "person", "E0011"] for i in range(n)],
     ("employees", "org_units")),
])
def test_the_dry_run_reads_each_referenced_collection_once_whatever_the_rows(as_role, db, counter, kind, header,
                                                                            rows, lookups):
    browser = as_role("Finance" if kind == "receivables" else "Clerk")
    figures = {}
    for n in (10, 100):
        data = csv_file(header, rows(n))
        upload(browser, kind, data)  # warm: the first upload of a session reads settings and translations
        counter.reset()
        job = job_of(upload(browser, kind, data))
        assert job.problem_count == 0, [p.to_mongo() for p in job.problems[:3]]
        figures[n] = counter.by_collection()
    print(kind, figures)  # the figures of the report (pytest -s)
    for collection in lookups:
        assert figures[10].get(collection, 0) == figures[100].get(collection, 0) <= 2, (collection, figures)
    if kind == "receivables":  # no rule of a receivable reads per row: the whole dry run is flat
        assert data_round_trips_of(figures[10]) == data_round_trips_of(figures[100])


def data_round_trips_of(by_collection: dict) -> int:
    class _Counter:
        def by_collection(self):
            return by_collection

    return data_round_trips(_Counter())


# ---- review findings on the import (issue 9 item 4) ------------------------------------------------------------------
HANDED_OVER = "Only the owner, the dedicated owner or their department head can hand this customer over."


def _theirs(name: str = "移交测试有限公司", owner: str = "sales_rep", **fields) -> Customer:
    """A customer of 销售部 kept by sales_rep: the unit's clerk sees it, with its contacts masked."""
    from models.customers import Contact
    from tests.approvals_kit import person

    return Customer(name=name, owner=person(owner), contacts=[Contact(name="王五", phone="13912345678",
                                                                      email="wangwu@example.com")], **fields).save()


def test_an_import_cannot_hand_over_a_customer_whose_contacts_are_masked__issue_9_4(as_role, db):
    theirs = _theirs()
    clerk = as_role("Clerk")  # 陈静 (E0005), 销售部: sees the customer, its contacts masked
    takeover = job_of(upload(clerk, "customers", csv_file(["code", "name", "owner"],
                                                          [[theirs.code, theirs.name, "E0005"]])))
    assert problems(takeover) == {(2, "owner", HANDED_OVER)}  # the form's rule and words, on that cell
    dedicated = job_of(upload(clerk, "customers", csv_file(["code", "name", "owner", "key_account", "key_owner"],
                                                           [[theirs.code, theirs.name, "E0011", "yes", "E0005"]])))
    assert problems(dedicated) == {(2, "key_account", HANDED_OVER)}
    commit(clerk, takeover)
    commit(clerk, dedicated)
    assert theirs.reload().owner.employee_no == "E0011" and not theirs.key_account and theirs.key_owner is None

    head = as_role("DeptHead")  # 张伟 heads 销售部: sees the contacts in full, so may hand the customer over
    handed = job_of(upload(head, "customers", csv_file(["code", "name", "owner"],
                                                       [[theirs.code, theirs.name, "E0005"]])))
    assert (handed.problem_count, handed.updated) == (0, 1)
    commit(head, handed)
    assert theirs.reload().owner.employee_no == "E0005"


def test_a_dry_run_cannot_confirm_a_masked_contact_phone__issue_9_4(as_role, db):
    theirs = _theirs()
    clerk = as_role("Clerk")
    header = ["code", "name", "owner", "contact_name", "contact_phone", "contact_email"]
    right = job_of(upload(clerk, "customers", csv_file(header, [[theirs.code, theirs.name, "E0011", "王五",
                                                                 "13912345678", "wangwu@example.com"]])))
    wrong = job_of(upload(clerk, "customers", csv_file(header, [[theirs.code, theirs.name, "E0011", "王五",
                                                                 "13800000000", "guess@example.com"]])))
    outcome = [(j.problem_count, j.created, j.updated, j.unchanged) for j in (right, wrong)]
    assert outcome == [(0, 0, 0, 1), (0, 0, 0, 1)]  # the right guess and the wrong one read the same
    commit(clerk, wrong)
    assert wrong.reload().status == "done"
    contact = theirs.reload().contacts[0]
    assert (contact.phone, contact.email) == ("13912345678", "wangwu@example.com")  # the file's never written

    head = as_role("DeptHead")  # sees the numbers in full: the file's are compared and written
    changed = job_of(upload(head, "customers", csv_file(header, [[theirs.code, theirs.name, "E0011", "王五",
                                                                  "13800000000", ""]])))
    assert (changed.problem_count, changed.updated) == (0, 1)
    commit(head, changed)
    assert theirs.reload().contacts[0].phone == "13800000000"


def test_every_bad_cell_of_a_row_is_reported_also_when_one_cannot_be_read__issue_9_4(as_role, db):
    clerk = as_role("Clerk")
    rows = [["IMP-E1", "多处错误", "净水器", "barrel", "abc", "-5"],  # unit and price unreadable, cost below 0
            ["IMP-E2", "", "净水器", "piece", "abc", "-5"]]  # name blank too
    job = job_of(upload(clerk, "products", csv_file(PRODUCT_HEADER, rows)))
    found = {(row, column): message for row, column, message in problems(job)}
    assert set(found) == {(2, "unit"), (2, "standard_price"), (2, "unit_cost"),
                          (3, "name"), (3, "standard_price"), (3, "unit_cost")}
    assert found[(2, "unit_cost")] == found[(3, "unit_cost")] == "The number is too small."  # checked all the same
    assert found[(2, "standard_price")] == "Enter a number."  # one message per cell: not also "required"
    assert job.problem_count == 6 and not Product.objects(code__in=["IMP-E1", "IMP-E2"]).first()


BUDGET_HEADER = ["year", "owner_unit", "kind", "category", "annual_amount", "q1", "q2", "q3", "q4"]


def test_a_blank_quarter_before_a_filled_one_is_zero_not_a_decimal_error__issue_9_4(as_role, db):
    finance = as_role("Finance")
    job = job_of(upload(finance, "budgets", csv_file(BUDGET_HEADER, [
        ["2034", "BR-SALES", "expense", "Travel", "1000", "500", "", "250", "250"]])))
    assert (job.problem_count, job.created) == (0, 1), [p.to_mongo() for p in job.problems]
    commit(finance, job)
    assert Budget.objects(year=2034).first().quarters == [Decimal("500"), Decimal("0"), Decimal("250"),
                                                          Decimal("250")]


def test_a_value_mongoengine_cannot_convert_reads_enter_a_number_next_to_its_column__issue_9_4(as_role, db,
                                                                                               monkeypatch):
    from portal import importer

    monkeypatch.setattr(importer, "_blank", lambda list_field: None)  # padded as before: mongoengine's raw error
    job = job_of(upload(as_role("Finance"), "budgets", csv_file(BUDGET_HEADER, [
        ["2035", "BR-SALES", "expense", "Travel", "1000", "500", "", "250", "250"]])))
    assert (2, "q2", "Enter a number.") in problems(job)
    assert not any("convert" in message for _row, _column, message in problems(job))


def _zipped(members: dict[str, bytes]) -> bytes:
    import zipfile

    book = zipfile.ZipFile(io.BytesIO(xlsx_file(PRODUCT_HEADER, [["IMP-Z1", "一", "类", "piece", "1", "1"]])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for info in book.infolist():
            out.writestr(info, book.read(info.filename))
        for name, data in members.items():
            out.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("bomb", ["unpacked", "members"])
def test_a_zip_bomb_is_refused_before_it_is_read__issue_9_4(as_role, db, monkeypatch, bomb):
    import openpyxl

    from portal import import_files

    def must_not_read(*args, **kwargs):
        raise AssertionError("the workbook was opened")

    if bomb == "unpacked":
        monkeypatch.setattr(import_files, "MAX_UNPACKED", 1024 * 1024)
        data = _zipped({"xl/media/padding.bin": b"\0" * (2 * 1024 * 1024)})  # 2 MB of zeros: a few KB zipped
    else:
        data = _zipped({f"xl/media/part{n}.bin": b"" for n in range(import_files.MAX_MEMBERS)})
    monkeypatch.setattr(openpyxl, "load_workbook", must_not_read)
    jobs = ImportJob.objects.count()
    response = upload(as_role("Clerk"), "products", data, "bomb.xlsx")
    assert response.status_code == 422 and "This file is too large once unpacked." in response.data.decode()
    assert ImportJob.objects.count() == jobs


def test_a_workbook_stating_a_huge_sheet_is_read_only_as_far_as_its_rows_go__issue_9_4(as_role, db, monkeypatch):
    import re
    import zipfile

    from portal import import_files

    source = zipfile.ZipFile(io.BytesIO(xlsx_file(PRODUCT_HEADER, [["IMP-W1", "一", "类", "piece", "1", "1"],
                                                                   ["IMP-W2", "二", "类", "piece", "1", "1"]])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename.startswith("xl/worksheets/"):  # the sheet claims every row and column Excel has
                data = re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:XFD1048576"/>', data)
            out.writestr(info, data)
    widths, trim = [], import_files._trim
    monkeypatch.setattr(import_files, "_trim", lambda row: (widths.append(len(row)), trim(row))[1])
    job = job_of(upload(as_role("Clerk"), "products", buffer.getvalue(), "stated.xlsx"))
    assert (job.problem_count, job.created) == (0, 2)
    assert len(widths) == 3 and max(widths) <= import_files.MAX_COLUMNS + 1  # not 16,384 cells a row


def test_a_cell_longer_than_a_spreadsheet_cell_is_an_error_of_that_cell__issue_9_4(as_role, db):
    from portal.import_files import MAX_CELL

    row = ["IMP-LONG", "长" * (MAX_CELL + 500), "净水器", "piece", "abc", "1"]
    job = job_of(upload(as_role("Clerk"), "products", csv_file(PRODUCT_HEADER, [row])))
    assert problems(job) == {(2, "name", f"The text is too long. A cell holds at most {MAX_CELL} characters."),
                             (2, "standard_price", "Enter a number.")}


def test_a_name_outside_my_scope_is_neither_revealed_nor_silently_duplicated__issue_9_4(as_role, db):
    from tests.approvals_kit import person

    theirs = Customer(name="客服部的个人客户", kind="person", owner=person("service_clerk")).save()  # 客服部
    company = Customer(name="客服部的公司客户有限公司", kind="company", owner=person("service_clerk")).save()
    clerk = as_role("Clerk")  # 销售部
    person_row = job_of(upload(clerk, "customers", csv_file(["name", "kind", "owner"],
                                                            [[theirs.name, "person", "E0011"]])))
    assert (person_row.problem_count, person_row.created) == (0, 1)  # a namesake of my unit's, as the form adds it
    company_row = job_of(upload(clerk, "customers", csv_file(["name", "kind", "owner"],
                                                             [[company.name, "company", "E0011"]])))
    [(row, column, message)] = problems(company_row)  # the company is on file: the form's words, not its keeper's
    assert (row, column) == (2, "name") and "already on file" in message
    assert "scope" not in message and person("service_clerk").name not in message
    number = job_of(upload(clerk, "customers", csv_file(["code", "name", "owner"],
                                                        [[company.code, company.name, "E0011"]])))
    nowhere = job_of(upload(clerk, "customers", csv_file(["code", "name", "owner"],
                                                         [["KH-2099-9999", company.name, "E0011"]])))
    assert problems(number) == {(2, "code", m) for _r, _c, m in problems(nowhere)}  # theirs reads as not on file
    commit(clerk, company_row)
    assert Customer.objects(name=company.name).count() == 1


def test_an_opening_reference_outside_my_scope_reads_as_taken_not_as_theirs__issue_9_4(as_role, db):
    from tests.approvals_kit import person

    customer = Customer.objects(name="杭州瑞丰贸易有限公司").first()
    Receivable(customer=customer, owner=person("service_clerk"), amount=Decimal("10"),
               due_date=dt.date(2026, 6, 30), opening_ref="OB-CS-1").save()  # 客服部's
    clerk = as_role("Clerk")
    job = job_of(upload(clerk, "receivables", csv_file(["opening_ref", "customer", "owner", "amount", "due_date"],
                                                       [["OB-CS-1", customer.code, "E0011", "99", "2026-07-31"]])))
    assert problems(job) == {(2, "opening_ref", "A record with this value already exists.")}
    assert Receivable.objects(opening_ref="OB-CS-1").first().amount == Decimal("10")


def test_a_dry_run_with_errors_keeps_no_copy_of_the_file__issue_9_4(as_role, db):
    clerk = as_role("Clerk")
    bad = job_of(upload(clerk, "products", csv_file(PRODUCT_HEADER, BAD_PRODUCTS)))
    good = job_of(upload(clerk, "products", csv_file(PRODUCT_HEADER, BAD_PRODUCTS[:1])))
    assert ImportJob.objects(pk=bad.pk).scalar("data").first() is None and bad.reload().problem_count == 4
    assert ImportJob.objects(pk=good.pk).scalar("data").first() is not None  # kept until it is imported


def test_an_unexpected_error_in_a_commit_fails_the_job_and_writes_nothing__issue_9_4(as_role, db, monkeypatch):
    clerk = as_role("Clerk")
    rows = [["IMP-U1", "一", "类", "piece", "1", "1"], ["IMP-U2", "二", "类", "piece", "1", "1"]]
    job = job_of(upload(clerk, "products", csv_file(PRODUCT_HEADER, rows)))
    assert job.problem_count == 0

    def store_gone(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(import_jobs, "check", store_gone)
    assert commit(clerk, job).status_code == 302  # not a 500
    job.reload()
    assert job.status == "failed" and "nothing was imported" in job.note and job.data is None
    assert not Product.objects(code__in=["IMP-U1", "IMP-U2"]).first()
    assert not ImportLock.objects(job=job.pk).first()
    assert AuditEntry.objects(action="import", record_id=str(job.pk)).count() == 1


def test_portal_remind_drops_abandoned_files_and_fails_stopped_imports__issue_9_4(db):
    from portal import reminders

    now = import_jobs.utcnow()
    hours = dt.timedelta(hours=1)

    def job(status, **fields):
        return ImportJob(kind="products", file_name=f"{status}.csv", file_format="csv", user="sales_clerk",
                         status=status, data=b"sealed", **fields).save()

    abandoned = job("checked", checked_at=now - 30 * hours)
    fresh = job("checked", checked_at=now - hours)
    stalled_check = job("checking", created_at=now - 2 * hours)
    died = job("committing", started_at=now - 2 * hours, locale="zh")
    ImportLock(id="products", job=died.pk, until=now - hours).save()  # its worker stopped extending the lock
    writing = job("committing", started_at=now - 2 * hours)
    ImportLock(id="stock", job=writing.pk, until=now + hours).save()  # a long import still at work
    writing.update(set__kind="stock")

    assert import_jobs.expire in reminders.SOURCES  # `portal remind` runs it
    sent = import_jobs.expire(now)
    assert {s.title for s in sent} == {str(abandoned), str(stalled_check), str(died)}
    for failed in (abandoned, stalled_check, died):
        failed.reload()
        assert failed.status == "failed" and failed.data is None and failed.note
    assert "Upload it again" in abandoned.note and "stopped while writing" in died.note
    assert fresh.reload().status == "checked" and fresh.data is not None
    assert writing.reload().status == "committing" and writing.data is not None
    assert ImportLock.objects(id="products").first().job is None  # the kind is free again
    assert AuditEntry.objects(action="import", record_id=str(died.pk)).count() == 1
    assert import_jobs.expire(now) == []  # once


def test_at_most_two_large_imports_work_at_once__issue_9_4(app, as_role, db, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_BACKGROUND_ROWS", 1)
    gate, lock, state = threading.Event(), threading.Lock(), {"now": 0, "most": 0}
    run_check = import_jobs.run_check

    def held_check(job, rows=None):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        gate.wait(10)
        try:
            return run_check(job, rows)
        finally:
            with lock:
                state["now"] -= 1

    monkeypatch.setattr(import_jobs, "run_check", held_check)
    clerk = as_role("Clerk")
    jobs = [job_of(upload(clerk, "products", csv_file(PRODUCT_HEADER, [[f"IMP-S{n}{i}", "并发", "类", "piece", "1",
                                                                         "1"] for i in range(2)])))
            for n in range(3)]
    deadline = dt.datetime.now() + dt.timedelta(seconds=5)
    while state["now"] < 2 and dt.datetime.now() < deadline:
        threading.Event().wait(0.02)
    threading.Event().wait(0.3)  # time enough for a third to start, were it allowed
    assert state["now"] == 2 and all(j.reload().status == "checking" for j in jobs)
    gate.set()
    for j in jobs:
        import_jobs.join(j.pk, 10)
    assert state["most"] == 2 and [j.reload().status for j in jobs] == ["checked"] * 3
