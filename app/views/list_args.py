"""One guard of every screen's list arguments (registered before every request): FAB reads a list's page,
page size, order and search filters from the query string and crashed on some; such a request is answered
with the Chinese 400 page instead."""
import math
import re

from flask import abort, request
import sqlalchemy as sa

from . import api_fields

MAX_PAGE_SIZE = 1000  # rows a list page shows at most (FAB takes any psize, and a huge one crashed the query)


def guard_list_args():
    """FAB's lists read their page, page size and order from the query string (page_<View>, psize_<View>,
    _oc_<View>, _od_<View>, found anywhere in a name, as FAB's own urltools find them) and crash on a word, a
    number past a column or a column that does not exist: such a request is answered with the Chinese 400 page."""
    views = None
    for key, value in request.args.items(multi=True):
        if not api_fields.storable_text(key) or not api_fields.storable_text(value):
            abort(400)
        if re.search("page_(.*)", key) or re.search("psize_(.*)", key):
            if api_fields.integer_text(value, 0, MAX_PAGE_SIZE if "psize_" in key else 10 ** 6) is None:
                abort(400)
        ordered = re.findall("_oc_(.*)", key)
        if ordered:
            views = views if views is not None else _views_by_name()
            view = views.get(ordered[0])
            if view is None or value not in (getattr(view, "order_columns", None) or ()):
                abort(400)
        filtered = re.findall(r"_flt_(\d)_(.*)", key)
        if filtered:
            views = views if views is not None else _views_by_name()
            view = views.get((request.endpoint or "").split(".")[0])
            if view is not None and not _filter_ok(view, int(filtered[0][0]), filtered[0][1], value):
                abort(400)
    return None


def _filter_ok(view, index, column, value):
    """A search filter FAB can apply: one of the column's own, with a value of the column's kind (FAB passes an
    unknown choice, or a word as a related record's key, to the database, which refuses it)."""
    filters = getattr(getattr(view, "_filters", None), "_all_filters", {}) or {}
    if column not in filters:
        return True  # FAB skips a column its search does not offer
    if index >= len(filters[column]):
        return False
    mapper, table = sa.inspect(view.datamodel.obj), view.datamodel.obj.__table__
    if column in mapper.relationships:
        return api_fields.integer_text(value, 0) is not None
    # a computed column (a terminal's state) reads an unknown value as matching nothing
    kind = table.c[column].type if column in table.c else None
    if isinstance(kind, sa.Enum):
        return value in kind.enums
    if isinstance(kind, sa.Boolean):  # FAB reads "y" as true and passes anything else on as it came
        return value == "y"
    if isinstance(kind, sa.Integer) and re.fullmatch(r"-?[0-9]+", value):  # FAB reads anything else as no value
        return api_fields.integer_text(value) is not None
    if isinstance(kind, sa.Numeric):
        try:
            return math.isfinite(float(value)) and abs(float(value)) < 1e15
        except ValueError:
            return False
    return True


def _views_by_name():
    from flask import current_app

    found = {}
    for view in current_app.appbuilder.baseviews:
        found.setdefault(type(view).__name__, view)
        for related in getattr(view, "_related_views", None) or ():
            found.setdefault(type(related).__name__, related)
    return found
