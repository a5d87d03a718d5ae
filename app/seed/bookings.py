"""The demo's booking state (SPEC §5), relative to the day it is seeded and kept on every later run:

- `lab_admin`'s showcase instruments take bookings by the defaults, the X-ray diffractometer confirms
  an authorised user's free slot at once, the XPS takes sample testing and technical service only,
  the NMR opens long hours, and the SEM has a calibration day next week;
- `service_user` and `campus_user` may operate the NMR, the LC-MS and the SEM themselves and not the
  XRD or the FTIR (which do take self-operation); `student_user` the FTIR;
- `service_user`'s enterprise holds a service contract with `lab_admin`'s lab (with its scanned PDF),
  `student_user`'s team one with the lab's college (which covers the lab); the agricultural academy has
  none and books sample testing under the school's standard terms, accepted as it booked;
- `service_user` has two scheduled self-operated slots that ended on the last working day — one the
  terminal measured — which the lab has still to register, and a pending booking within its respond-by;
  `student_user` a pending sample booking; `campus_user` a scheduled slot on the next working day;
- the weeks before went through the whole flow: `service_user`'s uses registered, priced, confirmed,
  invoiced (one paid) and evaluated, `campus_user`'s last use priced and waiting for confirmation.

The bookings go through the booking service, as a user's would.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa

from app import clock
from flask import current_app

from app.models import (Authorisation, Booking, BookingRule, Closure, CustomerOrg, Instrument, IotTerminal, OpeningHours,
                        PlatformUser, ServiceContract, ServiceUser, Unit, UsageRecord)
from app.services.booking import bookings
from app.services.people import contracts
from app.services.booking import evaluations, usage
from app.services.money import settlement
from app.services.errors import PolicyDenied, RuleViolation
from app.services.actors import Actor
from app.services.workdays import load_calendar

from .catalog import CUSTOMERS, DEMO_LAB_CODE

SHOWCASE = ("核磁共振波谱仪", "液相色谱-质谱联用仪", "场发射扫描电子显微镜", "X射线衍射仪", "傅里叶变换红外光谱仪",
            "X射线光电子能谱仪")
AUTHORISED = {"service_user": ("核磁共振波谱仪", "液相色谱-质谱联用仪", "场发射扫描电子显微镜"),
              "campus_user": ("核磁共振波谱仪", "液相色谱-质谱联用仪", "场发射扫描电子显微镜"),
              "student_user": ("傅里叶变换红外光谱仪",)}


def _at(day, hour, minute=0):
    return clock.aware(datetime.combine(day, time(hour, minute)))


def _working_days(calendar, start, step, count):
    """`count` Chinese working days (Monday–Friday ones) from `start` going `step` days at a time."""
    found, day = [], start
    while len(found) < count:
        day += timedelta(days=step)
        if calendar.is_workday(day)[0] and day.weekday() < 5:
            found.append(day)
    return found


ACADEMY = CUSTOMERS[3][0]  # books under the standard terms: no contract


def demo_pdf(title: str) -> bytes:
    """A one-page PDF standing for a contract's scan (ASCII: the demo has no embedded Chinese font)."""
    text = f"BT /F1 18 Tf 72 760 Td ({title}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _ensure_contracts(session, lab: Unit, customers: dict, today) -> int:
    made = 0
    signed = today - timedelta(days=60)
    for number, org_id, unit_id in (("HT-DEMO-2026-001", customers["service_user"].org_id, lab.id),
                                    ("HT-DEMO-2026-002", customers["student_user"].org_id, lab.parent_id)):
        if session.scalar(sa.select(ServiceContract.id).where(ServiceContract.number == number)) is not None:
            continue
        scan = demo_pdf(f"Service contract {number} (demo)")
        stored, digest = contracts.store_pdf(current_app.config["CONTRACT_FOLDER"], scan)
        session.add(ServiceContract(
            number=number, org_id=org_id, unit_id=unit_id, service_content="分析测试与技术服务（演示）",
            ip_ownership="用户独立完成的研究成果及知识产权归用户所有；双方合作完成的成果，按事先书面约定归属。",
            confidentiality="双方对在服务中知悉的对方技术资料、样品信息和测试数据负有保密义务。",
            damages="因用户违反操作规程造成仪器损坏的，按维修或更换的实际费用赔偿。",
            liability="因仪器故障、停电等不可抗力造成的延误，实验室及时通知并重新安排，不承担其他责任。",
            dispute_resolution="协商解决；协商不成的，向学校所在地人民法院提起诉讼。",
            signed_on=signed, valid_from=signed, valid_until=signed + timedelta(days=730), file_path=stored,
            file_name=f"{number}.pdf", file_size=len(scan), file_sha256=digest, uploaded_at=clock.aware(
                datetime.combine(signed, time(10, 0)))))
        made += 1
    return made


