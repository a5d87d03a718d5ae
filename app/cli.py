"""Command-line interface (SPEC §5): `flask --app app seed-demo | sync-roles`."""
import click
from flask_babel import gettext

from .extensions import db
from .reports import registry
from .security.roles import sync_roles
from .seed.demo import seed_demo


def register_cli(app):
    @app.cli.command("sync-roles")
    def sync_roles_command():
        """Create or update every role to exactly the permissions declared in code."""
        counts = sync_roles()
        for role, n in counts.items():
            click.echo(f"{role}: {n}")

    @app.cli.command("seed-demo")
    @click.option("--instruments", default=420, show_default=True, help="How many instruments to generate.")
    def seed_demo_command(instruments):
        """Seed the fictitious demo university (idempotent)."""
        created = seed_demo(instruments=instruments)
        click.echo(gettext("Demo data ready: %(summary)s", summary=created))

    register_report_cli(app)


def register_report_cli(app):
    @app.cli.command("report")
    @click.argument("name")
    @click.option("--year", type=int, required=True, help="Report year (YYYY).")
    @click.option("--unit", "unit_code", default=None, help="Unit code: only this unit and the units below it.")
    @click.option("--output", type=click.Path(dir_okay=False, writable=True), required=True, help="The .xlsx file to write.")
    def report_command(name, year, unit_code, output):
        """Write a report as an Excel workbook (SPEC §5): annex1 annex2 annex3 annual provincial subsidy assessment fees."""
        names = ", ".join(r.name for r in registry.available())
        try:
            rep = registry.get(name)
        except registry.UnknownReport:
            raise click.UsageError(gettext("Unknown report %(name)s; available: %(names)s", name=name, names=names)) from None
        if not 2000 <= year <= 2100:
            raise click.UsageError(gettext("The year must be between 2000 and 2100."))
        try:
            ctx = registry.context_for_unit_code(db.session, year, unit_code)
        except registry.UnknownUnit:
            raise click.UsageError(gettext("Unknown unit code %(code)s", code=unit_code)) from None
        content = registry.render(rep, ctx)
        with open(output, "wb") as handle:
            handle.write(content)
        click.echo(gettext("Written: %(path)s", path=output))
