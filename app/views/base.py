"""The scoped base view and API: every admin screen and endpoint derives from these.

Views stay declarations; this module wires the one scope filter into base_filters and every
related-field query, turns enumeration columns into Chinese selects, formats money, dates and
booleans, and calls the domain rules (app/services) before anything is written.
"""
import copy

from flask import abort, flash, request
from flask_appbuilder import ModelRestApi, ModelView
from flask_appbuilder.api import expose, protect, safe
from flask_appbuilder.security.decorators import permission_name
from flask_appbuilder.urltools import get_filter_args, get_order_args, get_page_args, get_page_size_args
import sqlalchemy as sa
from flask_appbuilder.fields import QuerySelectMultipleField
from wtforms import BooleanField, SelectField
from wtforms.validators import DataRequired, Optional

from app.extensions import db
from app.models.base import MONEY, UtcDateTime
from app.security import permissions as P
from app.security.scope import SCOPE_FILTER, ReferenceFilter, unit_in_scope
from app.services.errors import RuleViolation
from app.services.upkeep.records import MSG_RELATED_SCOPE, MSG_SCOPE

from . import api_fields, api_messages, formatting  # noqa: F401  (api_fields: instants in Beijing time)
from .forms import BeijingDateTimeField, blank_if_none
from .interface import interface


def owning_unit_id(item):
    """The unit whose scope decides who may write `item`."""
    if hasattr(item, "scope_owner_unit_id"):
        return item.scope_owner_unit_id()
    # the relationship wins over the FK column: a form or API load sets `unit`, and `unit_id`
    # still holds the old value until the flush
    unit = getattr(item, "unit", None)
    return unit.id if unit is not None else getattr(item, "unit_id", None)


def require_in_scope(item):
    if not unit_in_scope(owning_unit_id(item)):
        raise RuleViolation({"unit": MSG_SCOPE})


class _ScopeWiring:
    """Shared by the screens and the REST APIs so both are scoped exactly alike."""

    choice_columns: dict = {}
    validate = None  # optional service rule: callable(session, item) raising RuleViolation

    def _wire_scope(self, rel_attrs):
        """The scope filter on every list and record; on every related field the records the caller may
        name (ReferenceFilter), with whatever filters a view declares added to it, never instead of it."""
        self.base_filters = [list(f) for f in SCOPE_FILTER] + list(self.base_filters or [])
        scoped_rel = {}
        for prop in sa.inspect(self.datamodel.obj).relationships:
            target = prop.mapper.class_
            if not hasattr(target, "scope_clause") or prop.uselist and prop.secondary is None:
                continue
            # a unit's parent dropdown also shows the scope root's own parent (no move)
            value = "keep_root_parent" if (target is self.datamodel.obj and prop.key == "parent") else None
            scoped_rel[prop.key] = [["id", ReferenceFilter, value]]
        for attr in rel_attrs:
            declared = getattr(self, attr, None) or {}
            merged = {key: scoped_rel.get(key, []) + list(declared.get(key, [])) for key in {*scoped_rel, *declared}}
            setattr(self, attr, merged)

    @staticmethod
    def _blank_is_none(item):
        """An optional text left blank is no value (NULL), as the record rules read it — never "", which a unique
        column (a terminal id) holds once and a foreign key (a class code) refuses. A text's line breaks are kept as
        "\n": a browser sends a textarea's as "\r\n", and an unchanged record saved again must stay unchanged (no
        change in its history, no 5-working-day clock started)."""
        for column in item.__table__.columns:
            if not isinstance(column.type, sa.String):
                continue
            value = getattr(item, column.key, None)
            if column.nullable and value == "":
                setattr(item, column.key, None)
            elif isinstance(value, str) and "\r" in value:
                setattr(item, column.key, value.replace("\r\n", "\n").replace("\r", "\n"))

    def _check_write(self, item, rel_fields):
        self._blank_is_none(item)
        with db.session.no_autoflush:
            require_in_scope(item)
            self._check_related(item, rel_fields)
            if self.validate is not None:
                type(self).validate(db.session, item)

    def _rel_fields(self, declared, columns):
        """The filters of each related field a form or body may set (every relationship it takes is checked,
        scoped or not: a filter a view declares holds for writes too)."""
        relationships = {prop.key for prop in sa.inspect(self.datamodel.obj).relationships}
        return {key: (declared or {}).get(key, []) for key in columns or [] if key in relationships}

    def _check_related(self, item, rel_fields):
        """Every related record a write names is one its field offers (the same filters as the dropdown): in
        the caller's scope, and an active one for a user — on the screens and through the API alike. On an
        edit only what changed is asked: a record may keep a reference its editor could not make today."""
        state, errors = sa.inspect(item), {}
        for key, filter_list in rel_fields.items():
            attr = state.attrs[key]
            if state.persistent:
                named = attr.history.added
            else:
                named = list(attr.value) if isinstance(attr.value, (list, set, tuple)) else [attr.value]
            related = self.datamodel.get_related_interface(key)
            key_column = related.obj.__mapper__.primary_key[0]  # an instrument class is keyed by its code
            ids = {getattr(obj, key_column.key) for obj in named if obj is not None}
            if not ids:
                continue
            filters = related.get_filters().add_filter_list(filter_list)
            query = filters.apply_all(db.session.query(key_column).filter(key_column.in_(ids)))
            if {row[0] for row in query} != ids:
                errors[key] = MSG_RELATED_SCOPE
        if errors:
            raise RuleViolation(errors)


