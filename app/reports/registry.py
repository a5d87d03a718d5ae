"""Every report the console and `flask --app app report NAME` can produce, registered by decorator.

A report is a function `(ReportContext) -> [Sheet]`, registered with `@report(name, title)` here;
the package (`app/reports/__init__.py`) imports every report module once, so importing
`app.reports` registers them all. The one writer (excel.py) renders the sheets. The context carries the
scope: the unit the report is for and every unit id below it
(None = the whole school), resolved by the caller (the console from the signed-in user's
scope, the CLI from --unit), so a report never sees anything outside it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Callable

import sqlalchemy as sa

from app import clock
from app.models import Person, Unit

from .excel import write_workbook

# SPEC §5's names, in the order the console lists them
ORDER = ("annex1", "annex2", "annex3", "annual", "provincial", "subsidy", "assessment", "fees")
_REPORTS: dict = {}


class UnknownReport(LookupError):
    pass


class UnknownUnit(LookupError):
    pass


@dataclass
class ReportContext:
    session: object
    year: int
    unit: Unit  # the unit the report is filed by (the school root for the whole school)
    unit_ids: tuple | None  # units in scope; None = every unit
    today: date = field(default_factory=clock.today)  # the Beijing date the report is made on
    on_progress: Callable | None = None  # hears the share of the queries done (0–1), for the console

    def progress(self, share: float):
        """A report tells how far its queries got (a long export shows it)."""
        if self.on_progress is not None:
            self.on_progress(share)

    def in_scope(self, column):
        """WHERE clause keeping rows whose unit column is in scope (True for the whole school)."""
        return sa.true() if self.unit_ids is None else column.in_(self.unit_ids)

    def in_scope_id(self, unit_id) -> bool:
        """The same test for a unit id already fetched (rows computed school-wide, then shown in scope)."""
        return self.unit_ids is None or unit_id in self.unit_ids

    @property
    def first_day(self):
        return date(self.year, 1, 1)

    @property
    def last_day(self):
        return date(self.year, 12, 31)

    def liaison(self):
        """The filing unit's liaison (联络员): the one who fills in the forms, or None."""
        return self.session.execute(
            sa.select(Person).where(Person.unit_id == self.unit.id, Person.duty == "liaison").order_by(Person.id).limit(1)
        ).scalar_one_or_none()


@dataclass(frozen=True)
class Report:
    name: str
    title: object  # lazy gettext: the form's title, also the file name's stem
    build: Callable


def report(name, title):
    def register(fn):
        assert name in ORDER, name
        _REPORTS[name] = Report(name, title, fn)
        return fn
    return register


def available():
    return [_REPORTS[n] for n in ORDER if n in _REPORTS]


def get(name) -> Report:
    if name not in _REPORTS:
        raise UnknownReport(name)
    return _REPORTS[name]


def unit_subtree(session, unit: Unit) -> tuple | None:
    """The ids of `unit` and every unit below it; None for the root (the whole school)."""
    if unit.parent_id is None:
        return None
    return tuple(session.execute(Unit.ids_under(unit.path)).scalars())


def school_root(session) -> Unit:
    return session.execute(sa.select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id).limit(1)).scalar_one()


def context_for_unit_code(session, year, unit_code=None, today=None) -> ReportContext:
    """The CLI's context: --unit CODE (and everything below it), or the whole school."""
    if unit_code:
        unit = session.execute(sa.select(Unit).where(Unit.code == unit_code)).scalar_one_or_none()
        if unit is None:
            raise UnknownUnit(unit_code)
    else:
        unit = school_root(session)
    return ReportContext(session, year, unit, unit_subtree(session, unit), today or clock.today())


def file_name(rep: Report, ctx: ReportContext) -> str:
    return f"{rep.title}_{ctx.unit.name}_{ctx.year}.xlsx"


# a report aggregates a year of usage in a few statements; PostgreSQL's default work_mem (4 MB)
# makes those aggregates and sorts spill to disk, so a report's transaction gets more
REPORT_WORK_MEM = "64MB"


def build(rep: Report, ctx: ReportContext) -> list:
    """The report's sheets (the DataFrames with the form's furniture)."""
    if ctx.session.get_bind().dialect.name == "postgresql":
        ctx.session.execute(sa.text(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'"))
        # JIT-compiling a report's few big statements costs more (~0.1 s each) than it saves
        ctx.session.execute(sa.text("SET LOCAL jit = off"))
    return rep.build(ctx)


def render(rep: Report, ctx: ReportContext) -> bytes:
    return write_workbook(build(rep, ctx))
