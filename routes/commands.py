"""Command-line entry points, the CLI's routes: `flask create-admin` (the first
administrator, with a password typed at the prompt) and `flask seed` (demo content for a
fresh database). Each parses its options and calls one service."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from services import auth_signup, seed
from utils.errors import APIError


@click.command("create-admin")
@click.option("--username", required=True)
@click.option("--email", required=True)
@click.password_option(help="Asked for when omitted (never put it on the command line).")
@with_appcontext
def create_admin_command(username: str, email: str, password: str) -> None:
    """Create a verified administrator account."""
    try:
        user = auth_signup.register(username, email, password, role="admin",
                                     email_verified=True)
    except APIError as exc:
        problems = "; ".join(f"{field}: {' '.join(messages)}"
                             for field, messages in (exc.details or {}).items())
        raise click.ClickException(f"{exc.message} {problems}".strip()) from None
    click.echo(f"Administrator {user['username']} created (id {user['_id']}).")


@click.command("seed")
@with_appcontext
def seed_command() -> None:
    """Fill an empty database with demo content (does nothing if topics exist)."""
    counts = seed.seed()
    if not any(counts.values()):
        click.echo("The database already has topics; nothing seeded.")
        return
    click.echo(", ".join(f"{count} {name}" for name, count in counts.items()) + " created.")
    click.echo(f"Log in as ada (admin), grace, linus or margaret with the password "
               f"{current_app.config['SEED_PASSWORD']!r}.")


def init_app(app: Flask) -> None:
    app.cli.add_command(create_admin_command)
    app.cli.add_command(seed_command)
