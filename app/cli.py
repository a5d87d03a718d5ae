"""Command-line interface (SPEC §5): `flask --app app seed-demo | sync-roles`."""
import click
from flask import current_app
from flask_babel import gettext


def register_cli(app):
    @app.cli.command("sync-roles")
    def sync_roles_command():
        """Create or update every role to exactly the permissions declared in code."""
        from .security.roles import sync_roles

        counts = sync_roles()
        for role, n in counts.items():
            click.echo(f"{role}: {n}")

    @app.cli.command("seed-demo")
    @click.option("--instruments", default=420, show_default=True, help="How many instruments to generate.")
    def seed_demo_command(instruments):
        """Seed the fictitious demo university (idempotent)."""
        from .seed.demo import seed_demo

        created = seed_demo(instruments=instruments)
        click.echo(gettext("Demo data ready: %(summary)s", summary=created))

    register_report_cli(app)


REPORTS = ("fees",)  # the reports issue adds annex1 annex2 annex3 annual provincial subsidy assessment


def register_report_cli(app):
    @app.cli.command("report")
    @click.argument("name")
    @click.option("--year", type=int, required=True, help="Report year (YYYY).")
    @click.option("--unit", "unit_code", default=None, help="Unit code: only this unit and the units below it.")
    @click.option("--output", type=click.Path(dir_okay=False, writable=True), required=True, help="The .xlsx file to write.")
    def report_command(name, year, unit_code, output):
        """Write a report as an Excel workbook (SPEC §5)."""
        from datetime import date

        import sqlalchemy as sa

        from .extensions import db
        from .models import Unit
        from .reports.excel import write_workbook
        from .reports.fees import fee_schedule

        if name not in REPORTS:
            raise click.UsageError(gettext("Unknown report %(name)s; available: %(names)s", name=name, names=", ".join(REPORTS)))
        unit_ids = None
        if unit_code:
            unit = db.session.execute(sa.select(Unit).where(Unit.code == unit_code)).scalar_one_or_none()
            if unit is None:
                raise click.UsageError(gettext("Unknown unit code %(code)s", code=unit_code))
            unit_ids = db.session.execute(sa.select(Unit.id).where(Unit.path.startswith(unit.path))).scalars().all()
        on = min(date.today(), date(year, 12, 31))
        with open(output, "wb") as handle:
            handle.write(write_workbook([fee_schedule(db.session, on, unit_ids=unit_ids)]))
        click.echo(gettext("Written: %(path)s", path=output))
