"""`flask seed`: demo users, topics, posts, comments and votes for a fresh database."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from services import seed


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
    app.cli.add_command(seed_command)
