"""Encryption at rest of confidential files (BRD 9(2)2, SOC 8.1; DOMAIN 3.10): sealed in MongoDB, downloaded as
uploaded, legacy plain files still served, a wrong or missing key refused cleanly."""

import io

import pytest
from cryptography.fernet import Fernet

from models.files import Attachment
from models.regulations import Regulation
from portal import crypto

ORIGINAL = b"%PDF-1.4 confidential contract text 2026"


@pytest.fixture
def regulation(db):
    """The DSC regulation, whose full text is a download every signed-in user may fetch; put back afterwards."""
    item = Regulation.objects(code="DSC").first()
    kept = Regulation._get_collection().find_one({"_id": item.pk}, {"document": 1}).get("document")
    yield item
    Regulation._get_collection().update_one({"_id": item.pk}, {"$set": {"document": kept}})


def attach(regulation, **stored) -> None:
    """Store an attachment document as given (raw, as an older portal may have) and make it the regulation's."""
    pk = Attachment._get_collection().insert_one({"filename": "old.pdf", "content_type": "application/pdf",
                                                  "size": len(ORIGINAL), "sha256": "0" * 64, **stored}).inserted_id
    Regulation._get_collection().update_one({"_id": regulation.pk}, {"$set": {"document": pk}})


def test_an_uploaded_file_is_encrypted_at_rest_and_downloads_as_uploaded_BRD_9_2_2(as_role, regulation):
    data = {"code": "DSC", "name_zh": regulation.name_zh, "name_en": regulation.name_en, "sort_order": "0",
            "version": str(regulation.version), "upload": (io.BytesIO(ORIGINAL), "合同.pdf")}
    saved = as_role("Admin").post_form(f"/regulationview/edit/{regulation.pk}", data,
                                       content_type="multipart/form-data")
    assert saved.status_code == 302
    pk = Regulation._get_collection().find_one({"_id": regulation.pk})["document"]
    stored = Attachment._get_collection().find_one({"_id": pk})
    assert stored["encrypted"] is True and b"confidential" not in bytes(stored["data"])
    assert stored["size"] == len(ORIGINAL)

    download = as_role("Employee").get(f"/regulationview/file/{regulation.pk}")
    assert download.status_code == 200 and download.data == ORIGINAL


def test_a_file_stored_before_encryption_still_downloads_BRD_9_2_2(as_role, regulation):
    attach(regulation, data=ORIGINAL)  # no `encrypted` field at all: stored in plain by an earlier release

    download = as_role("Employee").get(f"/regulationview/file/{regulation.pk}")
    assert download.status_code == 200 and download.data == ORIGINAL


def test_a_file_sealed_under_another_key_is_refused_cleanly_BRD_9_2_2(as_role, regulation, caplog):
    other = crypto.keyring({"FILE_KEY": Fernet.generate_key().decode()})[0]
    attach(regulation, data=other.encrypt(ORIGINAL), encrypted=True)

    download = as_role("Employee").get(f"/regulationview/file/{regulation.pk}")
    assert download.status_code == 500 and ORIGINAL not in download.data
    assert b"The error has been logged" in download.data and "cannot be decrypted" in caplog.text
    with pytest.raises(crypto.CannotOpen):
        crypto.open_sealed(crypto.seal(ORIGINAL)[:-1] + b"\x00")  # an altered byte is refused too


def test_a_server_database_without_a_file_key_refuses_to_start_BRD_9_2_2(monkeypatch, capsys):
    with pytest.raises(crypto.KeyProblem, match="PORTAL_FILE_KEY is not set"):
        crypto.keyring({"PORTAL_STORE": "mongodb", "FILE_KEY": ""})
    with pytest.raises(crypto.KeyProblem, match="not a valid key"):
        crypto.keyring({"PORTAL_STORE": "mongodb", "FILE_KEY": "secret"})
    ring, given = crypto.keyring({"PORTAL_STORE": "embedded", "FILE_KEY": ""})
    assert not given and ring.decrypt(ring.encrypt(b"x")) == b"x"  # the embedded store makes one per start

    from portal import cli, db
    from portal.config import Config

    monkeypatch.setattr(Config, "FILE_KEY", "")
    monkeypatch.setattr(db, "connect", lambda *args: "MongoDB at mongodb://db.example/portal")  # a server ...
    monkeypatch.setattr(db, "store_kind", lambda: "mongodb")  # ... that answers
    with pytest.raises(SystemExit) as stopped:
        cli.main.main(["check"], prog_name="portal")
    assert stopped.value.code == 1
    assert capsys.readouterr().err.startswith("error: PORTAL_FILE_KEY is not set")


def test_several_keys_open_files_sealed_under_any_of_them_BRD_9_2_2():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed_before = crypto.keyring({"FILE_KEY": old})[0].encrypt(ORIGINAL)
    ring, given = crypto.keyring({"FILE_KEY": f"{new}, {old}"})
    assert given and ring.decrypt(sealed_before) == ORIGINAL
    assert Fernet(new.encode()).decrypt(ring.encrypt(ORIGINAL)) == ORIGINAL  # the first key seals