def ensure_booking_demo(session, now: datetime) -> dict:
    """Create what is missing; returns counts of what was created."""
    lab = session.scalar(sa.select(Unit).where(Unit.code == DEMO_LAB_CODE))
    if lab is None:
        return {}
    showcase = {name: session.scalar(sa.select(Instrument).where(Instrument.unit_id == lab.id, Instrument.name == name,
                                                                 Instrument.can_be_booked).order_by(Instrument.id))
                for name in SHOWCASE}
    if any(i is None for i in showcase.values()):
        return {}
    customers = {username: session.scalar(sa.select(ServiceUser).join(PlatformUser, PlatformUser.id == ServiceUser.account_id)
                                          .where(PlatformUser.username == username)) for username in AUTHORISED}
    if any(c is None for c in customers.values()):
        return {}
    created = {"booking_rules": 0, "authorisations": 0, "bookings": 0}
    calendar = load_calendar(session)
    today = clock.local_date(now)
    created["contracts"] = _ensure_contracts(session, lab, customers, today)
    previous, = _working_days(calendar, today, -1, 1)
    following = _working_days(calendar, today, 1, 4)

    rules = {"X射线衍射仪": {"auto_confirm": True},
             "X射线光电子能谱仪": {"accepts_self_operated": False},
             # the power interlock: the SEM's plug is a Tasmota, the FTIR's a Shelly Gen2 (the simulator speaks each)
             "场发射扫描电子显微镜": {"interlock": True, "interlock_grace_minutes": 10},
             "傅里叶变换红外光谱仪": {"interlock": True, "interlock_grace_minutes": 15}}
    plugs = {"场发射扫描电子显微镜": "tasmota", "傅里叶变换红外光谱仪": "shelly"}
    for name, instrument in showcase.items():
        if session.scalar(sa.select(BookingRule.id).where(BookingRule.instrument_id == instrument.id)) is None:
            values = dict(accepts_self_operated=True, accepts_sample=True, accepts_service=True, min_slot_minutes=30,
                          max_slot_minutes=480, max_days_ahead=30, min_hours_ahead=2, auto_confirm=False,
                          cancel_hours_before=24, open_on_holidays=False)
            values.update(rules.get(name, {}))
            session.add(BookingRule(instrument_id=instrument.id, **values))
            created["booking_rules"] += 1
            if name in plugs and instrument.iot_terminal_id:
                session.execute(sa.update(IotTerminal).where(IotTerminal.terminal_id == instrument.iot_terminal_id)
                                .values(adapter=plugs[name]))
    nmr, sem = showcase["核磁共振波谱仪"], showcase["场发射扫描电子显微镜"]
    if session.scalar(sa.select(OpeningHours.id).where(OpeningHours.instrument_id == nmr.id)) is None:
        session.add_all([OpeningHours(instrument_id=nmr.id, weekday=d, opens=time(8, 30), closes=time(21, 0)) for d in range(5)])
        session.add(OpeningHours(instrument_id=nmr.id, weekday=5, opens=time(9, 0), closes=time(17, 0)))
    if session.scalar(sa.select(Closure.id).where(Closure.instrument_id == sem.id)) is None:
        day = following[3]
        session.add(Closure(instrument_id=sem.id, kind="calibration", starts_at=clock.start_of(day),
                            ends_at=clock.start_of(day + timedelta(days=1)), reason="年度计量校准（演示）"))
    for username, names in AUTHORISED.items():
        for name in names:
            instrument = showcase[name]
            if session.scalar(sa.select(Authorisation.id).where(Authorisation.user_id == customers[username].id,
                                                                Authorisation.instrument_id == instrument.id)) is None:
                session.add(Authorisation(user_id=customers[username].id, instrument_id=instrument.id, state="active",
                                          granted_on=today - timedelta(days=60), trainer="彭志强", last_used_on=None))
                created["authorisations"] += 1
    session.flush()

    if session.scalar(sa.select(Booking.id).where(Booking.user_id.in_([c.id for c in customers.values()]),
                                                  Booking.submitted_at >= now - timedelta(days=14))) is not None:
        return created  # this fortnight's demo bookings exist already
    settings = bookings.Settings()
    lab_admin = session.scalar(sa.select(PlatformUser).where(PlatformUser.username == "lab_admin"))
    actor = Actor.of(lab_admin)
    service, campus, student = customers["service_user"], customers["campus_user"], customers["student_user"]
    # 1. an ended slot: submitted three working days before, scheduled, measured by the terminal, not registered
    before, = _working_days(calendar, previous, -1, 3)[-1:]
    ended = bookings.submit(session, service, nmr.id, "self_operated", _at(before, 10), settings,
                            start=_at(previous, 9), end=_at(previous, 11), purpose="高分子样品 1H/13C 谱图采集（演示）",
                            calendar=calendar)
    bookings.schedule(session, actor, ended, _at(before, 15))
    if nmr.iot_terminal_id:
        session.add(UsageRecord(instrument_id=nmr.id, booking_id=ended.id, user_id=service.id, source="iot",
                                started_at=_at(previous, 9, 6), ended_at=_at(previous, 10, 52), hours=1.77,
                                service_type="external", direction="research"))
    # and a second one on the LC-MS that afternoon (the browser suite registers one of the two)
    second = bookings.submit(session, service, showcase["液相色谱-质谱联用仪"].id, "self_operated", _at(before, 11), settings,
                             start=_at(previous, 14), end=_at(previous, 16), purpose="药物杂质定量分析（演示）",
                             calendar=calendar)
    bookings.schedule(session, actor, second, _at(before, 15))
    lcms = showcase["液相色谱-质谱联用仪"]
    if lcms.iot_terminal_id:
        session.add(UsageRecord(instrument_id=lcms.id, booking_id=second.id, user_id=service.id, source="iot",
                                started_at=_at(previous, 14, 4), ended_at=_at(previous, 15, 50), hours=1.77,
                                service_type="external", direction="research"))
    # 2. pending, within its respond-by (submitted an hour ago)
    bookings.submit(session, service, showcase["液相色谱-质谱联用仪"].id, "self_operated", now - timedelta(hours=1), settings,
                    start=_at(following[1], 14), end=_at(following[1], 16), purpose="药物代谢物定性分析（演示）",
                    calendar=calendar)
    # 3. a student team's sample testing, and an on-campus researcher's scheduled slot
    bookings.submit(session, student, showcase["X射线光电子能谱仪"].id, "sample", now - timedelta(hours=3), settings,
                    sample_count=6, samples="薄膜样品 6 片，10 mm × 10 mm，常温保存，无毒无害", day=following[2],
                    purpose="表面元素价态分析（演示）", calendar=calendar)
    early = bookings.submit(session, campus, nmr.id, "self_operated", now - timedelta(days=1), settings,
                            start=_at(following[0], 14), end=_at(following[0], 16), purpose="课题组常规测试（演示）",
                            calendar=calendar)
    bookings.schedule(session, actor, early, now - timedelta(hours=20))
    # 4. an academy without a contract books sample testing under the standard terms
    academy = session.scalar(sa.select(ServiceUser).join(CustomerOrg, CustomerOrg.id == ServiceUser.org_id)
                             .where(CustomerOrg.name == ACADEMY, ServiceUser.status == "active").order_by(ServiceUser.id))
    count = 5
    if academy is not None:
        bookings.submit(session, academy, showcase["X射线衍射仪"].id, "sample", now - timedelta(hours=5), settings,
                        sample_count=3, samples="土壤样品 3 份，风干过筛，无危险性", day=following[1],
                        purpose="物相鉴定（演示）", accept_terms=True, calendar=calendar)
        count += 1
    created["bookings"] = count
    session.flush()
    created["flow_uses"] = _through_the_flow(session, actor, customers, showcase, calendar, previous, settings)
    return created


