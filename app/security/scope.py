"""The one scope filter (SPEC §1): a user bound to unit U reaches U and its descendants only; a
service user (bound to no unit) reaches its own records only — its bookings, authorisations,
contracts — through the model's `own_clause`, and nothing of anyone else's; a message is its
recipient account's alone, for every role.

Every list, show, edit, delete, REST endpoint, related dropdown, search filter, export and
custom endpoint goes through `scope_clause_for(model)` — directly or via `ScopeFilter`.
"""
from flask import g, has_request_context
from flask_appbuilder.models.filters import BaseFilter
from flask_jwt_extended import current_user as current_user_jwt
from flask_login import current_user
import sqlalchemy as sa

from app.extensions import db
from app.models import ServiceUser, Unit

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


def _load_scope():
    """One query: the caller's root unit and every unit id below it, cached per request.

    Returns ALL (root of the whole tree), NOTHING, or (root id, root parent id, unit ids).
    A literal id list rather than a subquery: a subtree holds a handful of units, and the
    planner then uses the unit_id index of the big tables directly (see bench/).
    """
    if has_request_context() and "_scope" in g:
        return g._scope
    user = _caller()
    result = NOTHING
    if user is not None and getattr(user, "unit_id", None):
        root = sa.orm.aliased(Unit)
        rows = db.session.execute(
            sa.select(Unit.id, root.parent_id)
            .join(root, Unit.is_under(root.path))
            .where(root.id == user.unit_id)
        ).all()
        if rows:
            parent_id = rows[0].parent_id
            result = ALL if parent_id is None else (user.unit_id, parent_id, tuple(r.id for r in rows))
    if has_request_context():
        g._scope = result
    return result


def scope_root():
    """The caller's scope root unit id, or ALL / NOTHING."""
    scope = _load_scope()
    return scope if scope in (ALL, NOTHING) else scope[0]


def scope_unit_ids():
    """The ids of the units in scope, or ALL / NOTHING."""
    scope = _load_scope()
    return scope if scope in (ALL, NOTHING) else scope[2]


def unit_ids_for_rules():
    """The caller's units as the services take them: None (the whole school), () (none) or their ids."""
    ids = scope_unit_ids()
    return None if ids == ALL else (() if ids == NOTHING else tuple(ids))


def own_service_user_id():
    """The caller's own ServiceUser row id (a service user's account), cached per request; None for others."""
    if has_request_context() and "_own_service_user" in g:
        return g._own_service_user
    user = _caller()
    row = None
    if user is not None:
        # the whole row with its organisation: the request's later session.get() of it, and the
        # contract rules' look at its category, then find it in the session instead of asking again
        row = db.session.execute(sa.select(ServiceUser).options(sa.orm.joinedload(ServiceUser.org))
                                 .where(ServiceUser.account_id == user.id)).scalar()
    found = row.id if row is not None else None
    if has_request_context():
        g._own_service_user, g._own_service_user_row = found, row  # the row kept alive for the identity map
    return found


def scope_clause_for(model):
    """A WHERE clause restricting `model` to the caller's scope (None = unrestricted). A record
    addressed to one account (a message) is its recipient's alone, whatever the caller's unit."""
    if getattr(model, "addressed_to_account", False):
        user = _caller()
        return sa.false() if user is None else model.account_clause(user.id)
    unit_ids = scope_unit_ids()
    if unit_ids == ALL:
        return None
    if unit_ids == NOTHING or not unit_ids:
        own = own_service_user_id() if hasattr(model, "own_clause") else None
        return sa.false() if own is None else model.own_clause(own)
    return model.scope_clause(unit_ids)


def reference_clause_for(model):
    """A WHERE clause restricting the `model` records the caller may point at from a record it writes (a
    dropdown's choices, and what an API write may name): its scope — unless the model says whom any
    administrator may reference (`reference_clause`: a lab serves any active customer, an on-campus
    researcher of another lab included). A service user may reference only its own, where the model allows."""
    scope = scope_clause_for(model)
    extra = getattr(model, "reference_clause", None)
    if extra is None:
        return scope
    if scope_unit_ids() in (NOTHING, ()):
        return sa.and_(scope if scope is not None else sa.true(), extra())
    return extra()


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
    return int(unit_id) in scope_unit_ids()


def root_parent_id():
    """The parent of the caller's scope root: shown (not selectable as a move) in unit forms."""
    scope = _load_scope()
    return None if scope in (ALL, NOTHING) else scope[1]


class ScopeFilter(BaseFilter):
    """FAB filter wrapping `scope_clause_for`; used in base_filters and *_query_rel_fields.

    The value "keep_root_parent" (unit parent dropdown only) also lists the scope root's own
    parent, so a college admin can save its college without moving it.
    """

    name = "Scope"
    arg_name = "scope"
    clause_for = staticmethod(scope_clause_for)

    def apply(self, query, value):
        clause = self.clause_for(self.model)
        if clause is None:
            return query
        if value == "keep_root_parent":
            parent = root_parent_id()
            if parent is not None:
                clause = sa.or_(clause, self.model.id == parent)
        return query.filter(clause)


class ReferenceFilter(ScopeFilter):
    """The records a related field may name (`reference_clause_for`), in every dropdown and API write."""

    name = "Reference"
    arg_name = "reference"
    clause_for = staticmethod(reference_clause_for)


SCOPE_FILTER = [["id", ScopeFilter, None]]
