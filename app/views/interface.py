"""FAB's SQLAlchemy interface with two repairs:

- no legacy Query.get() (a LegacyAPIWarning on SQLAlchemy 2);
- a refused write says why, in Chinese (FAB flashes an empty message);
- many-to-one relations shown in a list ("unit.name") are loaded with the page in one
  statement, instead of one lazy load per row.
"""
from flask import g, has_request_context
from flask_appbuilder.exceptions import DatabaseException
from flask_appbuilder.models.sqla import filters as fab_filters
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _
import sqlalchemy as sa
from sqlalchemy.orm import joinedload, undefer

from .api_fields import integer_text

MSG_IN_USE = _("This record is still referenced by other records (sub-units, instruments, people…) and cannot be deleted.")
MSG_CONFLICT = _("Not saved: the record conflicts with an existing one or breaks a data rule.")


class PlatformFilterConverter(fab_filters.SQLAFilterConverter):
    """FAB's search filters, and times of day (opening hours) compared like numbers."""

    conversion_table = fab_filters.SQLAFilterConverter.conversion_table + (
        ("is_time", [fab_filters.FilterEqual, fab_filters.FilterGreater, fab_filters.FilterSmaller]),
    )


class PlatformInterface(SQLAInterface):
    filter_converter_class = PlatformFilterConverter
    eager_relations: tuple = ()
    undeferred: tuple = ()  # deferred computed columns a list shows (e.g. the fee status)

    def add(self, item, commit=True):
        return self._explained(super().add, MSG_CONFLICT, item, commit=commit)

    def edit(self, item, commit=True):
        return self._explained(super().edit, MSG_CONFLICT, item, commit=commit)

    def delete(self, item, commit=True):
        return self._explained(super().delete, MSG_IN_USE, item, commit=commit)

    @staticmethod
    def _explained(write, message, *args, **kwargs):
        try:
            return write(*args, **kwargs)
        except (DatabaseException, sa.exc.SQLAlchemyError) as e:
            # FAB's add raises the SQLAlchemy error itself, edit and delete wrap it
            cause = e if isinstance(e, sa.exc.SQLAlchemyError) else e.__cause__
            if isinstance(cause, sa.exc.IntegrityError):
                if has_request_context():
                    g.write_refusal = message  # the API formats its own message: see api_messages
                raise DatabaseException(str(message)) from cause
            raise

    def is_time(self, col_name):
        column = self.list_columns.get(col_name)
        return column is not None and isinstance(getattr(column, "type", None), sa.Time)

    def get(self, id, filters=None, *args, **kwargs):
        """The record with this key, None for a key no record can have (FAB's routes pass `<pk>` as text: a
        word, or a number past the column, crashed the query instead of answering 404)."""
        if isinstance(self.obj.__mapper__.primary_key[0].type, sa.Integer):
            id = integer_text(id)
            if id is None:
                return None
        return super().get(id, filters, *args, **kwargs)

    def get_related_obj(self, col_name, value):
        return self.session.get(self.get_related_model(col_name), value)

    def eager_load(self, columns):
        """Remember which many-to-one relations the list shows (called by the view)."""
        relations = {r.key: r for r in sa.inspect(self.obj).relationships if not r.uselist}
        self.eager_relations = tuple(
            relations[name] for name in dict.fromkeys(c.split(".")[0] for c in columns) if name in relations
        )

    def apply_all(self, query, *args, **kwargs):
        query = super().apply_all(query, *args, **kwargs)
        if self.eager_relations:
            query = query.options(*(joinedload(r.class_attribute) for r in self.eager_relations))
        if self.undeferred:
            query = query.options(*(undefer(getattr(self.obj, name)) for name in self.undeferred))
        return query


def interface(model):
    return PlatformInterface(model)
