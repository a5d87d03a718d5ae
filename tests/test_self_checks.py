"""The monthly self-check and the quarterly review (issue 23, item 4): a lab goes through each networked record —
an item is corrected exactly when the change log shows its fields edited since the check opened — and signs the
month off only when every record is gone through; the unit above approves or returns it with remarks, then signs
its quarter off only when nothing awaits a decision; due dates count working days across 国庆; a returned check is
due again; only the lab side checks and only the unit above reviews."""
import re
from datetime import date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from app import clock
from app.extensions import db
from app.models import ChangeLog, CheckRecord, FeeStandard, FeeStandardEvent, Instrument, Message, PlatformUser, Unit
from app.models.user import COLLEGE_ADMIN, LAB_ADMIN, SCHOOL_ADMIN
from app.services.actors import Actor
from app.services.errors import PolicyDenied, RuleViolation
from app.services.upkeep import deadlines, self_checks
from app.services.upkeep.self_checks import Terms
from app.services.workdays import WorkCalendar

from . import factories as f

TERMS = Terms(since="2026-08", check_days=5, review_days=10)
OCTOBER_9 = datetime(2026, 10, 9, 2, 0, tzinfo=clock.UTC)  # Friday after 国庆, 10:00 Beijing
SEPTEMBER_30_EVENING = datetime(2026, 9, 30, 17, 0, tzinfo=clock.UTC)  # already 1 October in Beijing


@pytest.fixture
def tree(app, uni):
    """A college of its own with two labs, the first holding two networked records and one not networked, the
    second none; removed afterwards with its checks."""
    with app.app_context():
        school = db.session.get(Unit, uni.school)
        college = f.unit("自查学院", "college", school)
        lab = f.unit("自查实验室", "lab", college)
        quiet = f.unit("无入网仪器实验室", "lab", college)
        records = [f.instrument(lab, name=f"自查仪器{i}", networked=True) for i in (1, 2)]
        f.instrument(lab, name="未入网仪器", networked=False)
        db.session.commit()
        ids = dict(college=college.id, lab=lab.id, quiet=quiet.id, records=[r.id for r in records],
                   lab_path=lab.path, college_path=college.path)
        db.session.remove()
    yield ids
    with app.app_context():
        units = [ids["lab"], ids["quiet"], ids["college"]]
        records = sa.select(Instrument.id).where(Instrument.unit_id.in_(units))
        # SQLite gives a deleted row's id to the next one: the history of these records must not pass on
        db.session.execute(sa.delete(ChangeLog).where(ChangeLog.table_name == "instrument", ChangeLog.record_id.in_(records)))
        db.session.execute(sa.delete(CheckRecord).where(CheckRecord.unit_id.in_(units)))
        db.session.execute(sa.delete(Message).where(Message.kind == "check_returned"))
        db.session.execute(sa.delete(Instrument).where(Instrument.unit_id.in_(units)))
        for pk in units:
            db.session.execute(sa.delete(Unit).where(Unit.id == pk))
        db.session.commit()
        db.session.remove()


def _user_id(session, username):
    return session.execute(sa.select(PlatformUser.id).filter_by(username=username)).scalar_one()


def _lab(session, tree):
    return Actor(_user_id(session, "lab_admin"), frozenset({LAB_ADMIN}), "lab", tree["lab_path"])


def _college(session, tree):
    return Actor(_user_id(session, "college_admin"), frozenset({COLLEGE_ADMIN}), "college", tree["college_path"])


def _period(label):
    return re.search(r"\d{4}-(\d{2}|Q\d)", label).group(0)


def _at(instant, action):
    with time_machine.travel(instant, tick=False):
        return action(clock.now())


def _open(session, tree, instant=OCTOBER_9, period="2026-09"):
    check = _at(instant, lambda now: self_checks.open_check(session, _lab(session, tree), tree["lab"], period, now,
                                                           TERMS.since))
    session.commit()
    return check


def _go_through(session, tree, check, instant=OCTOBER_9):
    for pk in tree["records"]:
        _at(instant, lambda now, pk=pk: self_checks.confirm(session, _lab(session, tree), check.id, pk, None, now))
    session.commit()


def _signed_september(session, tree):
    check = _open(session, tree)
    _go_through(session, tree, check)
    _at(OCTOBER_9, lambda now: self_checks.sign(session, _lab(session, tree), check.id, None, now))
    session.commit()
    return check


