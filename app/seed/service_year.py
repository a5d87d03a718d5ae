"""A realistic service history for the reports: from 1 January 2025 to 31 October 2026, every
bookable instrument serves the demo customers — registered usage, machine time from the IoT
terminal where there is one, charges with invoices (a few still to confirm, a few credited),
and evaluations of completed bookings.

Runs last and draws from the same random stream, so earlier parts are unchanged. Rows go in
through Core in bulk; ids are read back by natural key (instrument and start time).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from app import clock
from app.models import (Assessment, Booking, Charge, CustomerOrg, Evaluation, Instrument, InstrumentYearCost, ServiceUser,
                        TypicalCase, UsageRecord)

from .base import CENT, BuilderBase

HISTORY_FROM, HISTORY_TO = date(2025, 1, 1), date(2026, 10, 31)
COMMENTS = ("数据质量很好，老师讲解耐心。", "预约响应及时，测试周期短。", "报告规范，会再来。", "机时安排合理。",
            "结果符合预期。", "等待时间稍长。")


class ServiceYearMixin(BuilderBase):

    def _service_history(self):
        rng, session = self.rng, self.session
        instruments = session.execute(
            sa.select(Instrument.id, Instrument.iot_terminal_id).where(Instrument.bookable.is_(True)).order_by(Instrument.id)
        ).all()
        users = session.execute(sa.select(ServiceUser.id, CustomerOrg.category).join(CustomerOrg).order_by(ServiceUser.id)).all()
        if not instruments or not users:
            return
        campus = [u for u in users if u.category == "campus"] or users
        outside = [u for u in users if u.category != "campus"] or users
        days = (HISTORY_TO - HISTORY_FROM).days
        usage, bookings = [], []
        for instrument_id, terminal in instruments:
            rate = Decimal(rng.choice((60, 80, 120, 150, 200, 300, 450)))
            taken = set()
            for _ in range(rng.randint(15, 90)):
                day = HISTORY_FROM + timedelta(days=rng.randint(0, days))
                if day.weekday() >= 5 and rng.random() < 0.8:
                    continue
                # a slot of the working day, Beijing time
                start = clock.aware(datetime(day.year, day.month, day.day, rng.randint(8, 16), rng.choice((0, 30))))
                if start in taken:
                    continue
                taken.add(start)
                hours = Decimal(rng.choice((0.5, 1, 1.5, 2, 2.5, 3, 4, 6)))
                # most machine time goes to the school's own groups, as in a real year
                user_id, category = rng.choice(campus if rng.random() < 0.65 else outside)
                row = {"instrument_id": instrument_id, "user_id": user_id, "started_at": start, "_category": category,
                       "ended_at": start + timedelta(hours=float(hours)), "hours": hours.quantize(CENT),
                       "samples": rng.randint(1, 20) if rng.random() < 0.6 else None, "source": "manual",
                       "service_type": "internal" if category == "campus" else "external",
                       "direction": rng.choice(("research", "research", "development", "teaching", "other")),
                       "booking_id": None, "_rate": rate, "_evaluated": rng.random() < 0.3}
                usage.append(row)
                if row["_evaluated"]:
                    bookings.append({"instrument_id": instrument_id, "user_id": user_id, "mode": "sample",
                                     "state": "completed", "scheduled_start": start, "scheduled_end": row["ended_at"],
                                     "submitted_at": start - timedelta(days=rng.randint(1, 6)),
                                     "respond_by": clock.local_date(start - timedelta(days=1)),
                                     "responded_at": start - timedelta(hours=20)})
                if terminal:  # the terminal measured the run, a little longer than registered
                    measured = (hours + Decimal(rng.choice((0, 0.25, 0.5)))).quantize(CENT)
                    usage.append({**row, "user_id": None, "source": "iot", "samples": None, "service_type": "internal",
                                  "hours": measured, "ended_at": start + timedelta(hours=float(measured)),
                                  "_rate": None, "_evaluated": False})
        self._insert(Booking, bookings)
        booking_of = {(r.instrument_id, r.scheduled_start): r.id for r in session.execute(
            sa.select(Booking.id, Booking.instrument_id, Booking.scheduled_start).where(Booking.state == "completed"))}
        for row in usage:
            if row["_evaluated"]:
                row["booking_id"] = booking_of.get((row["instrument_id"], row["started_at"]))
        self._insert(UsageRecord, [{k: v for k, v in r.items() if not k.startswith("_")} for r in usage])
        usage_id = {(r.instrument_id, r.started_at, r.source): r.id for r in session.execute(
            sa.select(UsageRecord.id, UsageRecord.instrument_id, UsageRecord.started_at, UsageRecord.source))}
        self._charges_and_evaluations(usage, usage_id)
        self.counts.update(usage_records=len(usage), bookings=len(bookings))
        self._cost_basis_and_grade(instruments)

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

    def _charges_and_evaluations(self, usage, usage_id):
        rng = self.rng
        charges, evaluations, number = [], [], 0
        for row in usage:
            if row["source"] != "manual":
                continue
            uid = usage_id[(row["instrument_id"], row["started_at"], "manual")]
            total = (row["hours"] * row["_rate"] + Decimal(row["samples"] or 0) * 20).quantize(CENT)
            if row["service_type"] == "external":
                total = (total * Decimal("1.3")).quantize(CENT)
            used_on = clock.local_date(row["started_at"])
            pending = used_on > HISTORY_TO - timedelta(days=20) or rng.random() < 0.05
            number += 1
            invoiced = used_on + timedelta(days=rng.randint(1, 25))
            state = "pending" if pending else rng.choice(("invoiced", "settled", "settled"))
            charges.append({"usage_id": uid, "user_id": row["user_id"], "customer_category": row["_category"],
                            "total": total, "state": state,
                            "invoice_number": None if pending else f"HNSF-{invoiced.year}-{number:06d}",
                            "invoice_date": None if pending else invoiced, "credit_of_id": None,
                            "paid_on": invoiced + timedelta(days=7) if state == "settled" else None,
                            "payment_method": ("campus_transfer" if row["_category"] == "campus" else "bank_transfer")
                            if state == "settled" else None,
                            "created_at": row["ended_at"]})
            if row["booking_id"]:
                score = rng.choices((5, 4, 3, 2), weights=(60, 28, 9, 3))[0]
                evaluations.append({"booking_id": row["booking_id"], "score": score, "comment": rng.choice(COMMENTS),
                                    "created_at": row["ended_at"] + timedelta(days=rng.randint(0, 3))})
        self._insert(Charge, charges)
        self._insert(Evaluation, evaluations)
        self.counts.update(charges=len(charges), evaluations=len(evaluations))