class ScopedModelView(_ScopeWiring, ModelView):
    page_size = 25
    list_undefer = ()  # deferred computed columns the list shows, loaded with the page
    # rows of the show page that a service computes as the page opens, from other tables or the
    # configuration (an instrument's evaluations): {column: function(record) -> value}, rendered by the
    # column's formatter like the record's own values. Never attributes added to the model.
    show_computed: dict = {}

    def __init__(self, **kwargs):
        # a subclass shares its parent's interface object: the relations a list loads are per view
        self.datamodel = copy.copy(self.datamodel)
        self._wire_scope(["add_form_query_rel_fields", "edit_form_query_rel_fields", "search_form_query_rel_fields"])
        self._wire_choices()
        self._wire_formatters()
        super().__init__(**kwargs)
        self.datamodel.eager_load(self.list_columns)
        self.datamodel.undeferred = tuple(self.list_undefer)
        # the change-history panel (show_with_history.html) needs to know which table it shows
        self.extra_args = {**(self.extra_args or {}), "history_table": self.datamodel.obj.__tablename__}

    def _get_show_widget(self, pk, item, widgets=None, actions=None, show_fieldsets=None):
        widgets = super()._get_show_widget(pk, item, widgets=widgets, actions=actions, show_fieldsets=show_fieldsets)
        values = widgets["show"].template_args["value_columns"]
        for column, compute in self.show_computed.items():
            if column in self.show_columns:
                values[self.show_columns.index(column)] = compute(item)
        return widgets

    def _wire_choices(self):
        extra_add = dict(self.add_form_extra_fields or {})
        extra_edit = dict(self.edit_form_extra_fields or {})
        extra_search = dict(self.search_form_extra_fields or {})
        formatters = dict(self.formatters_columns or {})
        for column, choices in self.choice_columns.items():
            table_column = self.datamodel.obj.__table__.c[column]
            nullable = table_column.nullable
            label = (self.label_columns or {}).get(column, column)
            description = (self.description_columns or {}).get(column, "")
            # the column's own default is preselected, and taken when a form leaves the field out
            default = table_column.default.arg if table_column.default is not None and table_column.default.is_scalar else None

            def make(required=not nullable, default=default, label=label, choices=choices, description=description):
                return SelectField(
                    label,
                    choices=choices.select_choices,
                    description=description,
                    default=default,
                    validators=[DataRequired()] if required else [Optional()],
                    render_kw={"class": "form-control"},
                )

            extra_add.setdefault(column, make())
            extra_edit.setdefault(column, make())
            extra_search.setdefault(column, make(required=False, default=None))
            formatters.setdefault(column, choices.label)
        # FAB marks every NOT NULL column required, which for a checkbox means "must be ticked"
        for column in self.datamodel.obj.__table__.columns:
            if isinstance(column.type, sa.Boolean):
                label = (self.label_columns or {}).get(column.key, column.key)
                description = (self.description_columns or {}).get(column.key, "")
                extra_add.setdefault(column.key, BooleanField(label, description=description))
                extra_edit.setdefault(column.key, BooleanField(label, description=description))
                extra_search.setdefault(column.key, BooleanField(label))
        # an instant is typed and shown in Beijing time (app/clock.py), whatever the stored UTC
        for column in self.datamodel.obj.__table__.columns:
            if isinstance(column.type, UtcDateTime):
                label = (self.label_columns or {}).get(column.key, column.key)
                description = (self.description_columns or {}).get(column.key, "")
                required = [DataRequired()] if not column.nullable else [Optional()]
                for extra in (extra_add, extra_edit):
                    extra.setdefault(column.key, BeijingDateTimeField(label, description=description, validators=required))
        self.add_form_extra_fields = extra_add
        self.edit_form_extra_fields = extra_edit
        self.search_form_extra_fields = extra_search
        self.formatters_columns = formatters

    def _wire_formatters(self):
        formatters = dict(self.formatters_columns or {})
        # FAB prints Python's "None" for an empty relation or value
        fieldset_fields = [f for _title, spec in (self.show_fieldsets or []) for f in spec["fields"]]
        for name in list(self.list_columns or []) + list(self.show_columns or []) + fieldset_fields:
            formatters.setdefault(name, blank_if_none)
        for column in self.datamodel.obj.__table__.columns:
            if formatters.get(column.key, blank_if_none) is not blank_if_none:
                continue
            if isinstance(column.type, sa.Boolean):
                formatters[column.key] = formatting.yes_no
            elif isinstance(column.type, sa.Numeric) and column.type.scale == MONEY.scale and column.type.precision == MONEY.precision:
                formatters[column.key] = formatting.yuan
            elif isinstance(column.type, UtcDateTime):
                formatters[column.key] = formatting.beijing_datetime
            elif isinstance(column.type, sa.Date):
                formatters[column.key] = formatting.iso_date
        self.formatters_columns = formatters

    def pre_add(self, item):
        self._check_write(item, self._rel_fields(self.add_form_query_rel_fields, self.add_columns))

    def pre_update(self, item):
        self._check_write(item, self._rel_fields(self.edit_form_query_rel_fields, self.edit_columns))

    # FAB's add and edit, with one change: a rule's refusal (RuleViolation from the hooks) is shown
    # beside its field on the form the user filled in, with everything typed kept, instead of a
    # flash after a redirect to an empty form
    def _refused(self, form, refusal):
        db.session.rollback()
        for field, message in refusal.errors.items():
            if field in form:
                form[field].errors = list(form[field].errors or []) + [message]
            else:
                flash(message, "danger")

    @staticmethod
    def _validate(form):
        """FAB's multiple select drops a chosen record its query does not offer (another college's person as an
        attendee) and saves the rest, because it reads its data only after its own check; read it first, so
        that such a choice is refused beside the field and nothing is saved."""
        for field in form:
            if isinstance(field, QuerySelectMultipleField):
                field.data  # noqa: B018  (the read marks a choice the query does not offer)
        return form.validate()

    def _add(self):
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        exclude_cols = self._filters.get_relation_cols()
        form = self.add_form.refresh()
        if request.method == "POST":
            self._fill_form_exclude_cols(exclude_cols, form)
            if self._validate(form):
                self.process_form(form, True)
                item = self.datamodel.obj()
                try:
                    form.populate_obj(item)
                    self.pre_add(item)
                except RuleViolation as refusal:
                    self._refused(form, refusal)
                    return self._get_add_widget(form=form, exclude_cols=exclude_cols)
                except Exception as e:  # noqa: BLE001  (as FAB does)
                    flash(str(e), "danger")
                    return None
                try:
                    self.datamodel.add(item)
                    self.post_add(item)
                    flash(self.add_row_message, "success")
                except Exception as e:  # noqa: BLE001
                    flash(str(e), "danger")
                return None
            return self._get_add_widget(form=form, exclude_cols=exclude_cols)
        self.update_redirect()
        return self._get_add_widget(form=form, exclude_cols=exclude_cols)

    def _edit(self, pk):
        if request.method != "POST":
            return super()._edit(pk)
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        exclude_cols = self._filters.get_relation_cols()
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            abort(404)
        pk = self.datamodel.get_pk_value(item)
        form = self.edit_form.refresh(request.form)
        self._fill_form_exclude_cols(exclude_cols, form)
        form._id = pk
        if self._validate(form):
            self.process_form(form, False)
            try:
                form.populate_obj(item)
                self.pre_update(item)
            except RuleViolation as refusal:
                self._refused(form, refusal)
            except Exception as e:  # noqa: BLE001  (as FAB does)
                flash(str(e), "danger")
                return None
            else:
                try:
                    self.datamodel.edit(item)
                    self.post_update(item)
                    flash(self.edit_row_message, "success")
                except Exception:  # noqa: BLE001
                    flash(self.database_error_message, "danger")
                return None
        item = self.datamodel.get(pk, self._base_filters)
        widgets = self._get_edit_widget(form=form, exclude_cols=exclude_cols)
        return self._get_related_views_widgets(item, filters={}, orders=get_order_args(), pages=get_page_args(),
                                               page_sizes=get_page_size_args(), widgets=widgets)

    def pre_delete(self, item):
        if not unit_in_scope(owning_unit_id(item)):
            abort(404)


