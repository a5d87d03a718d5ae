"""The REST side of 清查建账 (issue 23; SPEC §5), scoped like the screens:

- `/api/v1/reconciliation/?kind=candidates|missing|mismatches` — the asset ledger against the platform
  (app/services/upkeep/reconciliation.py); `POST …/accept` takes a ledger value into a record, `POST …/draft`
  drafts a record in a laboratory from a ledger entry;
- `/api/v1/compliance/deadlines/` — every dated duty on the records in scope (kind, record, due, overdue).
"""
from flask import current_app, g, request
from flask_appbuilder.api import BaseApi, expose, protect, safe
from flask_babel import gettext

from app import clock
from app.extensions import db
from app.models import Instrument
from app.security.scope import unit_ids_for_rules
from app.services.actors import Actor
from app.services.errors import PolicyDenied, RuleViolation
from app.services.upkeep import deadlines, reconciliation
from app.services.upkeep.self_checks import Terms
from app.services.workdays import load_calendar

from . import api_messages
from .api_fields import BadInput, body, integer_text

MAX_PAGE = 1000
NULLABLE_TEXT = {"type": "string", "nullable": True}
NULLABLE_NUMBER = {"type": "number", "nullable": True}
NULLABLE_DATE = {"type": "string", "format": "date", "nullable": True}


def record_in_scope(instrument_id):
    """The instrument of that id when the caller's scope holds it, else None (answered 404 like a missing one)."""
    record = db.session.get(Instrument, instrument_id)
    ids = unit_ids_for_rules()
    return None if record is None or (ids is not None and record.unit_id not in ids) else record


def _whole_number(data, name):
    value = data.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or integer_text(value) is None:
        raise BadInput({name: gettext("Give the record's id (a whole number).")})
    return value


def _page(items):
    page = integer_text(request.args.get("page", "0"), 0, 100000)
    size = integer_text(request.args.get("page_size", "100"), 1, MAX_PAGE)
    if page is None or size is None:
        raise BadInput({"page": gettext("Give a page (from 0) and a page size of 1 to %(max)s.", max=MAX_PAGE)})
    return items[page * size:(page + 1) * size]


def _money(value):
    return None if value is None else float(value)


def _day(value):
    return None if value is None else value.isoformat()


