"""Command-line interface (SPEC §5): `flask --app app seed-demo | sync-roles | report | ledger import`."""
import json
import os
import sys

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
    register_ledger_cli(app)


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


def register_ledger_cli(app):
    from . import clock
    from .models import LedgerMapping
    from .reports.ledger import dry_run_workbook
    from .services.errors import RuleViolation
    from .services.upkeep import ledger, ledger_import

    group = click.Group("ledger", help="The finance office's asset ledger: import it, reconcile the platform with it.")
    app.cli.add_command(group)

    @group.command("import")
    @click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
    @click.option("--mapping", "mapping_name", default=None, help="A saved column mapping, by name.")
    @click.option("--sheet", default=None, help="The workbook's sheet (default: the first).")
    @click.option("--dry-run", is_flag=True, help="Tell what the import would do; write nothing.")
    @click.option("--report", type=click.Path(dir_okay=False, writable=True), default=None,
                  help="Write the dry run's rows and findings to this .xlsx file.")
    def import_command(path, mapping_name, sheet, dry_run, report):
        """Import the asset ledger (.xlsx, .xls or .csv): one JSON line; exit 2 when the file is refused (SPEC §5)."""
        mapping = None
        if mapping_name is not None:
            mapping = db.session.execute(db.select(LedgerMapping).filter_by(name=mapping_name)).scalar()
            if mapping is None:
                raise click.UsageError(gettext("No saved column mapping is named %(name)s.", name=mapping_name))
        with open(path, "rb") as handle:
            data = handle.read()
        try:
            plan = ledger_import.plan(db.session, data, os.path.basename(path), mapping=mapping, sheet=sheet)
        except ledger.NotALedger as refusal:
            click.echo(json.dumps(_refused_whole(str(refusal)), ensure_ascii=False))
            sys.exit(2)
        if report:
            with open(report, "wb") as handle:
                handle.write(dry_run_workbook(plan))
        summary = plan.summary()
        if not dry_run:
            try:
                ledger_import.commit(db.session, plan, None, clock.now())
                db.session.commit()
            except RuleViolation as refusal:
                db.session.rollback()
                if not plan.refused:
                    summary["refused"] = [{"row": 0, "column": "", "message": message} for message in refusal.errors.values()]
                click.echo(json.dumps(summary, ensure_ascii=False, default=str))
                sys.exit(2)
        click.echo(json.dumps(summary, ensure_ascii=False, default=str))


def _refused_whole(message) -> dict:
    return {"rows": 0, "created": 0, "updated": 0, "unchanged": 0, "refused": [{"row": 0, "column": "", "message": message}],
            "candidates": 0, "missing_from_ledger": 0, "mismatches": 0, "removed": 0}