def test_an_item_is_corrected_exactly_when_its_fields_were_edited_since_the_check_opened(tree, session):
    first, second = tree["records"]
    with time_machine.travel(datetime(2026, 10, 8, 2, 0, tzinfo=clock.UTC), tick=False):  # before the check
        session.get(Instrument, first).technical_indicators = "分辨率 1 nm，加速电压 0.5–30 kV"
        session.commit()
    check = _open(session, tree)
    with time_machine.travel(datetime(2026, 10, 9, 3, 0, tzinfo=clock.UTC), tick=False):
        record = session.get(Instrument, first)
        record.location, record.contact_phone = "理科楼202室", "0731-88881234"
        session.info["actor_id"] = _lab(session, tree).user_id
        session.commit()
    assert session.execute(sa.select(ChangeLog.field).where(ChangeLog.record_id == first,
                                                            ChangeLog.field == "location")).first()
    item = _at(datetime(2026, 10, 9, 4, 0, tzinfo=clock.UTC),
               lambda now: self_checks.confirm(session, _lab(session, tree), check.id, first, " 已现场核对 ", now))
    assert (item.run_status, item.location, item.contact, item.fee_standard, item.indicators) == (
        "confirmed", "corrected", "corrected", "confirmed", "confirmed")
    assert item.note == "已现场核对"
    other = _at(datetime(2026, 10, 9, 4, 0, tzinfo=clock.UTC),
                lambda now: self_checks.confirm(session, _lab(session, tree), check.id, second, None, now))
    assert {getattr(other, name) for name in self_checks.CHECKLIST} == {"confirmed"}


def test_the_month_is_signed_off_only_when_every_networked_record_is_gone_through(tree, session):
    check = _open(session, tree, SEPTEMBER_30_EVENING)
    assert check.period == "2026-09" and check.state == "open"
    _at(SEPTEMBER_30_EVENING, lambda now: self_checks.confirm(session, _lab(session, tree), check.id,
                                                              tree["records"][0], None, now))
    with pytest.raises(RuleViolation) as refused:
        _at(SEPTEMBER_30_EVENING, lambda now: self_checks.sign(session, _lab(session, tree), check.id, None, now))
    assert re.findall(r"\d+", refused.value.errors["check"]) == ["1"]
    _at(SEPTEMBER_30_EVENING, lambda now: self_checks.confirm(session, _lab(session, tree), check.id,
                                                              tree["records"][1], None, now))
    _at(SEPTEMBER_30_EVENING, lambda now: self_checks.sign(session, _lab(session, tree), check.id, " 无问题 ", now))
    assert (check.state, check.checked_on, check.findings) == ("signed", date(2026, 10, 1), "无问题")


def test_a_record_not_networked_or_of_another_lab_is_not_part_of_the_check(tree, session, uni):
    check = _open(session, tree)
    not_networked = session.execute(sa.select(Instrument.id).where(Instrument.unit_id == tree["lab"],
                                                                   Instrument.networked.is_(False))).scalar_one()
    foreign = f.instrument(session.get(Unit, uni.l12), name="他室仪器", networked=True)
    for pk in (not_networked, foreign.id):
        with pytest.raises(RuleViolation):
            _at(OCTOBER_9, lambda now, pk=pk: self_checks.confirm(session, _lab(session, tree), check.id, pk, None, now))
    session.rollback()


@pytest.mark.parametrize("period", ["2026-07", "2026-11", "2026-13", "2026-1", "20261-0", "abcdefg", "2026-0\u0669",
                                    "2026-00", None])
def test_only_a_month_from_the_first_to_this_one_is_opened(tree, session, period):
    with pytest.raises(RuleViolation):
        _open(session, tree, period=period)


