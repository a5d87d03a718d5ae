"""FAB's OpenAPI document (/api/v1/_openapi), made to tell the truth (issue 21): an API fuzzer checks every
answer against it, and a client generated from it must be able to read what the platform sends.

FAB documents what its generic endpoints and the hand-written actions' docstrings declare. What it gets
wrong, corrected once here for every API rather than endpoint by endpoint:

- the refusals every operation can give: 400 (a query or body it cannot read), 401, 403 (the role may not),
  422 (a field refused, with a message per field), and 404 and 405 where the path names a record (`<pk>`
  routes of other methods answer 405 to a key that is not a number);
- an error body's `message` is text, or an object of messages per field;
- a record's properties that may be empty are `nullable` (FAB declares none);
- a list's `ids` and a record's `id` are integers (FAB declares text);
- `_info`'s add and edit columns are lists of field descriptions (FAB declares an object).

The hand-written actions (`@expose` with a YAML docstring) share their pieces instead of repeating them: a
docstring names components, which apispec turns into `$ref`s — a request body by its marshmallow schema
(`schema: InvoiceBody`, registered through the API's `openapi_spec_component_schemas`), a response by its
name (`200: ChargeAnswer`, from the API's `openapi_spec_responses`; `403: LabSideOnly` below) and the record's
key as `parameters: [pk]` (`DocumentedActions` registers both).
"""
import contextlib
import copy

from apispec.exceptions import DuplicateComponentNameError
from flask import current_app
from flask_appbuilder.api import BaseApi, expose, protect, safe
from flask_appbuilder.api.manager import OpenApi
from marshmallow import EXCLUDE, Schema

ERROR = {"type": "object", "properties": {"message": {"description": "A Chinese message, or one per field"},
                                          "reason": {"type": "string", "description": "The refusal's code"}}}
ERROR_ANSWERS = {
    "400": "The query argument or the request body cannot be read",
    "401": "Not signed in, or the sign-in token is not valid",
    "403": "The caller's role may not do this",
    "404": "No such record within the caller's scope",
    "405": "Not a method of this address (a key that is not a number meets another method's route)",
    "422": "A field is refused, with a message per field",
    "409": "The record's state does not allow this (with the refusal's code in `reason`)",
    # a refusal the lab side's actions name in their docstrings (`403: LabSideOnly`)
    "LabSideOnly": "Not the instrument's lab, college or school (or the caller's role may not do this)",
}
ON_EVERY_OPERATION = ("400", "401", "403", "422")
ON_A_RECORD = ("404", "405")


class RequestBody(Schema):
    """A hand-written action's JSON body, as a component schema. The actions read their fields themselves
    (app/views/api_fields.py) and ignore any other: `unknown = EXCLUDE`, for which apispec writes no
    additionalProperties."""

    class Meta:
        unknown = EXCLUDE


def json_answer(description, **properties):
    """A response component: a JSON object in which each of these properties is always present."""
    return {"description": description, "content": {"application/json": {"schema": {
        "type": "object", "required": sorted(properties), "properties": properties}}}}


def component(name):
    """A reference to a component schema (e.g. FAB's `BookingApi.get`, a record as the API shows it)."""
    return {"$ref": f"#/components/schemas/{name}"}


class DocumentedActions:
    """An API's add_apispec_components (mixed in before FAB's class): beside FAB's components, the record's key
    `pk` (a path parameter) and the API's `openapi_spec_responses` ({name: response}), for its actions'
    docstrings to reference by name."""

    openapi_spec_responses: dict = {}

    def add_apispec_components(self, api_spec):
        super().add_apispec_components(api_spec)
        # as FAB does with its own components: the first API of the document to register one wins
        with contextlib.suppress(DuplicateComponentNameError):
            api_spec.components.parameter("pk", "path", {"description": "The record's id", "schema": {"type": "integer"}})
        for name, response in self.openapi_spec_responses.items():
            with contextlib.suppress(DuplicateComponentNameError):
                api_spec.components.response(name, response)