def _plain(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return _money(value) if value is not None and not isinstance(value, (str, int)) else value


def candidate_row(entry):
    return {"entry_id": entry.get("id"), "asset_number": entry["asset_number"], "name": entry.get("name"),
            "model": entry.get("model"), "value": _money(entry.get("value")), "funding": entry.get("funding"),
            "purchase_date": _day(entry.get("purchase_date")), "unit_name": entry.get("unit_name"),
            "unit_id": entry.get("unit_id"), "location": entry.get("location"), "likely": entry["likely"]}


def missing_row(record):
    return {"instrument_id": record["id"], "asset_number": record["asset_number"], "name": record["name"],
            "model": record["model"], "original_value": _money(record["original_value"]), "unit_id": record["unit_id"]}


def mismatch_row(mismatch):
    return {"instrument_id": mismatch.instrument_id, "asset_number": mismatch.asset_number, "field": mismatch.field,
            "platform": _plain(mismatch.platform_value), "ledger": _plain(mismatch.ledger_value),
            "acceptable": mismatch.acceptable}


ROWS = {"candidates": ("candidates", candidate_row), "encouraged": ("encouraged", candidate_row),
        "missing": ("missing", missing_row), "mismatches": ("mismatches", mismatch_row)}


class _Actions(BaseApi):
    allow_browser_login = True

    def _refusal(self, error):
        db.session.rollback()
        if isinstance(error, (BadInput, RuleViolation)):
            return self.response(422, message=api_messages.translate(error.errors))
        if error.code == "out_of_scope":
            return self.response_404()
        return self.response(403, message=api_messages.translate(error.message), reason=error.code)


class ReconciliationApi(_Actions):
    resource_name = "reconciliation"
    openapi_spec_tag = "Reconciliation"

    @expose("/", methods=["GET"])
    @protect()
    @safe
    def listing(self):
        """The asset ledger against the platform, in the caller's scope.
        ---
        get:
          summary: Candidates to network (应入尽入), encouraged ones, records missing from the ledger, or mismatches
          parameters:
          - {in: query, name: kind, required: true, schema: {type: string, enum: [candidates, encouraged, missing, mismatches]}}
          - {in: query, name: page, schema: {type: integer, default: 0, minimum: 0}}
          - {in: query, name: page_size, schema: {type: integer, default: 100, minimum: 1, maximum: 1000}}
          responses:
            200:
              description: "the rows of that kind (a candidate's `likely`: records of the same unit, name and model)"
              content:
                application/json:
                  schema:
                    type: object
                    required: [kind, count, ledger_imported, result]
                    properties:
                      kind: {type: string}
                      count: {type: integer}
                      ledger_imported: {type: boolean}
                      result: {type: array, items: {type: object}}
            422: {description: "an unknown kind or page, in Chinese"}
        """
        kind = request.args.get("kind", "")
        try:
            if kind not in ROWS:
                raise BadInput({"kind": gettext("Choose candidates, encouraged, missing or mismatches.")})
            found = reconciliation.reconcile(db.session, unit_ids_for_rules())
            attribute, shown = ROWS[kind]
            rows = getattr(found, attribute)
            page = _page(rows)
        except BadInput as error:
            return self._refusal(error)
        return self.response(200, kind=kind, count=len(rows), ledger_imported=found.ledger_imported,
                             result=[shown(row) for row in page])

    @expose("/accept", methods=["POST"])
    @protect()
    @safe
    def accept(self):
        """Take the ledger's value into a record.
        ---
        post:
          summary: The record's lab side accepts the ledger's value of a mismatch (value, model, unit, location, purchase_date)
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [instrument_id, field]
                  properties:
                    instrument_id: {type: integer}
                    field: {type: string, enum: [value, model, unit, location, purchase_date]}
          responses:
            200: {description: "the record's id and the field taken"}
            404: {description: "no such record in the caller's scope"}
            422: {description: "nothing to accept, or a unit that is not a laboratory, in Chinese"}
        """
        try:
            data = body()
            instrument_id = _whole_number(data, "instrument_id")
            field = data.get("field")
            if field not in reconciliation.COMPARED:
                raise BadInput({"field": gettext("Choose value, model, unit, location or purchase_date.")})
            if record_in_scope(instrument_id) is None:
                return self.response_404()
            reconciliation.accept(db.session, Actor.of(g.user), instrument_id, field)
            db.session.commit()
        except (BadInput, RuleViolation, PolicyDenied) as error:
            return self._refusal(error)
        return self.response(200, instrument_id=instrument_id, field=field)

    @expose("/draft", methods=["POST"])
    @protect()
    @safe
    def draft(self):
        """Draft a record from a ledger entry.
        ---
        post:
          summary: A record drafted in a laboratory of the caller's scope from a ledger entry the platform lacks
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [entry_id, unit_id]
                  properties:
                    entry_id: {type: integer}
                    unit_id: {type: integer}
          responses:
            201: {description: "the new record's id"}
            404: {description: "no such ledger entry in the caller's scope"}
            422: {description: "already on the platform, or not a laboratory of the caller's scope, in Chinese"}
        """
        try:
            data = body()
            entry_id, unit_id = _whole_number(data, "entry_id"), _whole_number(data, "unit_id")
            record = reconciliation.draft_record(db.session, Actor.of(g.user), entry_id, unit_id, clock.now())
            record_id = record.id
            db.session.commit()
        except (BadInput, RuleViolation, PolicyDenied) as error:
            return self._refusal(error)
        return self.response(201, id=record_id)


def due_row(due, today):
    return {"kind": due.kind, "record": due.record_id, "record_type": due.record_type, "label": due.label,
            "unit_id": due.unit_id, "due": _day(due.due), "overdue": due.overdue(today), "due_today": due.due_today(today),
            "official": due.official, "period": due.period}


class ComplianceApi(_Actions):
    resource_name = "compliance"
    openapi_spec_tag = "Compliance"

    @expose("/deadlines/", methods=["GET"])
    @protect()
    @safe
    def deadlines(self):
        """The dated duties on the records in the caller's scope.
        ---
        get:
          summary: Every duty with its due date (Chinese working days), the earliest first
          parameters:
          - {in: query, name: kind, schema: {type: string, enum: [networking, change, contact, self_check, review]}}
          - {in: query, name: overdue, schema: {type: boolean}}
          - {in: query, name: page, schema: {type: integer, default: 0, minimum: 0}}
          - {in: query, name: page_size, schema: {type: integer, default: 100, minimum: 1, maximum: 1000}}
          responses:
            200:
              description: "kind, record (its id), record_type, label, unit_id, due (null: no start date, late), overdue"
              content:
                application/json:
                  schema:
                    type: object
                    required: [count, result]
                    properties:
                      count: {type: integer}
                      result:
                        type: array
                        items:
                          type: object
                          required: [kind, record, due, overdue]
                          properties:
                            kind: {type: string}
                            record: {type: integer}
                            record_type: {type: string}
                            label: {type: string}
                            unit_id: {type: integer}
                            due: {type: string, format: date, nullable: true}
                            overdue: {type: boolean}
                            due_today: {type: boolean}
                            official: {type: boolean}
                            period: {type: string, nullable: true, description: "a self-check's month or a review's quarter"}
            422: {description: "an unknown kind or page, in Chinese"}
        """
        today = clock.today()
        kind, overdue = request.args.get("kind"), request.args.get("overdue")
        try:
            if kind is not None and kind not in deadlines.KINDS:
                raise BadInput({"kind": gettext("Choose a kind of duty: %(kinds)s.", kinds=", ".join(deadlines.KINDS))})
            if overdue is not None and overdue not in ("true", "false"):
                raise BadInput({"overdue": gettext("Write true or false.")})
            found = [d for d in deadlines.all_due(db.session, unit_ids_for_rules(), load_calendar(db.session),
                                                 Terms.of(current_app.config), today)
                     if (kind is None or d.kind == kind) and (overdue is None or d.overdue(today) == (overdue == "true"))]
            page = _page(found)
        except BadInput as error:
            return self._refusal(error)
        return self.response(200, count=len(found), result=[due_row(d, today) for d in page])
