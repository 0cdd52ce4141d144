"""What the app factory registers besides blueprints, one explicit list each: the jobs
every consumer runs, the hooks of the live rooms, the readers of Web Push and the items
that may hold a poll. (The models are listed in `models.registry`.) Importing a module
registers nothing: a job or a hook that is not here does not exist for the app, however
the process was started.
"""
from __future__ import annotations

from types import MappingProxyType

from services.accounts.auth_passwords import _mail_reset_link
from services.accounts.auth_signup import (
    _mail_registration_attempt,
    _resend_verification,
    _send_verification,
)
from services.calls.call_push import ring_push, ring_stopped_push
from services.calls.calls_service import drop_from_room_call
from services.chat.chat_polls import POLL_HOST as MESSAGE_POLLS
from services.chat.chat_previews import attach_message_previews
from services.chat.chat_scheduled import send_scheduled_messages
from services.chat.notify_chat import readable_for_push
from services.forum.comments_service import attach_comment_previews
from services.forum.notify_content import fan_out_to_followers
from services.forum.post_polls import POLL_HOST as POST_POLLS
from services.forum.posts_service import attach_post_previews
from services.media.attachments import remove_uploads, sweep_uploads
from services.notify.notify_digest import send_digests, send_digests_hourly
from services.notify.notify_mail import mail_sweep
from services.notify.push_delivery import push_notification, push_retry_sweep
from services.platform.email_service import deliver
from services.polls.poll_live import announce_poll
from services.privacy.data_export import build_export, sweep_exports

# Every job (utils/jobs.py), whatever its queue; tests/test_registrations.py fails when a
# job defined in the code is missing here. Names are stored with queued jobs: never
# rename one that may be waiting in a queue.
JOBS = (
    # Accounts and mail
    deliver, _send_verification, _resend_verification, _mail_registration_attempt,
    _mail_reset_link,
    # Notifications
    fan_out_to_followers, send_digests, send_digests_hourly, mail_sweep,
    push_notification, push_retry_sweep,
    # Calls ringing through push
    ring_push, ring_stopped_push,
    # Files and exports
    remove_uploads, sweep_uploads, build_export, sweep_exports,
    # Polls: a coalesced poll_updated
    announce_poll,
    # Scheduled chat messages, sent when due
    send_scheduled_messages,
    # Link previews (the best-effort queue)
    attach_message_previews, attach_post_previews, attach_comment_previews,
)

# Called as `leaver(user_id, room_id)` whenever a user is evicted from a chat room
# (services/platform/live_rooms.py `evict_from_chat_room`).
CHAT_ROOM_LEAVERS = (
    drop_from_room_call,  # their device leaves the room's live call
)

# Called as `reader(user, notification_data)` before a push is sent: False when the data
# names something of the reader's area the user may no longer read (topics are checked by
# services/notify/push_delivery.py itself).
PUSH_READERS = (
    readable_for_push,  # a chat room
)

# The items that may hold a poll, by the `host_type` a poll stores: who reads it, who
# votes, who hears `poll_updated` (services/polls/poll_hosts.py).
POLL_HOSTS = MappingProxyType({  # read-only, like the tuples above
    "message": MESSAGE_POLLS,
    "post": POST_POLLS,
})
