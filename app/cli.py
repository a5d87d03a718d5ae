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
