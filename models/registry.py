"""Every model class, listed once. The app factory hands this list to
`models.indexes.init_app`, which creates their indexes before anything is served;
importing a model module registers nothing (a new collection is one line here)."""
from __future__ import annotations

from models.audit_log import AuditLog
from models.auth_token import AuthToken
from models.base import BaseModel
from models.block import Block
from models.call import Call
from models.comment import Comment
from models.data_export import DataExport
from models.draft import Draft
from models.edit_version import EditVersion
from models.friendship import Friendship
from models.login_session import LoginSession
from models.message import Message
from models.notification import Notification
from models.notification_mute import NotificationMute
from models.passkey import Passkey, WebAuthnChallenge
from models.poll import Poll
from models.poll_ballot import PollBallot
from models.post import Post
from models.post_follow import PostFollow
from models.push_subscription import PushSubscription
from models.report import Report
from models.room import Room
from models.room_invitation import RoomInvitation
from models.room_member import RoomMember
from models.saved_item import SavedItem
from models.scheduled_message import ScheduledMessage
from models.setting import Setting
from models.thread_follow import ThreadFollow
from models.topic import Topic
from models.topic_ban import TopicBan
from models.topic_invitation import TopicInvitation
from models.topic_member import TopicMember
from models.upload import Upload
from models.user import User
from models.user_hide import UserHide
from models.vote import Vote

ALL_MODELS: tuple[type[BaseModel], ...] = (
    AuditLog, AuthToken, Block, Call, Comment, DataExport, Draft, Friendship, LoginSession,
    Message, Notification, NotificationMute, Passkey, WebAuthnChallenge, Poll, PollBallot,
    Post, PostFollow, PushSubscription, Report, Room, RoomInvitation, RoomMember, Setting,
    ThreadFollow, Topic, TopicBan, TopicInvitation, TopicMember, Upload, User, UserHide, Vote,
    EditVersion, SavedItem,  # edit history and saved items (issue 28)
    ScheduledMessage,  # scheduled chat messages (issue 28)
)
