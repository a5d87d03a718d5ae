"""Seed NEMO-CE's database for the benchmark: one tool, qualified users, a booked week.

Run with the NEMO venv's python from the repository root:

    PYTHONPATH=. DJANGO_SETTINGS_MODULE=bench.nemo_site.settings \
        bench/.nemo-venv/bin/python -m bench.nemo_site.seed --reset --users 20

Prints one JSON line: {"tool_id": ..., "usernames": [...], "staff": ..., "week_start": ...}.
"""

import argparse
import json
import math
import os
import sys
from datetime import date, datetime, time, timedelta, timezone

TOOL_NAME = "核磁共振波谱仪"
STAFF_USERNAME = "bench_staff"
SLOT = timedelta(minutes=30)
DAY_START = time(8, 0)
WEEKDAYS = 5


def next_monday(today=None):
    today = today or date.today()
    return today + timedelta(days=7 - today.weekday())


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--week-bookings", type=int, default=80)
    parser.add_argument("--week-start", type=date.fromisoformat, default=next_monday())
    parser.add_argument("--reset", action="store_true", help="drop and recreate the public schema first")
    return parser.parse_args(argv)


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.nemo_site.settings")
    import django

    django.setup()


def reset_schema():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA public CASCADE")
        cursor.execute("CREATE SCHEMA public")


def migrate():
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def ensure_staff():
    from NEMO.models import User

    staff, _ = User.objects.update_or_create(
        username=STAFF_USERNAME,
        defaults=dict(
            first_name="Bench",
            last_name="Staff",
            email="bench_staff@example.org",
            is_staff=True,
            is_active=True,
            training_required=False,
        ),
    )
    return staff


def ensure_tool(owner):
    from NEMO.models import Tool

    tool, _ = Tool.objects.update_or_create(
        name=TOOL_NAME,
        defaults=dict(
            visible=True,
            _operational=True,
            _category="Spectroscopy",
            _location="Bench lab",
            _primary_owner=owner,
        ),
    )
    return tool


def ensure_user(index, tool):
    """A user who passes NEMO's reservation policy: qualified, active project+account, no tutorial."""
    from NEMO.models import Account, Project, Qualification, User

    username = f"bench_user_{index}"
    user, _ = User.objects.update_or_create(
        username=username,
        defaults=dict(
            first_name="Bench",
            last_name=f"User {index}",
            email=f"{username}@example.org",
            is_active=True,
            training_required=False,
            access_expiration=None,
        ),
    )
    account, _ = Account.objects.update_or_create(name=f"bench_account_{index}", defaults=dict(active=True))
    project, _ = Project.objects.update_or_create(
        name=f"bench_project_{index}",
        defaults=dict(account=account, application_identifier=f"BENCH-{index}", active=True),
    )
    # Exactly one active project, so NEMO does not answer with a project-choice dialog.
    user.projects.set([project])
    Qualification.objects.get_or_create(user=user, tool=tool)
    return user, project


def week_slots(week_start, count):
    """`count` back-to-back 30-minute slots from 08:00 UTC, spread evenly over Monday-Friday."""
    per_day = max(1, math.ceil(count / WEEKDAYS))
    if per_day * SLOT > timedelta(hours=16):
        raise SystemExit(f"--week-bookings {count} does not fit in five 08:00-24:00 days")
    for i in range(count):
        day = week_start + timedelta(days=i // per_day)
        start = datetime.combine(day, DAY_START, tzinfo=timezone.utc) + (i % per_day) * SLOT
        yield start, start + SLOT


def book_week(tool, members, week_start, count):
    """Replace all of the tool's reservations with `count` non-overlapping ones in that week.

    Clearing the whole tool (not just the week) drops what earlier runs created elsewhere,
    so a re-seed without --reset still starts from the same state.
    """
    from NEMO.models import Reservation

    Reservation.objects.filter(tool=tool).delete()
    reservations = [
        Reservation(
            user=user,
            creator=user,
            tool=tool,
            project=project,
            start=start,
            end=end,
            short_notice=False,
        )
        for (start, end), (user, project) in zip(
            week_slots(week_start, count), (members[i % len(members)] for i in range(count))
        )
    ]
    # bulk_create skips the notification e-mails a normal save_and_notify() would send.
    Reservation.objects.bulk_create(reservations)
    return len(reservations)


def seed(users, week_bookings, week_start, reset=False):
    setup_django()
    if reset:
        reset_schema()
    migrate()
    staff = ensure_staff()
    tool = ensure_tool(staff)
    members = [ensure_user(i, tool) for i in range(1, users + 1)]
    booked = book_week(tool, members, week_start, week_bookings)
    return {
        "tool_id": tool.id,
        "usernames": [user.username for user, _ in members],
        "staff": staff.username,
        "week_start": week_start.isoformat(),
        "week_bookings": booked,
    }


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.week_start.weekday() != 0:
        raise SystemExit(f"--week-start {args.week_start} is not a Monday")
    result = seed(args.users, args.week_bookings, args.week_start, reset=args.reset)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
