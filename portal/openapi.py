"""The OpenAPI 3.0 document of the JSON API (issue 9 item 5), generated from the resources of portal/api.py: per
resource its operations, the typed filters, request schemas from the views' forms, response schemas from the
stored fields, and every status code each operation answers with the JSON error schema."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import mongoengine as me
from flask import current_app
from wtforms import validators as wtv

from models.common import MoneyField
from portal.api import (
    DECIMAL_PATTERN,
    FILTER_VALUE_MAX,
    ID_PATTERN,
    INT_MAX,
    PAGE_MAX,
    PREFIX,
    Resource,
    choice_keys,
    filter_params,
    form_kind,
    new_form,
    output_columns,
    sub_fields,
)
from portal.compat import detached_entry

ERROR_SCHEMA = {"type": "object", "required": ["message"], "properties": {
    "message": {"type": "string"},
    "errors": {"type": "object", "description": "Messages by field; a line's cell is `<list>-<index>-<cell>`, "
               "the record as a whole `__all__`.", "additionalProperties": {"type": "array", "items": {
                   "type": "string"}}}}}
STATUS_TEXT = {
    400: "Bad request: malformed JSON or query, wrong types, unknown fields, or values the form refuses (errors "
         "by field).",
    401: "No valid bearer token (sign in at /api/v1/security/login).",
    403: "Your roles do not allow this, or you must first choose your own password in the portal.",
    404: "No such record in your scope (another unit's record is never revealed).",
    409: "Someone else changed the record since you read its version, or other records still refer to it.",
    413: "The body is larger than 1 MiB.",
    415: "The body is not sent as application/json.",
    422: "A rule of the record refuses this (its state, or your right to change it).",
}
_OPERATION_CODES = {"list": (400, 401, 403), "show": (400, 401, 403, 404), "add": (400, 401, 403, 413, 415),
                    "edit": (400, 401, 403, 404, 409, 413, 415), "delete": (400, 401, 403, 404, 409, 422)}


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[-_]", name))


def _nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


def output_schema(field: me.BaseField | None) -> dict:
    """The JSON schema of a stored field as `plain` writes it (every value may be missing: nullable)."""
    if field is None:
        return {}
    if isinstance(field, (me.ReferenceField, me.ObjectIdField, me.GenericReferenceField)):
        return _nullable({"type": "string", "pattern": ID_PATTERN})
    if isinstance(field, me.DecimalField):
        return _nullable({"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$",
                          "description": "A decimal number as text" + (" (CNY)" if isinstance(field, MoneyField)
                                                                       else "")})
    if isinstance(field, me.BooleanField):
        return _nullable({"type": "boolean"})
    if isinstance(field, me.IntField):
        return _nullable({"type": "integer"})
    if isinstance(field, me.FloatField):
        return _nullable({"type": "number"})
    if isinstance(field, me.DateField):
        return _nullable({"type": "string", "format": "date"})
    if isinstance(field, me.DateTimeField):
        return _nullable({"type": "string", "format": "date-time"})
    if isinstance(field, me.StringField):
        return _nullable({"type": "string"})
    if isinstance(field, me.ListField):
        return _nullable({"type": "array", "items": output_schema(field.field)})
    if isinstance(field, me.EmbeddedDocumentField):
        document = field.document_type
        return _nullable({"type": "object", "properties": {
            name: output_schema(sub) for name, sub in document._fields.items() if name != "_cls"}})
    if isinstance(field, me.DictField):
        return _nullable({"type": "object"})
    return {}


def record_schema(resource: Resource) -> dict:
    view, fields = resource.view, resource.document._fields
    properties = {"id": {"type": "string", "pattern": ID_PATTERN}}
    for column in output_columns(view):
        schema = output_schema(fields.get(column))
        label = view.label_columns.get(column)
        properties[column] = {**schema, **({"title": str(label)} if label and schema else {})}
    return {"type": "object", "required": ["id"], "properties": properties}


def _required(field) -> bool:
    return any(isinstance(v, (wtv.InputRequired, wtv.DataRequired)) for v in field.validators or ())


def input_schema(field) -> dict:
    """The JSON schema of what a form field accepts through `Conversion`."""
    kind = form_kind(field)
    schema: dict[str, Any]
    if kind == "string":
        schema = {"type": "string"}
        for v in field.validators or ():
            if isinstance(v, wtv.Length):
                if v.max is not None and v.max >= 0:
                    schema["maxLength"] = v.max
                if v.min is not None and v.min > 0:
                    schema["minLength"] = v.min
            if isinstance(v, wtv.Email):
                schema["format"] = "email"
        if _required(field):
            schema["minLength"] = max(schema.get("minLength", 0), 1)
    elif kind in ("choice", "choices"):
        keys = [value for value, _label in _select_choices(field) if value not in ("", None)]
        numeric = bool(keys) and all(isinstance(k, int) for k in keys)
        one = {"type": "integer" if numeric else "string", "enum": keys}
        schema = one if kind == "choice" else {"type": "array", "items": one}
    elif kind == "int":
        schema = {"type": "integer", **_range(field), "minimum": _range(field).get("minimum", -INT_MAX),
                  "maximum": _range(field).get("maximum", INT_MAX)}
    elif kind == "decimal":
        schema = {"anyOf": [{"type": "number", **_range(field)}, {"type": "string", "pattern": DECIMAL_PATTERN}]}
    elif kind == "bool":
        schema = {"type": "boolean"}
    elif kind == "date":
        schema = {"type": "string", "format": "date"}
    elif kind in ("datetime", "utc_datetime"):
        schema = {"type": "string", "format": "date-time"}
    elif kind == "text_list":
        schema = {"type": "array", "items": {"type": "string"}}
    elif kind == "amounts":
        schema = {"type": "array", "maxItems": len(field.item_labels), "items": {"anyOf": [
            {"type": "number", "minimum": 0}, {"type": "string", "pattern": DECIMAL_PATTERN}], "nullable": True}}
    elif kind == "ref":
        schema = {"type": "string", "pattern": ID_PATTERN}
    elif kind == "refs":
        schema = {"type": "array", "items": {"type": "string", "pattern": ID_PATTERN}}
    elif kind == "file":
        schema = {"type": "string", "pattern": ID_PATTERN,
                  "description": "The id of an attachment the record already holds here, to keep it."}
    elif kind == "object":
        schema = object_schema(sub_fields(field.form), with_required=True)
    elif kind == "lines":
        schema = {"type": "array", "maxItems": field.max_entries or 200,
                  "items": object_schema(sub_fields(detached_entry(field).form), with_required=True)}
    else:
        return {}
    label = getattr(getattr(field, "label", None), "text", None)
    if label:
        schema["title"] = str(label)
    if not _required(field) or kind in ("bool", "file"):
        schema["nullable"] = True
    return schema


def _select_choices(field) -> list:
    choices = field.choices() if callable(field.choices) else field.choices or []
    if isinstance(choices, dict):
        choices = [c for group in choices.values() for c in group]
    return [(c[0], c[1]) if isinstance(c, (list, tuple)) else (c, c) for c in choices]


def _range(field) -> dict:
    out = {}
    for v in field.validators or ():
        if isinstance(v, wtv.NumberRange):
            if v.min is not None:
                out["minimum"] = float(v.min) if isinstance(v.min, Decimal) else v.min
            if v.max is not None:
                out["maximum"] = float(v.max) if isinstance(v.max, Decimal) else v.max
    return out


def object_schema(fields: dict, with_required: bool, skip: tuple[str, ...] = ()) -> dict:
    properties = {name: input_schema(f) for name, f in fields.items() if name not in skip}
    properties = {name: s for name, s in properties.items() if s}
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    required = [n for n, f in fields.items() if n in properties and _required(f) and form_kind(f) not in (
        "bool", "file")]
    if with_required and required:
        schema["required"] = required
    return schema


def _error_responses(codes) -> dict:
    return {str(code): {"description": STATUS_TEXT[code], "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}} for code in codes}


def _filter_parameters(view) -> list[dict]:
    out = []
    for param, (column, op, kind, field) in filter_params(view).items():
        schema: dict[str, Any]
        if kind == "choice":
            schema = {"type": "string", "enum": [str(k) for k in choice_keys(getattr(field, "field", None) or field)]}
        elif kind == "id":
            schema = {"type": "string", "pattern": ID_PATTERN}
        elif kind == "bool":
            schema = {"type": "string", "enum": ["true", "false"]}
        elif kind == "int":
            schema = {"type": "string", "pattern": r"^-?[0-9]{1,18}$"}
        elif kind == "number":
            schema = {"type": "string", "pattern": DECIMAL_PATTERN}
        elif kind == "date":
            schema = {"type": "string", "format": "date"}
        elif kind == "datetime":
            schema = {"type": "string", "format": "date-time"}
        else:
            schema = {"type": "string", "maxLength": FILTER_VALUE_MAX}
        meaning = {"": "equal to", "contains": "contains (any case)", "gt": "greater than", "gte": "at least",
                   "lt": "less than", "lte": "at most"}[op]
        out.append({"name": param, "in": "query", "required": False, "schema": schema,
                    "description": f"{column} {meaning}"})
    return out


def openapi_document(found: dict[str, Resource]) -> dict:
    """OpenAPI 3.0 for every resource: its operations, their parameters, bodies and every status they answer."""
    paths: dict[str, Any] = {"/api/v1/security/login": _login_path()}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    cap = current_app.config.get("PAGE_SIZE_MAX", 100)
    id_param = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "pattern": ID_PATTERN}}
    for name in sorted(found):
        resource = found[name]
        view, camel = resource.view, _camel(name)
        title = str(getattr(view, "list_title", "") or name)
        schemas[camel] = record_schema(resource)
        ref = {"$ref": f"#/components/schemas/{camel}"}
        collection: dict[str, Any] = {}
        one: dict[str, Any] = {}
        if "list" in resource.operations:
            page_schema = {"type": "object", "required": ["count", "page", "page_size", "items"], "properties": {
                "count": {"type": "integer"}, "page": {"type": "integer"}, "page_size": {"type": "integer"},
                "items": {"type": "array", "items": ref}}}
            collection["get"] = {
                "operationId": f"list{camel}", "summary": f"List {title}", "tags": [name],
                "parameters": [
                    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": PAGE_MAX}},
                    {"name": "page_size", "in": "query", "description": f"Capped at {cap}.",
                     "schema": {"type": "integer", "minimum": 1, "maximum": 9999999}},
                    *([{"name": "sort", "in": "query", "schema": {"type": "string", "enum": list(view.order_columns)}},
                       {"name": "order", "in": "query", "schema": {"type": "string", "enum": ["asc", "desc"]}}]
                      if view.order_columns else []),
                    *_filter_parameters(view)],
                "responses": {"200": {"description": "One page of the records in your scope", "content": {
                    "application/json": {"schema": page_schema}}}, **_error_responses(_OPERATION_CODES["list"])}}
        if "add" in resource.operations:
            form = new_form(view.add_form)
            schemas[f"{camel}Input"] = object_schema(sub_fields(form), with_required=True)
            collection["post"] = {
                "operationId": f"create{camel}", "summary": f"Create ({title})", "tags": [name],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{camel}Input"}}}},
                "responses": {"201": {"description": "Created", "content": {"application/json": {"schema": ref}}},
                              **_error_responses(_OPERATION_CODES["add"])}}
        if "show" in resource.operations:
            one["get"] = {"operationId": f"get{camel}", "summary": f"Read one ({title})", "tags": [name],
                          "responses": {"200": {"description": "The record", "content": {
                              "application/json": {"schema": ref}}}, **_error_responses(_OPERATION_CODES["show"])}}
        if "edit" in resource.operations:
            fields = sub_fields(new_form(view.edit_form))
            full = object_schema(fields, with_required=True, skip=("version",))
            partial = object_schema(fields, with_required=False, skip=("version",))
            if resource.versioned:
                for schema in (full, partial):
                    schema["properties"]["version"] = {"type": "integer", "minimum": 0,
                                                       "description": "The version you read (GET)."}
                    schema["required"] = [*schema.get("required", []), "version"]
            schemas[f"{camel}Update"], schemas[f"{camel}Patch"] = full, partial
            for method, suffix, summary in (("put", "Update", "Replace"), ("patch", "Patch", "Change")):
                one[method] = {
                    "operationId": f"{method}{camel}", "summary": f"{summary} ({title})", "tags": [name],
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"$ref": f"#/components/schemas/{camel}{suffix}"}}}},
                    "responses": {"200": {"description": "Saved", "content": {"application/json": {"schema": ref}}},
                                  **_error_responses(_OPERATION_CODES["edit"])}}
        if "delete" in resource.operations:
            one["delete"] = {"operationId": f"delete{camel}", "summary": f"Delete ({title})", "tags": [name],
                             "responses": {"204": {"description": "Deleted"},
                                           **_error_responses(_OPERATION_CODES["delete"])}}
        if collection:
            paths[f"{PREFIX}/{name}/"] = collection
        if one:
            paths[f"{PREFIX}/{name}/{{id}}"] = {"parameters": [id_param], **one}
    return {"openapi": "3.0.3",
            "info": {"title": f"{current_app.config.get('APP_NAME')} API", "version": "1",
                     "description": "Every business collection of the portal, with the scope, validation and audit "
                                    "of its pages. Authenticate with a bearer token from /api/v1/security/login."},
            "servers": [{"url": "/"}], "paths": paths, "security": [{"bearerAuth": []}],
            "components": {"schemas": schemas, "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}}}


def _login_path() -> dict:
    credentials = {"type": "object", "required": ["username", "password", "provider"], "properties": {
        "username": {"type": "string"}, "password": {"type": "string"}, "provider": {"type": "string", "enum": ["db"]},
        "refresh": {"type": "boolean"}}}
    tokens = {"type": "object", "properties": {"access_token": {"type": "string"},
                                               "refresh_token": {"type": "string"}}}
    return {"post": {"operationId": "login", "summary": "Sign in: a bearer token (15 minutes)", "tags": ["security"],
                     "security": [], "requestBody": {"required": True, "content": {"application/json": {
                         "schema": credentials}}},
                     "responses": {"200": {"description": "Signed in", "content": {"application/json": {
                         "schema": tokens}}},
                         "400": {"description": "Malformed request", "content": {"application/json": {
                             "schema": {"type": "object"}}}},
                         "401": {"description": "Wrong name or password, or the account is locked",
                                 "content": {"application/json": {"schema": {"type": "object"}}}},
                         "429": {"description": "Too many attempts from this address",
                                 "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}}
