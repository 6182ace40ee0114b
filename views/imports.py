"""Bulk import pages (issue 9 item 4): choose what to import, download its template, upload a CSV or XLSX file,
read the dry run (every bad cell by row and column), then write it all or nothing. Large files are checked and
written in the background while the job's page shows the progress."""

from __future__ import annotations

from bson import ObjectId
from bson.errors import InvalidId
from flask import abort, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext

from models.common import choice_label
from models.imports import IMPORT_STATUSES, RUNNING, ImportJob
from portal import import_jobs, importer, sheets
from portal.import_cells import describe, template_bytes
from portal.import_files import FORMATS, FileProblem
from portal.imports import SPECS, label_of

JOBS_SHOWN = 20


class ImportView(BaseView):
    """Import: one page per importable collection (its columns, templates and upload), one page per job."""

    route_base = "/import"
    class_permission_name = "Import"
    default_view = "index"
    method_permission_name = {name: "import" for name in
                              ("index", "kind", "template", "upload", "job", "commit", "progress")}

    @expose("/")
    @has_access
    def index(self):
        kinds = [spec for spec in SPECS.values() if importer.may_import(spec)]
        jobs = (ImportJob.objects(user=g.user.username).exclude("data", "problems").order_by("-created_at")
                .limit(JOBS_SHOWN))
        return self.render_template("portal/imports/index.html", title=gettext("Import"), kinds=kinds,
                                    jobs=list(jobs), specs=SPECS, status_label=self.status_label)

    @expose("/<kind>/")
    @has_access
    def kind(self, kind):
        return self._kind_page(self._spec(kind))

    @expose("/<kind>/template/<fmt>")
    @has_access
    def template(self, kind, fmt):
        spec = self._spec(kind)
        if fmt not in FORMATS:
            abort(404)
        return sheets.download(template_bytes(spec, fmt), sheets.file_name(f"import-{spec.kind}", fmt))

    @expose("/<kind>/upload", methods=["POST"])
    @has_access
    def upload(self, kind):
        spec = self._spec(kind)
        storage = request.files.get("file")
        if storage is None or not storage.filename:
            return self._kind_page(spec, error=gettext("Choose the file to import.")), 422
        try:
            job, rows = import_jobs.upload(spec, storage)
        except FileProblem as exc:
            return self._kind_page(spec, error=exc.message), 422
        import_jobs.start(job, "check", rows)
        return redirect(url_for("ImportView.job", pk=str(job.pk)))

    @expose("/jobs/<pk>")
    @has_access
    def job(self, pk):
        job = self._job(pk)
        spec = SPECS[job.kind]
        return self.render_template("portal/imports/job.html", title=gettext("Import"), job=job, spec=spec,
                                    running=job.status in RUNNING, status=self.status_label(job.status),
                                    list_url=url_for(f"{spec.view}.list"))

    @expose("/jobs/<pk>/commit", methods=["POST"])
    @has_access
    def commit(self, pk):
        job = self._job(pk)
        try:
            import_jobs.claim(job)
        except import_jobs.Refused as exc:
            flash(str(exc), "danger")
            return redirect(url_for("ImportView.job", pk=pk))
        job.status = "committing"
        import_jobs.start(job, "commit")
        return redirect(url_for("ImportView.job", pk=pk))

    @expose("/jobs/<pk>/progress")
    @has_access
    def progress(self, pk):
        """The job's state for the page's progress bar (portal/static/portal/imports.js)."""
        job = self._job(pk)
        response = jsonify(status=job.status, label=self.status_label(job.status), done=job.done, total=job.total,
                           running=job.status in RUNNING)
        response.headers["Cache-Control"] = "no-store"
        return response

    # ---- helpers ---------------------------------------------------------------------------------------------
    @staticmethod
    def status_label(status: str) -> str:
        return choice_label(IMPORT_STATUSES, status)

    @staticmethod
    def _spec(kind: str):
        """The kind asked for, if the user may import it (else 404: they may not even know it exists)."""
        spec = SPECS.get(kind)
        if spec is None or not importer.may_import(spec):
            abort(404)
        return spec

    def _job(self, pk: str) -> ImportJob:
        """One of the user's own jobs (an upload holds personal data: nobody else opens it) of a kind they still
        may import."""
        try:
            job_id = ObjectId(pk)
        except (InvalidId, TypeError):
            abort(404)
        job = ImportJob.objects(pk=job_id, user=g.user.username).exclude("data").first()
        if job is None or job.kind not in SPECS:
            abort(404)
        self._spec(job.kind)
        return job

    def _kind_page(self, spec, error: str | None = None):
        columns = [{"label": str(label_of(spec, c)), "name": c.name or c.field, "required": c.required,
                    "what": describe(spec, c)} for c in spec.columns]
        return self.render_template("portal/imports/kind.html", title=gettext("Import"), spec=spec, columns=columns,
                                    error=error, formats=FORMATS, list_url=url_for(f"{spec.view}.list"))
