"""The public fee-schedule catalogue (SPEC §5: /public/fees, /public/instruments/<id>).

Only what is published leaves this module: instruments with a catalogue entry (shared, with a
fee standard in force today: services/catalogue/entry.py keeps it), and of those only public fields. No drafts, no cost
basis, no justification, no asset number.
"""
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _
import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload

from app.models import DeviceStatus, FeeItem, FeePrice, FeeStandard, Instrument, InstrumentClass, Person, Unit
from app.models.choices import CUSTOMER_CATEGORY

from app.services.errors import RuleViolation

PAGE_SIZE = 20
SORTS = {"name": Instrument.name, "price": Instrument.public_min_price, "college": None}  # college: Unit.name
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
            raise RuleViolation({"query": MSG_BAD_QUERY}) from None
        sort = args.get("sort", "name")
        q.descending = sort.startswith("-")
        q.sort = sort.lstrip("-")
        bad_number = any(v is not None and (not v.is_finite() or v < 0) for v in (q.price_min, q.price_max))
        if q.sort not in SORTS or q.page < 1 or q.page > 100000 or bad_number or not q.class_code.isdigit() and q.class_code:
            raise RuleViolation({"query": MSG_BAD_QUERY})
        return q


def _contains_any_case(column, text):
    """Substring match ignoring case on both databases (SQLite's LIKE ignores ASCII case, PostgreSQL's
    does not): ILIKE on PostgreSQL, which the trigram indexes serve; lower() LIKE lower() on SQLite."""
    escaped = text.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return column.ilike(f"%{escaped}%", escape="/")


def _filters(query: Query):
    """The WHERE clauses of a validated query, all on the instrument table (the count needs no join)."""
    clauses = [Instrument.public_standard_id.is_not(None)]
    if query.text:
        clauses.append(_contains_any_case(Instrument.name, query.text))
    if query.model:
        clauses.append(_contains_any_case(Instrument.model, query.model))
    if query.college:
        clauses.append(Instrument.unit_id.in_(sa.select(Unit.id).where(Unit.parent_id == query.college)))
    if query.class_code:
        # a top class (010000) or a sub-class (010100) covers the codes below it
        prefix = query.class_code.rstrip("0") or query.class_code
        clauses.append(Instrument.class_code.startswith(prefix, autoescape=True))
    if query.price_min is not None or query.price_max is not None:
        # any price of the standard in the range, not only the lowest
        in_range = sa.select(FeeItem.standard_id).join(FeePrice, FeePrice.item_id == FeeItem.id)
        if query.price_min is not None:
            in_range = in_range.where(FeePrice.unit_price >= query.price_min)
        if query.price_max is not None:
            in_range = in_range.where(FeePrice.unit_price <= query.price_max)
        clauses.append(Instrument.public_standard_id.in_(in_range))
    return clauses


def matching_instrument_ids(query: Query):
    """A SELECT of every instrument id the query matches (all pages): for the download."""
    return sa.select(Instrument.id).where(*_filters(query))


def search(session, query: Query):
    """(total, rows) for one catalogue page; each row carries the instrument, its college, its
    lowest published price and its terminal's last status — two statements whatever the page and its depth."""
    clauses = _filters(query)
    total = session.execute(sa.select(sa.func.count()).select_from(Instrument).where(*clauses)).scalar()
    lab = aliased(Unit)
    college = aliased(Unit)
    sort = SORTS[query.sort] if query.sort != "college" else college.name

    def ordered(select, *columns):
        return select.order_by(*((c.desc() if query.descending else c.asc()) for c in columns))

    # the page's ids first, from the catalogue's indexes alone; the other columns and the
    # college names only for those 20 rows (a deep page does not join the rows it skips)
    page = sa.select(Instrument.id, sort.label("sort_key")).where(*clauses)
    if query.sort == "college":
        page = page.join(lab, lab.id == Instrument.unit_id).join(college, college.id == lab.parent_id)
    page = ordered(page, sort).order_by(Instrument.id).limit(PAGE_SIZE).offset((query.page - 1) * PAGE_SIZE).subquery()
    page_lab, page_college = aliased(Unit), aliased(Unit)
    rows = session.execute(
        ordered(
            sa.select(Instrument.id, Instrument.name, Instrument.model, Instrument.location,
                      Instrument.can_be_booked.label("bookable"),
                      page_college.name.label("college_name"), Instrument.public_min_price.label("min_price"),
                      DeviceStatus.state.label("device_state"), DeviceStatus.received_at.label("device_seen_at"))
            .join(page, page.c.id == Instrument.id)
            .outerjoin(DeviceStatus, DeviceStatus.terminal_id == Instrument.iot_terminal_id)
            .join(page_lab, page_lab.id == Instrument.unit_id)
            .join(page_college, page_college.id == page_lab.parent_id),
            page.c.sort_key,
        ).order_by(Instrument.id)
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


def instrument_page(session, instrument_id: int):
    """The public page of one instrument, or None when it is not in the catalogue."""
    lab = aliased(Unit)
    college = aliased(Unit)
    row = session.execute(
        sa.select(Instrument, college.name, FeeStandard, Person.name)
        .join(FeeStandard, FeeStandard.id == Instrument.public_standard_id)
        .join(lab, lab.id == Instrument.unit_id)
        .join(college, college.id == lab.parent_id)
        .outerjoin(Person, Person.id == Instrument.responsible_person_id)
        .where(Instrument.id == instrument_id)
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
