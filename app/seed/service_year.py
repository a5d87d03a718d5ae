"""A realistic service history for the reports: from 1 January 2025 to 31 October 2026, every
bookable instrument serves the demo customers — bookings taken by the labs, uses registered, machine
time from the IoT terminal where there is one, charges priced by the published standards, confirmed,
approved by the PIs of the school's own groups, invoiced and mostly settled (a few still to confirm),
and evaluations of completed bookings — each step through the flow's services, in their batch forms.

Runs last and draws from the same random stream, so earlier parts are unchanged.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from app import clock
from app.models import (Assessment, Charge, CustomerOrg, Instrument, InstrumentYearCost, ServiceUser, TypicalCase,
                        UsageRecord)
from app.services.booking import batch as booking_batch, evaluations, usage
from app.services.money import settlement_batch
from app.services.actors import Actor
from app.services.workdays import load_calendar

from .base import CENT, BuilderBase

HISTORY_FROM, HISTORY_TO = date(2025, 1, 1), date(2026, 10, 31)
COMMENTS = ("数据质量很好，老师讲解耐心。", "预约响应及时，测试周期短。", "报告规范，会再来。", "机时安排合理。",
            "结果符合预期。", "等待时间稍长。")


class ServiceYearMixin(BuilderBase):

    def _service_history(self):
        """Every step through the flow's own services, in their batch forms (each row checked as the screens
        check one): the bookings the labs took (booking_batch), the uses they registered and the charges that
        priced them from the published standards (usage.register_batch, a week at a time), the charges
        confirmed, approved by their PIs, invoiced and settled (settlement_batch), the evaluations the users
        gave (evaluations.evaluate_batch). Only the terminals' machine time is written as rows: the bridge's."""
        rng, session = self.rng, self.session
        instruments = session.execute(
            sa.select(Instrument.id, Instrument.iot_terminal_id).where(Instrument.can_be_booked).order_by(Instrument.id)).all()
        users = session.execute(sa.select(ServiceUser.id, CustomerOrg.category).join(CustomerOrg)
                                .where(ServiceUser.status == "active").order_by(ServiceUser.id)).all()
        if not instruments or not users:
            return
        actor = Actor.of(self.users["school_admin"])
        calendar = load_calendar(session)
        campus = [u for u in users if u.category == "campus"] or users
        outside = [u for u in users if u.category != "campus"] or users
        days = (HISTORY_TO - HISTORY_FROM).days
        uses = []
        for instrument_id, terminal in instruments:
            taken = set()
            for _ in range(rng.randint(15, 90)):
                day = HISTORY_FROM + timedelta(days=rng.randint(0, days))
                if not calendar.is_workday(day)[0]:  # the labs work on Chinese working days
                    continue
                start = clock.aware(datetime(day.year, day.month, day.day, rng.randint(8, 16), rng.choice((30, 0))))
                hours = Decimal(rng.choice((0.5, 1, 1.5, 2, 2.5, 3, 4, 6)))
                end = start + timedelta(hours=float(hours))
                if any(s < end and start < e for s, e in taken):  # one use at a time on an instrument
                    continue
                taken.add((start, end))
                # most machine time goes to the school's own groups, as in a real year
                user_id, category = rng.choice(campus if rng.random() < 0.65 else outside)
                submitted = start - timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 5), minutes=rng.randint(0, 59))
                uses.append({"instrument_id": instrument_id, "terminal": terminal, "user_id": user_id, "category": category,
                             "start": start, "end": end, "hours": hours,
                             "samples": rng.randint(1, 20) if rng.random() < 0.6 else None,
                             "direction": rng.choice(("research", "research", "development", "teaching", "other")),
                             "submitted": submitted, "answered": min(submitted + timedelta(hours=rng.randint(2, 200)), start),
                             "evaluated": rng.random() < 0.3, "pending": rng.random() < 0.05})
        uses.sort(key=lambda u: u["start"])
        booked = booking_batch.record_served(session, actor, [booking_batch.Served(
            u["instrument_id"], u["user_id"], u["submitted"], u["answered"], clock.local_date(u["start"]),
            u["samples"] or 1, "历史测试服务（演示）") for u in uses], calendar)
        uses = [dict(u, booking_id=booked.done[n]) for n, u in enumerate(uses) if n in booked.done]
        self._register_by_week(actor, uses)
        self._machine_time(uses)
        self._settle(actor, uses)
        self._evaluate(uses)
        self.counts.update(bookings=len(uses), history_refused=len(booked.refused))
        self._cost_basis_and_grade(instruments)

    def _register_by_week(self, actor, uses):
        """The labs register each week's uses at the week's end; each batch is priced as it is registered."""
        week = []
        for use in uses + [None]:
            if week and (use is None or clock.local_date(use["start"]).isocalendar()[:2]
                         != clock.local_date(week[0]["start"]).isocalendar()[:2]):
                done = usage.register_batch(session=self.session, actor=actor, now=max(u["end"] for u in week)
                                            + timedelta(hours=2), entries=[usage.Registration(
                                                u["booking_id"], u["start"], u["end"], samples=u["samples"],
                                                samples_received=u["samples"], samples_returned=u["samples"],
                                                direction=u["direction"]) for u in week])
                for n, u in enumerate(week):
                    u["usage_id"] = done.done.get(n)
                week = []
            if use is not None:
                week.append(use)

    def _machine_time(self, uses):
        """What the terminals measured of each run (the bridge writes these rows), a little longer than registered."""
        rng, rows = self.rng, []
        for u in uses:
            if u["terminal"] and u.get("usage_id"):
                measured = (u["hours"] + Decimal(rng.choice((0, 0.25, 0.5)))).quantize(CENT)
                rows.append({"instrument_id": u["instrument_id"], "started_at": u["start"], "hours": measured,
                             "ended_at": u["start"] + timedelta(hours=float(measured)), "source": "iot",
                             "service_type": "internal", "direction": "research"})
        self._insert(UsageRecord, rows)
        self.counts.update(usage_records=len(rows) + sum(1 for u in uses if u.get("usage_id")))

    def _settle(self, actor, uses):
        """Confirmed the day after, approved by the PI through the mailed link for the school's own groups,
        invoiced within a few weeks and mostly settled a week later; the last weeks' and a few others' still wait."""
        rng, session, today = self.rng, self.session, clock.today()
        charge_of = dict(session.execute(sa.select(Charge.usage_id, Charge.id).where(Charge.usage_id.in_(
            [u["usage_id"] for u in uses if u.get("usage_id")]))).all())
        steps, number = [], 0
        for u in uses:
            charge_id = charge_of.get(u.get("usage_id"))
            used_on = clock.local_date(u["start"])
            if charge_id is None or u["pending"] or used_on > HISTORY_TO - timedelta(days=20):
                continue
            number += 1
            confirmed = u["end"] + timedelta(days=1)
            invoiced = min(used_on + timedelta(days=rng.randint(2, 25)), today)
            settled = rng.random() < 0.67 and invoiced + timedelta(days=7) <= today
            campus = u["category"] == "campus"
            steps.append(settlement_batch.Advance(
                charge_id, confirmed, pi_decided_at=confirmed + timedelta(hours=20) if campus else None,
                invoice_number=f"HNSF-{invoiced.year}-{number:06d}", invoice_date=invoiced,
                paid_on=invoiced + timedelta(days=7) if settled else None,
                method=("campus_transfer" if campus else "bank_transfer") if settled else None))
        done = settlement_batch.advance_batch(session, actor, clock.now(), steps)
        self.counts.update(charges=len(charge_of), charges_refused=len(done.refused))

    def _evaluate(self, uses):
        rng, given = self.rng, []
        for u in uses:
            if u["evaluated"] and u.get("usage_id"):
                score = rng.choices((5, 4, 3, 2), weights=(60, 28, 9, 3))[0]
                aspects = [max(1, min(5, score + rng.choice((-1, 0, 0, 0, 1)))) for _ in range(3)]
                given.append(evaluations.Given(u["booking_id"], u["user_id"], u["end"] + timedelta(days=rng.randint(0, 3)),
                                               score, *aspects, rng.choice(COMMENTS)))
        done = evaluations.evaluate_batch(self.session, given, evaluations.DEFAULT_WINDOW_DAYS)
        self.counts.update(evaluations=len(done.done))

    def _cost_basis_and_grade(self, instruments):
        """2025's cost basis for most bookable instruments (a few labs have not entered theirs) and the
        grade the province gave the school for 2025, so the subsidy estimate has real inputs."""
        rng, year = self.rng, HISTORY_FROM.year
        rows = [{"instrument_id": instrument_id, "year": year,
                 "materials_cost": Decimal(rng.randint(100, 2500)).quantize(CENT),
                 "utilities_total": Decimal(rng.randint(10, 120) * 100).quantize(CENT), "remarks": None}
                for instrument_id, _terminal in instruments if rng.random() < 0.8]
        self._insert(InstrumentYearCost, rows)
        self.session.add(Assessment(unit_id=self.school.id, year=year, organisation_score=Decimal("88"),
                                    operation_score=Decimal("85"), sharing_score=Decimal("82"),
                                    iot_score=Decimal("80"), grade="good"))
        self.counts.update(cost_records=len(rows))
        self._typical_cases(year)

    def _typical_cases(self, year):
        """A few typical cases of 2025, written by the labs of the first bookable instruments."""
        cases = (("支撑新能源电池材料企业完成产品检测认证", "湖南星辰新材料科技有限公司",
                  "为企业提供材料成分与结构表征 120 余个样品，协助其完成第三方检测认证，缩短研发周期约两个月。"),
                 ("服务大学生创业团队开展智能传感器研发", "“智测未来”大学生创业团队",
                  "按大学生创业团队收费档位提供机时 60 小时，并安排技术人员指导上机，团队据此完成样机定型。"),
                 ("跨学院共享支撑国家自然科学基金项目", "校内多个课题组",
                  "全年为 5 个学院 18 个课题组提供测试服务，支撑发表论文 12 篇、授权发明专利 2 项。"))
        instruments = self.session.execute(
            sa.select(Instrument.id, Instrument.unit_id).where(Instrument.bookable.is_(True)).order_by(Instrument.id).limit(3)
        ).all()
        self._insert(TypicalCase, [{"unit_id": unit_id, "year": year, "title": title, "instrument_id": instrument_id,
                                    "served": served, "summary": summary}
                                   for (instrument_id, unit_id), (title, served, summary) in zip(instruments, cases)])
