"""Import jobs: an upload kept sealed, its dry run, its commit (claimed so that a job is written once and one
import per kind runs at a time), in the request or, for a large file, in a thread that runs as the uploader (their
permissions, scope and language) while the job's page shows the progress; at most BACKGROUND_AT_ONCE such threads
work at a time, the others wait. `portal remind` drops the files nobody imported and fails the jobs whose worker
stopped (`expire`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Callable

from flask import current_app, g
from flask_babel import force_locale, get_locale, gettext
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from models.common import utcnow
from models.imports import MAX_ERRORS, ImportJob, ImportLock, ImportProblem
from portal import audit, crypto, reminders, uploads
from portal.import_cells import Problem, cell_text
from portal.import_files import FileProblem, file_format, read_rows
from portal.importer import Plan, WriteFailed, check, view_for, write
from portal.imports import SPECS, ImportSpec

log = logging.getLogger(__name__)

MAX_STORED = 15 * 1024 * 1024  # a sealed file must fit one MongoDB document (16 MB)
LOCK_MINUTES = 60  # a kind's lock outlives a worker that died by this long (refreshed while writing)
KEEP_HOURS = 24  # a checked file nobody imported is dropped after this long (the job fails: upload it again)
STUCK_MINUTES = 60  # a dry run, or a commit whose kind's lock ran out, older than this has stopped
BACKGROUND_AT_ONCE = 2  # large imports checked or written at the same time; the others wait for a turn


class Refused(Exception):
    """Why an import cannot start or go on, in words fit to show the user."""


# ---- jobs: upload, check, commit, in the request or in the background ----------------------------------------
def background_rows() -> int:
    return int(current_app.config.get("IMPORT_BACKGROUND_ROWS", 500))


def upload(spec: ImportSpec, storage) -> tuple[ImportJob, list[list]]:
    """Keep an uploaded file (sealed) as a new job and return it with its rows; raises FileProblem."""
    name = uploads.safe_filename(getattr(storage, "filename", "") or "")
    limit = min(current_app.config["MAX_CONTENT_LENGTH"], MAX_STORED)
    data = storage.read(limit + 1) if storage is not None else b""
    if len(data) > limit:
        raise FileProblem(gettext("The file is too large."))
    fmt = file_format(data, name)
    rows = read_rows(data, fmt)
    total = sum(1 for cells in rows[1:] if any(cell_text(c) for c in cells))
    user = g.user
    job = ImportJob(kind=spec.kind, file_name=name, file_format=fmt, size=len(data),
                    sha256=hashlib.sha256(data).hexdigest(), data=crypto.seal(data), total=total,
                    user=user.username, user_id=user.pk, locale=str(get_locale() or "en"),
                    background=total > background_rows())
    job.save()
    return job, rows


def job_rows(job: ImportJob) -> list[list]:
    """The rows of the job's file, read again from its sealed copy."""
    data = job.data or ImportJob.objects(pk=job.pk).scalar("data").first()
    if not data:
        raise FileProblem(gettext("The uploaded file is no longer kept: upload it again."))
    return read_rows(crypto.open_sealed(data), job.file_format)


