"""Backup and restore of every collection (DSC 7(2)2), sealed with the file key (BRD 9(2)2); DOMAIN 3.10."""

import gzip
import os

import bson
import mongoengine
import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from models.files import Attachment
from portal import backup, crypto
from portal.cli import portal_cli


@pytest.fixture
def source(app, db):
    """The test database with the demo data set, plus a sealed and a legacy plain attachment (binary fields)."""
    with app.app_context():
        Attachment(filename="合同.pdf", content_type="application/pdf", size=9, sha256="0" * 64,
                   data=crypto.seal(b"%PDF-1.4 "), encrypted=True).save()
        Attachment(filename="旧收据.png", content_type="image/png", size=4, sha256="1" * 64, data=b"\x89PNG").save()
        yield mongoengine.get_db()


@pytest.fixture
def target(source):
    """A second, empty database on the same server (or mongomock client)."""
    database = mongoengine.get_connection()[f"{source.name}_restored"]
    mongoengine.get_connection().drop_database(database.name)
    yield database
    mongoengine.get_connection().drop_database(database.name)


def snapshot(database) -> dict:
    """Every document of every collection, BSON-encoded (exact to the type), by collection and id order."""
    return {name: [bson.encode(d) for d in database[name].find().sort("_id")]
            for name in database.list_collection_names() if database[name].count_documents({})}


def without_operations(database, label: str) -> None:
    """Drop the audit entry that the backup or the restore itself appends (it is not part of the file)."""
    database.audit_log.delete_many({"collection": "database", "record_label": label, "record_id": database.name})


@pytest.mark.parametrize("sealed", [True, False], ids=["encrypted", "plain"])
def test_a_restore_into_an_empty_database_gives_back_every_collection_DSC_7_2_2(source, target, tmp_path, sealed,
                                                                                monkeypatch):
    monkeypatch.setattr(backup, "CHUNK", 4096)  # many sealed frames even for the small demo data set
    before = snapshot(source)
    path = str(tmp_path / "portal.bak")
    counts = backup.write(source, path, seal=sealed)
    assert {name: len(docs) for name, docs in before.items()} == {n: c for n, c in counts.items() if c}
    assert {"audit_log", "user", "role", "permission", "counters", "attachments", "employees"} <= set(before)

    contents = backup.restore(target, path)

    assert contents.sealed is sealed and contents.database == source.name
    entry = target.audit_log.find_one({"collection": "database", "record_label": "restore"})
    assert entry["action"] == "admin" and "portal.bak" in entry["note"]
    without_operations(target, "restore")
    after = snapshot(target)
    assert after.keys() == before.keys()
    for name in before:  # equal counts, equal ids and equal documents, collection by collection
        assert len(after[name]) == len(before[name]), name
        assert [bson.decode(d)["_id"] for d in after[name]] == [bson.decode(d)["_id"] for d in before[name]], name
        assert after[name] == before[name], name
    assert source.audit_log.find_one({"collection": "database", "record_label": "backup"}) is not None
    unique = [spec for spec in target.employees.index_information().values() if spec.get("unique")]
    assert [spec["key"] for spec in unique] == [[("employee_no", 1)]]  # the Documents' indexes are created


def test_a_failed_backup_leaves_no_half_file_DSC_7_2_2(source, tmp_path, monkeypatch):
    path = tmp_path / "portal.bak"
    path.write_bytes(b"yesterday's backup")

    def broken(database, raw, seal):
        raw.write(b"half a backup")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(backup, "_write_stream", broken)
    with pytest.raises(OSError):
        backup.write(source, str(path))
    assert path.read_bytes() == b"yesterday's backup" and os.listdir(tmp_path) == ["portal.bak"]


def test_a_restore_over_a_database_that_holds_data_is_refused_DSC_7_2_2(source, target, tmp_path):
    path = str(tmp_path / "portal.bak")
    backup.write(source, path)
    target.employees.insert_one({"employee_no": "X1", "name": "已有数据"})

    with pytest.raises(backup.BackupError, match=r"already holds data.*--force"):
        backup.restore(target, path)
    assert sorted(target.list_collection_names()) == ["employees"] and target.employees.count_documents({}) == 1


def test_force_replaces_each_collection_of_the_file_and_keeps_the_others_DSC_7_2_2(source, target, tmp_path):
    path = str(tmp_path / "portal.bak")
    backup.write(source, path)
    target.employees.insert_one({"employee_no": "X1", "name": "将被替换"})
    target.scratch.insert_one({"note": "not in the backup"})

    backup.restore(target, path, force=True)

    assert target.employees.find_one({"employee_no": "X1"}) is None
    assert target.employees.count_documents({}) == source.employees.count_documents({})
    assert target.scratch.count_documents({}) == 1
    assert "over existing data" in target.audit_log.find_one({"record_label": "restore"})["note"]


