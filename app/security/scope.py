"""The one scope filter (SPEC §1): a user bound to unit U reaches U and its descendants only.

Every list, show, edit, delete, REST endpoint, related dropdown, search filter, export and
custom endpoint goes through `scope_clause_for(model)` — directly or via `ScopeFilter`.
"""
from flask import g, has_request_context
from flask_appbuilder.models.filters import BaseFilter
from flask_jwt_extended import current_user as current_user_jwt
from flask_login import current_user
import sqlalchemy as sa

from app.extensions import db
from app.models import Unit

ALL = "all"  # the caller's scope is the whole tree (school root)
NOTHING = "nothing"  # anonymous, or a user bound to no unit


def _caller():
    if not has_request_context():
        return None
    if current_user and current_user.is_authenticated:
        return current_user
    try:
        if current_user_jwt and current_user_jwt.is_active:
            return current_user_jwt
    except Exception:  # no JWT in this request
        return None
    return None


def scope_root():
    """(root unit id, root path) of the caller's scope, cached per request; or ALL / NOTHING."""
    if has_request_context() and "_scope_root" in g:
        return g._scope_root
    user = _caller()
    result = NOTHING
    if user is not None and getattr(user, "unit_id", None):
        row = db.session.execute(
            sa.select(Unit.id, Unit.path, Unit.parent_id).where(Unit.id == user.unit_id)
        ).first()
        if row is not None:
            result = ALL if row.parent_id is None else (row.id, row.path)
    if has_request_context():
        g._scope_root = result
    return result


def scope_unit_ids():
    """A SELECT of unit ids in scope, or ALL / NOTHING."""
    root = scope_root()
    if root in (ALL, NOTHING):
        return root
    _root_id, path = root
    return sa.select(Unit.id).where(Unit.path.startswith(path, autoescape=True)).scalar_subquery()


def scope_clause_for(model):
    """A WHERE clause restricting `model` to the caller's scope (None = unrestricted)."""
    unit_ids = scope_unit_ids()
    if unit_ids == ALL:
        return None
    if unit_ids == NOTHING:
        return sa.false()
    return model.scope_clause(unit_ids)


def apply_scope(query, model):
    clause = scope_clause_for(model)
    return query if clause is None else query.filter(clause)


def unit_in_scope(unit_id) -> bool:
    if unit_id is None:
        return False
    root = scope_root()
    if root == ALL:
        return True
    if root == NOTHING:
        return False
    _root_id, path = root
    unit_path = db.session.execute(sa.select(Unit.path).where(Unit.id == unit_id)).scalar()
    return bool(unit_path) and unit_path.startswith(path)


def root_parent_id():
    """The parent of the caller's scope root: shown (not selectable as a move) in unit forms."""
    root = scope_root()
    if root in (ALL, NOTHING):
        return None
    return db.session.execute(sa.select(Unit.parent_id).where(Unit.id == root[0])).scalar()


class ScopeFilter(BaseFilter):
    """FAB filter wrapping `scope_clause_for`; used in base_filters and *_query_rel_fields.

    The value "keep_root_parent" (unit parent dropdown only) also lists the scope root's own
    parent, so a college admin can save its college without moving it.
    """

    name = "Scope"
    arg_name = "scope"

    def apply(self, query, value):
        clause = scope_clause_for(self.model)
        if clause is None:
            return query
        if value == "keep_root_parent":
            parent = root_parent_id()
            if parent is not None:
                clause = sa.or_(clause, self.model.id == parent)
        return query.filter(clause)


SCOPE_FILTER = [["id", ScopeFilter, None]]