def _progress(job: ImportJob, lock: bool = False) -> Callable[[int], None]:
    """Write the rows done to the job about fifty times in all (a background job's page shows them)."""
    step = max(1, job.total // 50)
    collection = ImportJob._get_collection()

    def report(done: int) -> None:
        if done % step == 0 or done == job.total:
            collection.update_one({"_id": job.pk}, {"$set": {"done": done}})
            if lock:
                ImportLock._get_collection().update_one({"_id": job.kind, "job": job.pk}, {"$set": {
                    "until": utcnow() + dt.timedelta(minutes=LOCK_MINUTES)}})

    return report


def _problems(plan_problems: list[Problem]) -> list[ImportProblem]:
    return [ImportProblem(row=p.row, column=str(p.column)[:120], message=str(p.message)[:600])
            for p in plan_problems[:MAX_ERRORS]]


def run_check(job: ImportJob, rows: list[list] | None = None) -> None:
    """The dry run: every row parsed and validated, every bad cell reported; nothing written."""
    spec = SPECS[job.kind]
    progress = _progress(job) if job.background else None
    try:
        plan = check(spec, rows if rows is not None else job_rows(job), progress)
    except FileProblem as exc:
        plan = Plan(total=job.total, problems=[Problem(exc.row, "", exc.message)])
    updates = {"status": "checked", "total": plan.total, "done": plan.total, "problems": _problems(plan.problems),
               "problem_count": len(plan.problems), "created": plan.creates,
               "updated": len(plan.writes) - plan.creates, "unchanged": plan.unchanged, "checked_at": utcnow()}
    drop = {"unset__data": True} if plan.problems else {}  # it cannot be imported: its personal data goes
    ImportJob.objects(pk=job.pk).update_one(**{f"set__{k}": v for k, v in updates.items()}, **drop)


def claim(job: ImportJob) -> None:
    """Start the commit of a checked job: the job moves to "committing" and its kind is locked, each by one
    conditional update, so a second click or a concurrent import of the kind is refused."""
    jobs = ImportJob._get_collection()
    if jobs.find_one_and_update({"_id": job.pk, "status": "checked", "problem_count": 0},
                                {"$set": {"status": "committing", "done": 0, "started_at": utcnow()}}) is None:
        raise Refused(gettext("This import is not ready to be written, or was written already."))
    now = utcnow()
    try:
        ImportLock._get_collection().find_one_and_update(
            {"_id": job.kind, "$or": [{"job": None}, {"until": {"$lt": now}}]},
            {"$set": {"job": job.pk, "until": now + dt.timedelta(minutes=LOCK_MINUTES)}}, upsert=True,
            return_document=ReturnDocument.AFTER)
    except DuplicateKeyError:
        jobs.update_one({"_id": job.pk}, {"$set": {"status": "checked"}})
        raise Refused(gettext("Another import of this kind is being written: try again when it is done.")) from None


def release(job: ImportJob) -> None:
    ImportLock._get_collection().update_one({"_id": job.kind, "job": job.pk}, {"$set": {"job": None}})


def run_commit(job: ImportJob) -> None:
    """Check everything again, then write all rows or none; the job says what happened. Claim it first."""
    spec = SPECS[job.kind]
    collection = ImportJob._get_collection()
    try:
        plan = check(spec, job_rows(job))
        if plan.problems:  # the data changed since the dry run: report, write nothing (and keep nothing)
            collection.update_one({"_id": job.pk}, {"$set": {
                "status": "checked", "problems": [p.to_mongo() for p in _problems(plan.problems)],
                "problem_count": len(plan.problems), "done": 0}, "$unset": {"data": ""}})
            return
        created, updated = write(plan, view_for(spec), _progress(job, lock=True))
    except WriteFailed as exc:
        _finish(job, "failed", problems=[Problem(exc.row, "", exc.message)],
                note=gettext("Nothing was imported: row %(row)s could not be written, and what was written before "
                             "it was undone.", row=exc.row))
        return
    except FileProblem as exc:
        _finish(job, "failed", problems=[Problem(exc.row, "", exc.message)], note=exc.message)
        return
    except Exception:  # before any write (write() undoes its own and raises WriteFailed): nothing is half-written
        log.exception("Import job %s failed before writing", job.pk)
        message = gettext("The import stopped on an unexpected error; nothing was imported.")
        _finish(job, "failed", problems=[Problem(0, "", message)], note=message)
        return
    finally:
        release(job)
    _finish(job, "done", created=created, updated=updated, unchanged=plan.unchanged)


def _finish(job: ImportJob, status: str, problems=(), note: str = "", **counts) -> None:
    """Close the job (its file is dropped: the import is over) and leave one audit entry summing it up."""
    sets = {"status": status, "finished_at": utcnow(), "note": note[:1000], "done": job.total if status == "done"
            else 0, "problems": [p.to_mongo() for p in _problems(list(problems))],
            "problem_count": len(problems), **counts}
    ImportJob._get_collection().update_one({"_id": job.pk}, {"$set": sets, "$unset": {"data": ""}})
    summary = (f"{job.kind} from {job.file_name}: " + (
        f"{counts.get('created', 0)} created, {counts.get('updated', 0)} updated, {counts.get('unchanged', 0)} "
        "unchanged" if status == "done" else f"failed and undone ({note})"))
    audit.record("import", job, note=summary)


# ---- the background: large files are checked and written by a thread, the page shows the progress -----------
_THREADS: dict[str, threading.Thread] = {}


def start(job: ImportJob, action: str, rows: list[list] | None = None) -> None:
    """Run "check" or "commit" now, or in a thread when the job is a large one."""
    if not job.background:
        run_check(job, rows) if action == "check" else run_commit(job)
        return
    if action == "check":
        ImportJob.objects(pk=job.pk).update_one(set__status="checking", set__done=0)
    app = current_app._get_current_object()
    thread = threading.Thread(target=_work, args=(app, job.pk, action), name=f"import-{job.pk}", daemon=True)
    _THREADS[str(job.pk)] = thread
    thread.start()


def join(job_id, timeout: float | None = None) -> None:
    """Wait for a job's thread (tests, and a graceful stop)."""
    thread = _THREADS.pop(str(job_id), None)
    if thread is not None:
        thread.join(timeout)


_SLOTS = threading.BoundedSemaphore(BACKGROUND_AT_ONCE)


def _work(app, job_id, action: str) -> None:
    """A worker runs as the uploader: their permissions, scope and language, in a request of its own; it waits
    for one of the BACKGROUND_AT_ONCE turns (the job's page shows it checking or importing meanwhile)."""
    with _SLOTS:
        _run(app, job_id, action)


def _run(app, job_id, action: str) -> None:
    from models.users import PortalUser

    with app.test_request_context("/import/"):
        job = ImportJob.objects(pk=job_id).first()
        try:
            user = PortalUser.objects(pk=job.user_id).first() if job else None
            if user is None or not user.is_active:
                raise RuntimeError("the uploader's login is gone or inactive")
            g.user = g._login_user = user
            with force_locale(job.locale or "en"):
                run_check(job) if action == "check" else run_commit(job)
        except Exception:
            log.exception("Import job %s (%s) failed", job_id, action)
            if job is not None:
                if action == "commit":
                    release(job)
                ImportJob._get_collection().update_one({"_id": job_id}, {"$set": {
                    "status": "failed", "finished_at": utcnow(), "note": "The import stopped on an unexpected error; "
                                                                          "nothing was kept."}, "$unset": {"data": ""}})


# ---- housekeeping, from `portal remind` -------------------------------------------------------------------------
def expire(now: dt.datetime | None = None) -> list[reminders.Sent]:
    """Drop the sealed file of a checked job nobody imported within KEEP_HOURS, and fail the jobs whose worker
    stopped: an upload or a dry run started more than STUCK_MINUTES ago, a commit claimed that long ago whose
    kind's lock has run out (a live writer keeps extending it). Each conditional on the state it was read in."""
    now = now or utcnow()
    stuck = now - dt.timedelta(minutes=STUCK_MINUTES)
    live = {raw["job"] for raw in ImportLock._get_collection().find({"job": {"$ne": None}, "until": {"$gte": now}},
                                                                      {"job": 1})}
    rows = ImportJob._get_collection().find({"$or": [
        {"status": "checked", "data": {"$exists": True}, "checked_at": {"$lt": now - dt.timedelta(hours=KEEP_HOURS)}},
        {"status": {"$in": ["uploaded", "checking"]}, "created_at": {"$lt": stuck}},
        {"status": "committing", "started_at": {"$lt": stuck}}]},
        {"status": 1, "kind": 1, "file_name": 1, "locale": 1, "user": 1, "total": 1}).limit(1000)
    out = []
    for raw in rows:
        if raw["status"] == "committing" and raw["_id"] in live:
            continue
        job = ImportJob._from_son(raw)
        with force_locale(raw.get("locale") or "en"):
            note = _expired_note(raw["status"])
        failed = ImportJob._get_collection().update_one(
            {"_id": raw["_id"], "status": raw["status"]},
            {"$set": {"status": "failed", "finished_at": now, "note": note, "done": 0}, "$unset": {"data": ""}})
        if not failed.modified_count:
            continue  # it moved on meanwhile
        if raw["status"] == "committing":
            release(job)
            audit.record("import", job, note=f"{job.kind} from {job.file_name}: stopped while writing ({note})")
        out.append(reminders.Sent("import_expired", str(job), 0, raw["status"]))
    return out


def _expired_note(status: str) -> str:
    if status == "checked":
        return gettext("Not imported: the checked file was kept %(hours)s hours without being imported, and has "
                       "been deleted. Upload it again.", hours=KEEP_HOURS)
    if status == "committing":
        return gettext("The import stopped while writing and did not finish: the rows written before it stopped "
                       "are kept. Upload the same file again to complete it (rows already in come out unchanged).")
    return gettext("The check stopped and did not finish; nothing was imported. Upload the file again.")


reminders.SOURCES.append(expire)