class ScopedModelApi(_ScopeWiring, ModelRestApi):
    allow_browser_login = True
    page_size = 25

    def __init__(self, **kwargs):
        self._wire_scope(["add_query_rel_fields", "edit_query_rel_fields"])
        super().__init__(**kwargs)

    def pre_add(self, item):
        self._check_write(item, self._rel_fields(self.add_query_rel_fields, self.add_columns))

    def pre_update(self, item):
        self._check_write(item, self._rel_fields(self.edit_query_rel_fields, self.edit_columns))

    def info_headless(self, **kwargs):
        """FAB's `_info`, describing the add and edit fields (with their related records) only to a caller who
        may add or edit through FAB's generic write; an API whose write is hand-written takes another body,
        which its OpenAPI entry documents."""
        rison_args = dict(kwargs.get("rison", {}))
        keys = set(rison_args.get("keys") or self.info._response_key_func_mappings)
        for key, method, permission in (("add_columns", "post", P.CAN_POST), ("edit_columns", "put", P.CAN_PUT)):
            generic = getattr(type(self), method) is getattr(ScopedModelApi, method)
            if not generic or not self.appbuilder.sm.has_access(permission, self.class_permission_name):
                keys.discard(key)
        rison_args["keys"] = sorted(keys)
        payload = {}
        if keys:  # FAB reads no keys as all of them
            self.set_response_key_mappings(payload, self.info, rison_args, **rison_args)
        return self.response(200, **payload)

    # FAB routes a record's PUT and DELETE by `<pk>` as text: `_info`, a word or a number past the column then
    # reached them (405 became 404 or 422, and OPTIONS listed methods the address does not take). Every key
    # here is an integer, as the GET of a record already routes it.
    @expose("/<int:pk>", methods=["PUT"])
    @protect()
    @safe
    @permission_name(P.method_name(P.CAN_PUT))
    def put(self, pk):
        return self.put_headless(pk)

    @expose("/<int:pk>", methods=["DELETE"])
    @protect()
    @safe
    @permission_name(P.method_name(P.CAN_DELETE))
    def delete(self, pk):
        return self.delete_headless(pk)

    put.__doc__, delete.__doc__ = ModelRestApi.put.__doc__, ModelRestApi.delete.__doc__

    def _get_field_info(self, field, filter_rel_field, page=None, page_size=None):
        """FAB translates a missing label or description as gettext(""), which is the catalogue's header."""
        info = super()._get_field_info(field, filter_rel_field, page=page, page_size=page_size)
        for key, declared in (("label", self.label_columns), ("description", self.description_columns)):
            if not declared.get(field.name):
                info[key] = field.name if key == "label" else ""
        return info

    def post_headless(self):
        problems = api_fields.generic_write_problems(self.datamodel.obj, self.add_columns, request.get_json(silent=True))
        if problems:
            return self.response_422(message=problems)
        try:
            return super().post_headless()
        except RuleViolation as e:
            db.session.rollback()
            return self.response_422(message=e.errors)

    def put_headless(self, pk):
        problems = api_fields.generic_write_problems(self.datamodel.obj, self.edit_columns, request.get_json(silent=True))
        if problems:
            return self.response_422(message=problems)
        try:
            return super().put_headless(pk)
        except RuleViolation as e:
            db.session.rollback()
            return self.response_422(message=e.errors)

    # the domain refusals (PolicyDenied codes) an action answers 403 and 409; any other is 422
    forbidden_codes: frozenset = frozenset()
    conflict_codes: frozenset = frozenset()

    def _refusal(self, error):
        """A hand-written action's refusal, nothing written: 422 bad input (per field), else by its code."""
        db.session.rollback()
        if isinstance(error, (api_fields.BadInput, RuleViolation)):
            return self.response(422, message=error.errors)
        return self.response(api_fields.refusal_status(error, self.forbidden_codes, self.conflict_codes),
                             message=error.message, reason=error.code)

    @staticmethod
    def response(code, **kwargs):
        if code >= 400 and "message" in kwargs:
            kwargs["message"] = api_messages.translate(kwargs["message"])
        return ModelRestApi.response(code, **kwargs)


__all__ = ["ScopedModelView", "ScopedModelApi", "interface"]