def test_only_the_lab_side_checks_and_only_the_unit_above_reviews(tree, session, uni):
    other_lab = Actor(_user_id(session, "lab_admin"), frozenset({LAB_ADMIN}), "lab",
                      session.get(Unit, uni.l11).path)
    with pytest.raises(PolicyDenied):
        _at(OCTOBER_9, lambda now: self_checks.open_check(session, other_lab, tree["lab"], "2026-09", now, TERMS.since))
    check = _signed_september(session, tree)
    other_college = Actor(_user_id(session, "college_admin"), frozenset({COLLEGE_ADMIN}), "college",
                          session.get(Unit, uni.c1).path)
    for actor in (_lab(session, tree), other_college):
        with pytest.raises(PolicyDenied):
            _at(OCTOBER_9, lambda now, actor=actor: self_checks.decide(session, actor, check.id, True, None, now))
    school = Actor(_user_id(session, "school_admin"), frozenset({SCHOOL_ADMIN}), "school",
                   session.get(Unit, uni.school).path)
    _at(OCTOBER_9, lambda now: self_checks.decide(session, school, check.id, True, None, now))
    assert check.state == "approved"


def test_a_returned_check_needs_remarks_goes_back_to_the_lab_and_is_due_again(tree, session):
    check = _signed_september(session, tree)
    with pytest.raises(RuleViolation):  # signed: the lab cannot touch it
        _at(OCTOBER_9, lambda now: self_checks.confirm(session, _lab(session, tree), check.id, tree["records"][0], None, now))
    with pytest.raises(RuleViolation) as refused:
        _at(OCTOBER_9, lambda now: self_checks.decide(session, _college(session, tree), check.id, False, "  ", now))
    assert "remarks" in refused.value.errors
    _at(OCTOBER_9, lambda now: self_checks.decide(session, _college(session, tree), check.id, False, "位置未核对", now))
    session.commit()
    assert (check.state, check.remarks) == ("returned", "位置未核对")
    due = [d.due for d in deadlines.self_checks_due(session, [tree["lab"]], WorkCalendar(), TERMS, date(2026, 10, 9))
           if _period(d.label) == "2026-09"]
    assert due == [date(2026, 10, 15)]  # five working days after Friday the 9th: 10 (调休 Saturday), 12–15
    with pytest.raises(RuleViolation):  # no second decision on a returned check
        _at(OCTOBER_9, lambda now: self_checks.decide(session, _college(session, tree), check.id, True, None, now))
    _at(OCTOBER_9, lambda now: self_checks.confirm(session, _lab(session, tree), check.id, tree["records"][0], None, now))
    _at(OCTOBER_9, lambda now: self_checks.sign(session, _lab(session, tree), check.id, None, now))
    assert check.state == "signed"


def test_due_dates_count_working_days_after_the_month_and_the_quarter_across_national_day(tree, session):
    today = date(2026, 10, 9)
    calendar = WorkCalendar()
    checks = {d.label: d for d in deadlines.self_checks_due(session, None, calendar, TERMS, today)
              if d.record_id == tree["lab"]}
    by_month = {_period(d.label): d.due for d in checks.values()}
    assert by_month == {"2026-08": date(2026, 9, 7), "2026-09": date(2026, 10, 13), "2026-10": date(2026, 11, 6)}
    assert all(d.unit_id == tree["lab"] for d in checks.values())
    assert not [d for d in deadlines.self_checks_due(session, None, calendar, TERMS, today) if d.record_id == tree["quiet"]]
    reviews = {_period(d.label): d.due for d in deadlines.reviews_due(session, None, calendar, TERMS, today)
               if d.record_id == tree["college"]}
    # Q3 ends Wednesday 30 Sep: 8, 9, 10 (调休 Saturday), 12–16, 19, 20 October
    assert reviews["2026-Q3"] == date(2026, 10, 20) and list(reviews) == ["2026-Q3", "2026-Q4"]
    assert deadlines.reviews_due(session, [tree["lab"]], calendar, TERMS, today) == []  # a lab reviews nothing


