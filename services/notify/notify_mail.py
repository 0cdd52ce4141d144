"""Mail for notifications not seen in time, and the one-click unsubscribe links of every
notification mail (docs/NOTIFICATIONS.md "Mail").

A notification whose email channel was allowed when it was made (`email: true`) is
pending mail (`mail_pending: true`) after each change: its creation or a coalesced event
(models/notification.py `add`). The periodic job `mail_sweep` (every minute) mails each
pending notification that is still unread and unchanged for NOTIFY_EMAIL_DELAY_SECONDS,
if the user (active, verified address) still allows email for its kind. Sending is
claimed first: one conditional update clears `mail_pending` and sets `emailed_at` only
while the notification is unread, pending and has the `updated_at` the job read, so with
any number of consumers (or a sweep run twice) one mail goes out per change, and a
notification read before its delay is never mailed. A coalesced notification that
re-surfaces after its mail is pending again: mailed again only if updated after its
last mail, and still unseen a full delay later.

Quiet hours (services/notify/quiet_hours.py): a mail due while the user's quiet hours
last is held (`mail_held_until`, the end of the window) and decided again by the first
sweep after that, still only if unread; moderation notices and missed calls never wait.
"""
from __future__ import annotations

import datetime
from typing import Any
from urllib.parse import urlencode

from bson import ObjectId
from flask import current_app

from models.notification import Notification
from models.user import User
from services.notify import notify_prefs, quiet_hours
from services.platform import email_service, tokens
from services.platform.shapes.notifications import summary
from utils import clock, jobs
from utils.errors import BadRequest

UNSUBSCRIBE = "unsubscribe"
DIGEST = "digest"
SWEEP_BATCH = 200
SWEEP_MAX_BATCHES = 50
INVALID_LINK = "This unsubscribe link is not valid."


def mailable(user: dict[str, Any] | None) -> bool:
    """Only active accounts with a verified address get notification mail."""
    return bool(user and not user.get("deleted") and user.get("email_verified")
                and user.get("email"))


@jobs.periodic(jobs.crontab(minute="*"))
def mail_sweep() -> int:
    """Mail every notification whose delay passed unseen; the number of mails queued."""
    delay = datetime.timedelta(seconds=current_app.config["NOTIFY_EMAIL_DELAY_SECONDS"])
    sent = 0
    for _batch in range(SWEEP_MAX_BATCHES):
        due = Notification().mail_due(clock.now() - delay, SWEEP_BATCH)
        sent += sum(mail_one(note) for note in due)
        if len(due) < SWEEP_BATCH:
            break
    return sent


def mail_one(note: dict[str, Any]) -> bool:
    """Claim, then mail, one due notification (False: not wanted, or claimed elsewhere)."""
    user = User().find_by_id(note["user_id"])
    if not mailable(user) or not notify_prefs.allows(user, note["kind"], "email"):
        # Not wanted any more: nothing to mail for this change.
        Notification().claim_mail(note)
        return False
    until = quiet_hours.held_until(user, note["kind"], clock.now())
    if until is not None:
        Notification().hold_mail(note, until)  # mailed when the quiet hours end
        return False
    claimed = Notification().claim_mail(note)
    if claimed is None:
        return False  # read, changed or mailed by another consumer meanwhile
    text = summary(claimed)
    send(user, "notification", note["kind"], subject=text, summary=text,
         link=f"{_frontend()}/notifications")
    return True


def _frontend() -> str:
    return current_app.config["FRONTEND_URL"].rstrip("/")


def send(user: dict[str, Any], template: str, kind: str, subject: str,
         **context: Any) -> None:
    """Compose `template` for `user` with the unsubscribe links of `kind` (a notification
    kind, or "digest") and queue it on the mail job."""
    lifetime = datetime.timedelta(days=current_app.config["UNSUBSCRIBE_LINK_DAYS"])
    token = tokens.sign(UNSUBSCRIBE, {
        "u": str(user["_id"]), "k": kind, "n": notify_prefs.mail_nonce(user, kind),
        "exp": int((clock.now() + lifetime).timestamp())})
    query = urlencode({"token": token})
    api = current_app.config["API_PUBLIC_URL"].rstrip("/")
    one_click = f"{api}/api/notifications/unsubscribe?{query}"
    targets = [f"<{one_click}>"]
    address = current_app.config["MAIL_UNSUBSCRIBE_ADDRESS"]
    if address:
        targets.append(f"<mailto:{address}?{urlencode({'subject': 'unsubscribe ' + token})}>")
    headers = {"List-Unsubscribe": ", ".join(targets),
               "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    message = email_service.compose(
        user["email"], template, subject=subject, headers=headers, username=user["username"],
        unsubscribe_link=f"{_frontend()}/unsubscribe?{query}", kind=kind, **context)
    email_service.deliver.enqueue(message.as_bytes())


# Unsubscribe links (POST /api/notifications/unsubscribe?token=..., no login)

def _link_target(token: str) -> tuple[dict[str, Any], str]:
    """The user and kind of a link that is genuine, unexpired, and made since the user
    last turned that mail back on (its nonce is the kind's current one)."""
    payload = tokens.unsign(UNSUBSCRIBE, token)
    if payload is None or not ObjectId.is_valid(str(payload.get("u"))) \
            or payload.get("k") not in (*notify_prefs.KINDS, DIGEST) \
            or not isinstance(payload.get("exp"), int) \
            or payload["exp"] <= clock.now().timestamp():
        raise BadRequest(INVALID_LINK)
    user = User().find_active(payload["u"])
    if user is None or payload.get("n") != notify_prefs.mail_nonce(user, payload["k"]):
        raise BadRequest(INVALID_LINK)
    return user, payload["k"]


def _view(user: dict[str, Any], kind: str) -> dict[str, Any]:
    if kind == DIGEST:
        return {"kind": kind, "subscribed": notify_prefs.digest(user) != "off"}
    return {"kind": kind, "subscribed": notify_prefs.allows(user, kind, "email")}


def describe_link(token: str) -> dict[str, Any]:
    """What the link would turn off and whether it is still on (a browser's GET)."""
    return _view(*_link_target(token))


def unsubscribe(token: str) -> dict[str, Any]:
    """Turn off the mails the link names: the email channel of its kind, or the digest.
    Idempotent; a forged or altered token is a 400."""
    user, kind = _link_target(token)
    if kind == DIGEST:
        updated = notify_prefs.update_settings(user, digest_every="off")
    else:
        updated = notify_prefs.update_settings(user, {kind: {"email": False}})
    return {"kind": kind, "subscribed": updated["digest"] != "off" if kind == DIGEST
            else updated["kinds"][kind]["email"]}