def _error_response(description):
    return {"description": description, "content": {"application/json": {"schema": copy.deepcopy(ERROR)}}}


def _nullable_properties(schema):
    """Every property a record may leave empty is nullable: all but the required ones (and references, which
    OpenAPI 3.0 allows no siblings)."""
    required = set(schema.get("required", []))
    properties = schema.get("properties") or {}
    for name, prop in list(properties.items()):
        if name in required:
            continue
        if "$ref" in prop:  # OpenAPI 3.0 allows no sibling beside a reference: wrapped
            properties[name] = prop = {"allOf": [prop], "nullable": True}
        else:
            prop["nullable"] = True
        if prop.get("type") == "object":
            _nullable_properties(prop)
        if prop.get("type") == "array" and isinstance(prop.get("items"), dict) and prop["items"].get("type") == "object":
            _nullable_properties(prop["items"])


def _fix_answer_schema(path, schema):
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not properties:
        return
    if "ids" in properties:
        properties["ids"] = {"type": "array", "items": {"type": "integer"}, "description": "The records' ids"}
    if isinstance(properties.get("id"), dict) and properties["id"].get("type") == "string":
        properties["id"] = {"type": "integer", "description": "The record's id"}
    if path.endswith("/_info"):
        field = {"type": "object", "description": "A field: name, label, description, type, required, related values"}
        for key in ("add_columns", "edit_columns"):
            if key in properties:
                properties[key] = {"type": "array", "items": field}


def truthful(spec: dict, conflicting=()) -> dict:
    """The document FAB generated, with its answers corrected as the module's docstring says. `conflicting`:
    the address prefixes of APIs whose hand-written actions refuse a record's state with 409."""
    components = spec.setdefault("components", {})
    for code, description in ERROR_ANSWERS.items():
        components.setdefault("responses", {})[code] = _error_response(description)
    for schema in components.get("schemas", {}).values():
        _nullable_properties(schema)
    for path, operations in spec.get("paths", {}).items():
        on_a_record = "{" in path
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "delete", "patch"):
                continue
            responses = operation.setdefault("responses", {})
            codes = ON_EVERY_OPERATION + (ON_A_RECORD if on_a_record else ())
            if method == "post" and any(path.startswith(prefix) for prefix in conflicting):
                codes += ("409",)
            for code in codes:
                responses.setdefault(code, {"$ref": f"#/components/responses/{code}"})
            for code, answer in list(responses.items()):
                if str(code).startswith("4") and "$ref" not in answer:
                    answer["content"] = {"application/json": {"schema": copy.deepcopy(ERROR)}}
            ok = responses.get("200") or responses.get("201") or {}
            schema = ok.get("content", {}).get("application/json", {}).get("schema")
            if isinstance(schema, dict):
                _fix_answer_schema(path, schema)
                _nullable_properties(schema)
    return spec


class PlatformOpenApi(OpenApi):
    """FAB's OpenAPI view (same address and permission), answering the corrected document."""

    class_permission_name = "OpenApi"

    @expose("/<version>/_openapi")
    @protect()
    @safe
    def get(self, version):
        """Endpoint that renders an OpenApi spec for all views that belong to a certain version
        ---
        get:
          description: >-
            Get the OpenAPI spec for a specific API version
          parameters:
          - in: path
            schema:
              type: string
            name: version
          responses:
            200:
              description: The OpenAPI spec
              content:
                application/json:
                  schema:
                    type: object
            404:
              $ref: '#/components/responses/404'
        """
        api_spec, conflicting = self._create_api_spec(version), []
        for base_api in current_app.appbuilder.baseviews:
            if isinstance(base_api, BaseApi) and base_api.version == version:
                base_api.add_api_spec(api_spec)
                if getattr(base_api, "conflict_codes", None):
                    conflicting.append(f"/api/{version}/{base_api.resource_name}/")
        if not api_spec.to_dict().get("paths"):
            return self.response_404()
        return self.response(200, **truthful(api_spec.to_dict(), conflicting))