def test_a_signed_check_and_a_signed_review_are_no_longer_due(tree, session):
    today = date(2026, 10, 9)
    check = _signed_september(session, tree)
    months = [_period(d.label) for d in deadlines.self_checks_due(session, [tree["lab"]], WorkCalendar(), TERMS, today)]
    assert months == ["2026-08", "2026-10"]
    with pytest.raises(RuleViolation) as refused:  # September's check awaits the college's decision
        _at(OCTOBER_9, lambda now: self_checks.sign_review(session, _college(session, tree), tree["college"], "2026-Q3",
                                                           None, now, TERMS.since))
    assert re.findall(r"\d+", refused.value.errors["check"]) == ["1"]
    with pytest.raises(PolicyDenied):
        _at(OCTOBER_9, lambda now: self_checks.sign_review(session, _lab(session, tree), tree["college"], "2026-Q3",
                                                           None, now, TERMS.since))
    _at(OCTOBER_9, lambda now: self_checks.decide(session, _college(session, tree), check.id, True, None, now))
    review = _at(OCTOBER_9, lambda now: self_checks.sign_review(session, _college(session, tree), tree["college"],
                                                                "2026-Q3", "八月未自查", now, TERMS.since))
    session.commit()
    assert review.state == "signed" and review.checked_on == today
    # approved 1 (September), returned 0, not done 1 (August; July is before the duty's first month)
    assert review.findings.splitlines()[1] == "八月未自查"
    assert re.findall(r"\d+", review.findings.splitlines()[0]) == ["1", "0", "1"]
    quarters = [_period(d.label) for d in deadlines.reviews_due(session, None, WorkCalendar(), TERMS, today)
                if d.record_id == tree["college"]]
    assert quarters == ["2026-Q4"]


def test_annex1_row5_says_what_the_years_checks_came_to(app, tree, session, tmp_path):
    from .report_files import rows_of, run_report, worksheets

    check = _open(session, tree)  # September's, opened on 9 October
    with time_machine.travel(datetime(2026, 10, 9, 3, 0, tzinfo=clock.UTC), tick=False):
        session.get(Instrument, tree["records"][0]).location = "理科楼303室"
        session.commit()
    _go_through(session, tree, check, datetime(2026, 10, 9, 4, 0, tzinfo=clock.UTC))
    _at(OCTOBER_9, lambda now: self_checks.sign(session, _lab(session, tree), check.id, None, now))
    session.commit()
    code = session.get(Unit, tree["college"]).code

    def row5():
        result, content = run_report(app, tmp_path, "annex1", "--year", "2026", "--unit", code)
        assert result.exit_code == 0, result.output
        return next(r for r in rows_of(next(iter(worksheets(content).values()))) if r[0] == 5)[4]

    with time_machine.travel(datetime(2026, 10, 9, 6, 0, tzinfo=clock.UTC), tick=False):
        # June to September ended (SELF_CHECKS_SINCE 2026-06), one lab: 4 due, 1 signed; Q2 and Q3 ended: 2 reviews
        assert row5().endswith("本年度应开展月度自查 4 次，已签认 1 次，完成率 25%；应开展季度复核 2 次，已签认 0 次。"
                               "自查中更正：安放地址 1 项。")


def test_a_decision_reads_the_check_as_committed_when_it_takes_its_lock(tree, session, elsewhere):
    check = _signed_september(session, tree)
    assert check.state == "signed"  # as this session last read it
    elsewhere(sa.update(CheckRecord).where(CheckRecord.id == check.id).values(state="approved"))  # another reviewer
    with pytest.raises(RuleViolation):
        _at(OCTOBER_9, lambda now: self_checks.decide(session, _college(session, tree), check.id, False, "再核", now))
    session.rollback()


def test_nobody_approves_a_check_they_signed_themselves(tree, session):
    college = _college(session, tree)
    check = _open(session, tree)
    for pk in tree["records"]:  # the college goes through the lab's records itself
        _at(OCTOBER_9, lambda now, pk=pk: self_checks.confirm(session, college, check.id, pk, None, now))
    _at(OCTOBER_9, lambda now: self_checks.sign(session, college, check.id, None, now))
    with pytest.raises(RuleViolation) as refused:
        _at(OCTOBER_9, lambda now: self_checks.decide(session, college, check.id, True, None, now))
    assert "check" in refused.value.errors and check.state == "signed"
    session.rollback()


def test_a_quarter_is_signed_off_only_once_it_has_ended_and_only_by_a_unit_above_checking_labs(tree, session, uni):
    with pytest.raises(RuleViolation):  # the fourth quarter has not ended on 9 October
        _at(OCTOBER_9, lambda now: self_checks.sign_review(session, _college(session, tree), tree["college"], "2026-Q4",
                                                           None, now, TERMS.since))
    school = Actor(_user_id(session, "school_admin"), frozenset({SCHOOL_ADMIN}), "school", session.get(Unit, uni.school).path)
    empty = f.unit("无实验室学院", "college", session.get(Unit, uni.school))
    with pytest.raises(RuleViolation) as refused:
        _at(OCTOBER_9, lambda now: self_checks.sign_review(session, school, empty.id, "2026-Q3", None, now, TERMS.since))
    assert "unit" in refused.value.errors
    with pytest.raises(PolicyDenied):  # a lab reviews nothing, even as the school
        _at(OCTOBER_9, lambda now: self_checks.sign_review(session, school, tree["lab"], "2026-Q3", None, now, TERMS.since))
    review = _at(OCTOBER_9, lambda now: self_checks.sign_review(session, school, tree["college"], "2026-Q3", None, now,
                                                                TERMS.since))  # the school, above the college, may
    assert review.state == "signed"
    session.rollback()