def test_a_fresh_portal_counts_as_an_empty_database_DSC_7_2_2(source, target, tmp_path):
    path = str(tmp_path / "portal.bak")
    backup.write(source, path)
    for name in ("role", "permission", "view_menu", "permission_view", "audit_log"):  # written at a first start
        target[name].insert_one({"name": f"start-up {name}"})

    backup.restore(target, path)

    assert target.role.find_one({"name": "start-up role"}) is None
    assert target.role.count_documents({}) == source.role.count_documents({})


def damaged(path: str, how: str) -> None:
    with open(path, "rb") as file:
        data = file.read()
    if how == "truncated":
        data = data[: len(data) // 2]
    elif how in ("corrupt", "corrupt end"):
        at = len(data) // 2 if how == "corrupt" else len(data) - 100
        data = data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]
    elif how == "missing end":
        data = gzip.compress(gzip.decompress(data)[:-len(bson.encode({"end": {}})) - 40])
    with open(path, "wb") as file:
        file.write(data)


@pytest.mark.parametrize(("sealed", "how"), [(True, "truncated"), (True, "corrupt"), (True, "corrupt end"),
                                             (False, "truncated"), (False, "corrupt"), (False, "missing end")])
def test_a_truncated_or_corrupt_backup_is_refused_before_any_write_DSC_7_2_2(source, target, tmp_path, sealed, how,
                                                                             monkeypatch):
    monkeypatch.setattr(backup, "CHUNK", 4096)
    path = str(tmp_path / "portal.bak")
    backup.write(source, path, seal=sealed)
    damaged(path, how)

    with pytest.raises(backup.BackupError, match="damaged") as raised:
        backup.restore(target, path)
    assert target.list_collection_names() == []
    if how == "corrupt end":  # the key opened the frames before: not mistaken for a wrong key
        assert str(raised.value) == "The backup file is damaged."


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 a zip file", gzip.compress(b"hello"),
                                     gzip.compress(bson.encode({"format": "something else", "version": 1}))],
                         ids=["empty", "zip", "gzip text", "other bson"])
def test_a_file_that_is_not_a_portal_backup_is_refused_DSC_7_2_2(target, tmp_path, content):
    path = tmp_path / "other.bin"
    path.write_bytes(content)
    with pytest.raises(backup.BackupError, match=r"not a portal backup|truncated or damaged"):
        backup.restore(target, str(path))
    assert target.list_collection_names() == []


def test_a_backup_is_encrypted_with_the_file_key_and_another_key_is_refused_BRD_9_2_2(source, target, tmp_path,
                                                                                      monkeypatch):
    path = str(tmp_path / "portal.bak")
    backup.write(source, path)
    with open(path, "rb") as file:
        data = file.read()
    assert data.startswith(backup.SEALED_MAGIC) and source.name.encode() not in data

    monkeypatch.setattr(crypto._State, "ring", crypto.keyring({"FILE_KEY": Fernet.generate_key().decode()})[0])
    with pytest.raises(backup.BackupError, match="cannot be decrypted with PORTAL_FILE_KEY"):
        backup.restore(target, path)
    monkeypatch.setattr(crypto._State, "from_config", False)  # the embedded store without PORTAL_FILE_KEY
    with pytest.raises(backup.BackupError, match="set PORTAL_FILE_KEY"):
        backup.restore(target, path)
    assert target.list_collection_names() == []


def test_backup_and_restore_commands_print_counts_and_refuse_clearly_DSC_7_2_2(app, source, tmp_path):
    path = str(tmp_path / "portal.bak")
    runner = CliRunner()
    with app.app_context():
        written = runner.invoke(portal_cli, ["backup", path])
        refused = runner.invoke(portal_cli, ["restore", path])
        forced = runner.invoke(portal_cli, ["restore", "--force", path])
        missing = runner.invoke(portal_cli, ["restore", str(tmp_path / "nope.bak")])
    employees = source.employees.count_documents({})
    assert written.exit_code == 0 and f"employees: {employees}" in written.output and "(encrypted)" in written.output
    assert refused.exit_code == 1 and "--force" in refused.output and "Nothing was written." in refused.output
    assert "Traceback" not in refused.output
    assert forced.exit_code == 0 and f"employees: {employees}" in forced.output and "restored from" in forced.output
    assert missing.exit_code == 1 and "cannot be read" in missing.output
    assert source.audit_log.find_one({"record_label": "restore", "user": "cli:restore"}) is not None
