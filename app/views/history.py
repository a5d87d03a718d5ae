"""The change-history panel as people read it: a changed field under its label, and its old and new
values as the screens show them — an enumeration's Chinese label, 是/否, the related record's name —
not the codes and ids the change log keeps."""
from flask_appbuilder import Model
from flask_babel import gettext
import sqlalchemy as sa

from app import clock
from app.extensions import db
from app.models import choices
from app.services.upkeep import changelog

_CHOICES = {c.name: c for c in vars(choices).values() if isinstance(c, choices.Choices)}


def _model_of(table_name):
    for mapper in Model.registry.mappers:
        if getattr(mapper.class_, "__tablename__", None) == table_name:
            return mapper.class_
    return None


def value_shown(table_name, field, text):
    if text is None:
        return ""
    model = _model_of(table_name)
    column = model.__table__.c.get(field) if model is not None else None
    if column is None:
        return text
    if isinstance(column.type, sa.Boolean):
        return gettext("Yes") if text in ("True", "1", "true") else gettext("No")
    if isinstance(column.type, sa.Enum) and column.type.name:
        found = _CHOICES.get(column.type.name.removeprefix("ck_"))
        if found is not None:
            return str(found.label(text))
    for key in column.foreign_keys:
        target = _model_of(key.column.table.name)
        if target is not None and text.isdigit():
            record = db.session.get(target, int(text))
            return str(record) if record is not None else text
    return text


def label_shown(field, label_columns):
    """The field's label on the screen; a foreign key under its relation's label (FAB's own label of the
    key column is an English prettified name, "Unit Id")."""
    if field.endswith("_id") and field.removesuffix("_id") in label_columns:
        return label_columns[field.removesuffix("_id")]
    return label_columns.get(field) or field


def install(app):
    """The template helpers of the history panel (show_with_history.html), and `|beijing` for instants."""
    app.jinja_env.filters["beijing"] = clock.display

    @app.context_processor
    def helpers():
        return {"change_history": lambda table, pk: changelog.history_for(db.session, table, int(pk)),
                "history_value": value_shown, "history_label": label_shown}