def test_a_check_signed_after_its_quarters_review_reopens_the_review(tree, session):
    _at(OCTOBER_9, lambda now: self_checks.sign_review(session, _college(session, tree), tree["college"], "2026-Q3",
                                                       None, now, TERMS.since))
    session.commit()
    assert [_period(d.label) for d in deadlines.reviews_due(session, [tree["college"]], WorkCalendar(), TERMS,
                                                            date(2026, 10, 9))] == ["2026-Q4"]
    _signed_september(session, tree)  # late: September's check after the review
    review = session.execute(sa.select(CheckRecord).where(CheckRecord.unit_id == tree["college"])).scalar_one()
    assert review.state == "open"
    assert [_period(d.label) for d in deadlines.reviews_due(session, [tree["college"]], WorkCalendar(), TERMS,
                                                            date(2026, 10, 9))] == ["2026-Q3", "2026-Q4"]


def test_a_fee_standard_published_during_the_check_is_corrected(tree, session):
    check = _open(session, tree)
    first = tree["records"][0]
    standard = f.fee_standard(session.get(Instrument, first), state="published", effective_from=date(2026, 10, 1))
    session.add(FeeStandardEvent(standard_id=standard.id, action="school_approve", from_state="school_review",
                                 to_state="published", at=datetime(2026, 10, 9, 3, 0, tzinfo=clock.UTC)))
    session.commit()
    item = _at(OCTOBER_9, lambda now: self_checks.confirm(session, _lab(session, tree), check.id, first, None, now))
    assert item.fee_standard == "corrected" and item.location == "confirmed"
    other = _at(OCTOBER_9, lambda now: self_checks.confirm(session, _lab(session, tree), check.id, tree["records"][1],
                                                           None, now))
    assert other.fee_standard == "confirmed"
    session.rollback()
    session.execute(sa.delete(FeeStandard).where(FeeStandard.instrument_id == first))
    session.commit()


@pytest.mark.parametrize("note", ["备注\x00", "\ud800"])
def test_text_a_database_cannot_store_is_refused(tree, session, note):
    check = _open(session, tree)
    with pytest.raises(RuleViolation) as refused:
        _at(OCTOBER_9, lambda now: self_checks.confirm(session, _lab(session, tree), check.id, tree["records"][0], note, now))
    assert "note" in refused.value.errors
    session.rollback()


def test_a_lab_first_networked_later_owes_from_that_month(tree, session):
    session.execute(sa.update(Instrument).where(Instrument.unit_id == tree["lab"]).values(networked_on=date(2026, 9, 15)))
    session.commit()
    months = [_period(d.label) for d in deadlines.self_checks_due(session, [tree["lab"]], WorkCalendar(), TERMS,
                                                                  date(2026, 10, 9))]
    assert months == ["2026-09", "2026-10"]  # not August


def test_a_check_returned_before_the_spring_festival_is_due_after_it(tree, session):
    """Returned on Thursday 12 February 2026: the 13th, the 调休 Saturday the 14th, then 春节 until the 23rd, then the
    24th, 25th and 26th — five working days."""
    session.add(CheckRecord(unit_id=tree["lab"], kind="monthly", period="2026-01", state="returned",
                            reviewed_at=datetime(2026, 2, 12, 8, 0, tzinfo=clock.UTC), remarks="请补充"))
    session.commit()
    due = {_period(d.label): d.due for d in deadlines.self_checks_due(
        session, [tree["lab"]], WorkCalendar(), Terms(since="2026-01"), date(2026, 2, 20))}
    assert due == {"2026-01": date(2026, 2, 26), "2026-02": date(2026, 3, 6)}  # February: after Saturday the 28th