# the last weeks of the demo accounts, as the lab and the users worked them through the services:
# (user, instrument, working days back, start hour, hours, how far it went, scores given)
FLOW = (("service_user", "核磁共振波谱仪", 8, 9, 2, "settled", (5, 5, 5, "数据质量很好，老师讲解耐心。（演示）")),
        ("service_user", "液相色谱-质谱联用仪", 6, 14, 1.5, "invoiced", (4, 4, 5, "结果符合预期，开票及时。（演示）")),
        ("campus_user", "核磁共振波谱仪", 4, 9, 1, "pending", None))


def _through_the_flow(session, actor, customers, showcase, calendar, previous, settings) -> int:
    """Bookings → uses → charges → invoices → payments → evaluations, each step by its service, so
    the demo's pages, statements and reports show what the flow itself produces. A step the rules
    refuse (a slot the bulk history already took, on a day the demo is seeded) leaves that one out."""
    days = _working_days(calendar, previous, -1, 12)
    done = 0
    for username, name, back, hour, hours, reach, scores in FLOW:
        user, instrument, day = customers[username], showcase[name], days[back]
        start = _at(day, hour)
        end = start + timedelta(hours=hours)
        try:
            with session.begin_nested():
                booking = bookings.submit(session, user, instrument.id, "self_operated", _at(days[back + 2], 10), settings,
                                          start=start, end=end, purpose="课题组测试（演示）", calendar=calendar)
                bookings.schedule(session, actor, booking, _at(days[back + 1], 9))
                charge = usage.register(session, actor, end + timedelta(minutes=10), settings, booking=booking,
                                        start=start, end=end, samples=3).charge
                if charge is not None and reach != "pending":
                    settlement.confirm(session, actor, charge, end + timedelta(hours=1))
                    settlement.invoice(session, actor, charge, _at(days[back - 1], 10), f"DEMO-{booking.id:06d}",
                                       days[back - 1])
                    if reach == "settled":
                        settlement.settle(session, actor, charge, _at(days[back - 2], 10), days[back - 2], "bank_transfer")
                if scores is not None:
                    attitude, timeliness, quality, comment = scores
                    evaluations.evaluate(session, user, booking, end + timedelta(days=1), 30, attitude=attitude,
                                         timeliness=timeliness, quality=quality, comment=comment)
            done += 1
        except (PolicyDenied, RuleViolation):
            continue
    return done
