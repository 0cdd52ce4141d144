"""`flask create-admin`: the first administrator, with a password typed at the prompt."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from services import auth_service
from utils.errors import APIError


@click.command("create-admin")
@click.option("--username", required=True)
@click.option("--email", required=True)
@click.password_option(help="Asked for when omitted (never put it on the command line).")
@with_appcontext
def create_admin_command(username: str, email: str, password: str) -> None:
    """Create a verified administrator account."""
    try:
        user = auth_service.register(username, email, password, role="admin",
                                     email_verified=True)
    except APIError as exc:
        problems = "; ".join(f"{field}: {' '.join(messages)}"
                             for field, messages in (exc.details or {}).items())
        raise click.ClickException(f"{exc.message} {problems}".strip()) from None
    click.echo(f"Administrator {user['username']} created (id {user['_id']}).")


def init_app(app: Flask) -> None:
    app.cli.add_command(create_admin_command)
