"""The public fee-schedule catalogue (SPEC §5: /public/fees, /public/instruments/<id>).

Only what is published leaves this module: instruments that are shared and have a fee
standard in force on the given day, and of those only public fields. No drafts, no cost
basis, no justification, no asset number.
"""
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _
import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload

from app.models import FeeItem, FeePrice, FeeStandard, Instrument, InstrumentClass, Person, Unit
from app.models.choices import CUSTOMER_CATEGORY

from .errors import RuleViolation

PAGE_SIZE = 20
SORTS = {
    "name": Instrument.name,
    "price": sa.literal_column("min_price"),
    "college": sa.literal_column("college_name"),
}
MSG_BAD_QUERY = _("The search could not be understood: check the page number, prices and sort order.")


@dataclass
class Query:
    """A validated catalogue query; `parse` refuses anything malformed."""

    text: str = ""
    model: str = ""
    college: int | None = None
    class_code: str = ""
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    sort: str = "name"
    descending: bool = False
    page: int = 1
    errors: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, args):
        q = cls(text=args.get("q", "").strip()[:100], model=args.get("model", "").strip()[:100],
                class_code=args.get("class", "").strip()[:6])
        try:
            q.college = int(args["college"]) if args.get("college") else None
            q.page = int(args.get("page", 1))
            q.price_min = Decimal(args["price_min"]) if args.get("price_min") else None
            q.price_max = Decimal(args["price_max"]) if args.get("price_max") else None
        except (ValueError, InvalidOperation):
            raise RuleViolation({"query": MSG_BAD_QUERY})
        sort = args.get("sort", "name")
        q.descending = sort.startswith("-")
        q.sort = sort.lstrip("-")
        bad_number = any(v is not None and (not v.is_finite() or v < 0) for v in (q.price_min, q.price_max))
        if q.sort not in SORTS or q.page < 1 or q.page > 100000 or bad_number or not q.class_code.isdigit() and q.class_code:
            raise RuleViolation({"query": MSG_BAD_QUERY})
        return q


def standards_in_force(on: date):
    """Published standards in force on a day, one per instrument."""
    return sa.select(FeeStandard.id.label("standard_id"), FeeStandard.instrument_id).where(
        FeeStandard.state == "published",
        FeeStandard.effective_from <= on,
        sa.or_(FeeStandard.effective_to.is_(None), FeeStandard.effective_to >= on),
    )


def listable():
    return sa.and_(Instrument.sharing_status != "unsuitable", Instrument.run_status != "scrapped")


def _catalogue(query: Query, on: date):
    """The catalogue's SELECT for a validated query: only the shown columns, and the lowest
    price as a per-row subquery (computed for the page's rows, not for every standard)."""
    in_force = standards_in_force(on).subquery()
    lab = aliased(Unit)
    college = aliased(Unit)
    min_price = (
        sa.select(sa.func.min(FeePrice.unit_price)).join(FeeItem, FeeItem.id == FeePrice.item_id)
        .where(FeeItem.standard_id == in_force.c.standard_id).scalar_subquery().label("min_price")
    )
    base = (
        sa.select(Instrument.id, Instrument.name, Instrument.model, Instrument.location, Instrument.bookable,
                  college.name.label("college_name"), min_price)
        .join(in_force, in_force.c.instrument_id == Instrument.id)
        .join(lab, lab.id == Instrument.unit_id)
        .join(college, college.id == lab.parent_id)
        # no "has prices" test: submission requires an on-campus price, so every standard in
        # force has one (checking it per row made the count the slowest part of the page)
        .where(listable())
    )
    if query.text:
        base = base.where(Instrument.name.contains(query.text, autoescape=True))
    if query.model:
        base = base.where(Instrument.model.contains(query.model, autoescape=True))
    if query.college:
        base = base.where(college.id == query.college)
    if query.class_code:
        # a top class (010000) or a sub-class (010100) covers the codes below it
        prefix = query.class_code.rstrip("0") or query.class_code
        base = base.where(Instrument.class_code.startswith(prefix, autoescape=True))
    if query.price_min is not None or query.price_max is not None:
        in_range = sa.select(FeeItem.standard_id).join(FeePrice, FeePrice.item_id == FeeItem.id)
        if query.price_min is not None:
            in_range = in_range.where(FeePrice.unit_price >= query.price_min)
        if query.price_max is not None:
            in_range = in_range.where(FeePrice.unit_price <= query.price_max)
        base = base.where(in_force.c.standard_id.in_(in_range))
    return base


def matching_instrument_ids(query: Query, on: date):
    """A SELECT of every instrument id the query matches (all pages): for the download."""
    return _catalogue(query, on).with_only_columns(Instrument.id)


def search(session, query: Query, on: date):
    """(total, rows) for one catalogue page; each row carries the instrument, its college and
    its lowest published price — two statements whatever the page size."""
    base = _catalogue(query, on)
    # the count needs no price: count the ids of the same rows
    total = session.execute(sa.select(sa.func.count()).select_from(base.with_only_columns(Instrument.id).subquery())).scalar()
    order = SORTS[query.sort]
    order = order.desc() if query.descending else order.asc()
    rows = session.execute(
        base.order_by(order, Instrument.id).limit(PAGE_SIZE).offset((query.page - 1) * PAGE_SIZE)
    ).all()
    return total, rows


def colleges(session):
    return session.execute(sa.select(Unit.id, Unit.name).where(Unit.level == "college").order_by(Unit.code)).all()


def top_classes(session):
    return session.execute(
        sa.select(InstrumentClass.code, InstrumentClass.name).where(InstrumentClass.parent_code.is_(None)).order_by(InstrumentClass.code)
    ).all()


@dataclass
class PublicInstrument:
    instrument: Instrument
    college_name: str
    standard: FeeStandard
    contact_name: str


def instrument_page(session, instrument_id: int, on: date):
    """The public page of one instrument, or None when it is not published."""
    in_force = standards_in_force(on).where(FeeStandard.instrument_id == instrument_id).subquery()
    lab = aliased(Unit)
    college = aliased(Unit)
    row = session.execute(
        sa.select(Instrument, college.name, FeeStandard, Person.name)
        .join(in_force, in_force.c.instrument_id == Instrument.id)
        .join(FeeStandard, FeeStandard.id == in_force.c.standard_id)
        .join(lab, lab.id == Instrument.unit_id)
        .join(college, college.id == lab.parent_id)
        .outerjoin(Person, Person.id == Instrument.responsible_person_id)
        .where(Instrument.id == instrument_id, listable())
        .options(joinedload(FeeStandard.items).joinedload(FeeItem.prices))
    ).unique().first()
    if row is None:
        return None
    return PublicInstrument(row[0], row[1], row[2], row[3] or "")


def fee_table(standard):
    """Rows for the public fee table: item, unit, category, tier, price — nothing about cost."""
    rows = []
    for item in sorted(standard.items, key=lambda i: i.id or 0):
        order = CUSTOMER_CATEGORY.codes  # 校内 first, as the notice lists them
        for price in sorted(item.prices, key=lambda p: (order.index(p.customer_category), p.tier_min)):
            rows.append({
                "item": item.name,
                "billing_unit": item.billing_unit,
                "category": price.customer_category,
                "tier_min": price.tier_min,
                "tier_max": price.tier_max,
                "unit_price": price.unit_price,
                "difference_reason": price.difference_reason,
            })
    return rows
