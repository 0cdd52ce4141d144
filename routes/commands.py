"""Command-line entry points, the CLI's routes: `flask create-admin` (the first
administrator, with a password typed at the prompt) and `flask seed` (demo content for a
fresh database), `flask jobs worker|failed` (the job queue's consumer and its
dead-letter list), `flask users verify NAME` (confirm an address without
the mail), `flask uploads sweep` (remove uploads never attached) and `flask docs dump
DIR` (the OpenAPI and AsyncAPI documents as files, for client generators, without a
running server). Each parses its options and calls one service."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from routes import asyncapi
from services.accounts import auth_signup
from services.admin import seed
from services.discovery import search_service
from services.media import attachments
from utils import jobs
from utils.errors import APIError
from utils.extensions import api


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
@click.option("--clear", is_flag=True,
              help="Empty the development database instead (every collection; asks first).")
@click.option("--yes", is_flag=True, help="With --clear: do not ask for confirmation.")
@with_appcontext
def seed_command(clear: bool, yes: bool) -> None:
    """Fill an empty database with demo content (does nothing if topics exist)."""
    if clear:
        _clear_database(yes)
        return
    counts = seed.seed()
    if not any(counts.values()):
        click.echo("The database already has topics; nothing seeded.")
        return
    click.echo(", ".join(f"{count} {name}" for name, count in counts.items()) + " created.")
    click.echo(f"Log in as ada (admin), grace, linus or margaret with the password "
               f"{current_app.config['SEED_PASSWORD']!r}.")


def _clear_database(yes: bool) -> None:
    environment = current_app.config["ENV_NAME"]
    if environment not in seed.CLEARABLE:
        raise click.ClickException(f"Refusing to empty the database of the {environment} "
                                   "configuration (FLASK_ENV=development only).")
    if not yes:
        click.confirm(f"Delete every user, topic, post and message in the {environment} "
                      f"database {current_app.config['MONGO_DB_NAME']!r}?", abort=True)
    try:
        counts = seed.clear()
    except APIError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Deleted {sum(counts.values())} documents. Run `flask seed` to seed again.")


@click.group("users")
def users_group() -> None:
    """Accounts."""


@users_group.command("verify")
@click.argument("username")
@with_appcontext
def users_verify_command(username: str) -> None:
    """Mark USERNAME's email address verified (development: no need to read the mail)."""
    user = auth_signup.mark_verified(username)
    if user is None:
        raise click.ClickException(f"No account named {username}.")
    click.echo(f"{user['username']} <{user['email']}>: email verified.")


@click.group("jobs")
def jobs_group() -> None:
    """The job queue (Huey): run a consumer, see failed jobs."""


@jobs_group.command("worker")
@with_appcontext
def jobs_worker_command() -> None:
    """Run a consumer of the job queues (default and best-effort, each with workers of
    its own): SIGTERM stops it once running jobs finished, SIGINT at once."""
    app = current_app._get_current_object()
    depth = jobs.queue_depth(app)
    click.echo(f"Job consumer: {app.config['JOBS_WORKERS']} workers, "
               f"{app.config['JOBS_BEST_EFFORT_WORKERS']} best-effort workers, "
               f"{depth['pending']} queued, {depth['scheduled']} scheduled.")
    jobs.create_consumer(app, on_ready=lambda: click.echo("Job consumer ready.")).run()


@jobs_group.command("health")
@with_appcontext
def jobs_health_command() -> None:
    """Exit 0 if the job queue's storage answers (the worker container's health check)."""
    try:
        depth = jobs.health()
    except Exception as exc:  # whatever the storage raises, the check fails with it
        raise click.ClickException(f"job queue unreachable: {exc}") from None
    click.echo(f"ok: {depth['pending']} queued, {depth['scheduled']} scheduled")


@jobs_group.command("failed")
@click.option("--forget", "forget", metavar="JOB_ID", multiple=True,
              help="Remove this job from the list (repeatable).")
@with_appcontext
def jobs_failed_command(forget: tuple[str, ...]) -> None:
    """List the dead-letter jobs: those whose last attempt failed, oldest first."""
    for job_id in forget:
        if not jobs.forget_failed(job_id):
            raise click.ClickException(f"No failed job {job_id}.")
        click.echo(f"Forgot {job_id}.")
    if forget:
        return
    failed = jobs.failed_jobs()
    for entry in failed:
        click.echo(f"{entry['failed_at']}  {entry['id']}  {entry['name']}  "
                   f"attempts={entry['attempts']}  args={entry['args']}")
        click.echo(f"    {entry['error'].splitlines()[-1] if entry['error'] else ''}")
    click.echo(f"{len(failed)} failed job(s).")


@click.group("uploads")
def uploads_group() -> None:
    """Uploaded files."""


@uploads_group.command("sweep")
@with_appcontext
def uploads_sweep_command() -> None:
    """Remove uploads never attached within UPLOAD_UNATTACHED_SECONDS, and the files of
    deleted messages, posts and comments (the hourly job does the same)."""
    click.echo(f"Removed {attachments.sweep()} uploads.")


@click.group("docs")
def docs_group() -> None:
    """The API's machine-readable documents."""


@docs_group.command("dump")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--host", default="localhost:5000", show_default=True,
              help="The Socket.IO server's host:port named in the AsyncAPI document.")
@with_appcontext
def docs_dump_command(directory: Path, host: str) -> None:
    """Write DIRECTORY/openapi.json and DIRECTORY/asyncapi.json, the documents served at
    /api/openapi.json and /api/asyncapi.json (clients/typescript: npm run generate -- --dir)."""
    config = current_app.config
    documents = {"openapi.json": api.spec.to_dict(),
                 "asyncapi.json": {**asyncapi.build(config["API_TITLE"], config["API_VERSION"]),
                                   "servers": asyncapi.servers(host)}}
    directory.mkdir(parents=True, exist_ok=True)
    for name, document in documents.items():
        (directory / name).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
        click.echo(f"wrote {directory / name}")


@click.command("reindex-messages")
@with_appcontext
def reindex_messages_command() -> None:
    """Give message search terms to the messages stored before message search existed."""
    click.echo(f"{search_service.reindex_messages()} message(s) indexed.")


def init_app(app: Flask) -> None:
    app.cli.add_command(reindex_messages_command)
    app.cli.add_command(docs_group)
    app.cli.add_command(uploads_group)
    app.cli.add_command(jobs_group)
    app.cli.add_command(users_group)
    app.cli.add_command(create_admin_command)
    app.cli.add_command(seed_command)
