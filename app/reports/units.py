"""The unit tree as the reports print it: each instrument with its lab and the college above it
(a lab directly under the school is its own college), kept to the report's scope and listed in
the forms' order (college, lab, asset number)."""
import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app.models import Instrument, Unit

LAB = aliased(Unit, name="lab")
COLLEGE = aliased(Unit, name="college")


def college_id():
    return sa.func.coalesce(COLLEGE.id, LAB.id)


def college_name():
    return sa.func.coalesce(COLLEGE.name, LAB.name).label("college_name")


def lab_name():
    return LAB.name.label("lab_name")


def instruments_in_scope(query, ctx):
    """`query` (selecting from instruments) joined to each instrument's lab and college, kept to
    the scope of `ctx` (None: the whole school, for figures whose caps bind school-wide) and
    ordered as the forms list instruments."""
    query = (query.join(LAB, LAB.id == Instrument.unit_id)
             .outerjoin(COLLEGE, COLLEGE.id == LAB.parent_id)
             .order_by(COLLEGE.code, LAB.code, Instrument.asset_number))
    return query if ctx is None else query.where(ctx.in_scope(Instrument.unit_id))
