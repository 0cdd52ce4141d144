"""Site-role decorators for views: 401 for anonymous callers, 403 for a signed-in user
without the role. They check before the body is parsed, so a plain user learns nothing
about an admin route's input rules."""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from utils.auth import current_user, mark_for_doc
from utils.errors import Forbidden, Unauthorized

SITE_MODERATOR_ROLES = frozenset({"moderator", "admin"})


def is_admin(user: dict[str, Any] | None) -> bool:
    return bool(user) and user.get("role") == "admin"


def is_site_moderator(user: dict[str, Any] | None) -> bool:
    """Site moderators and admins: both moderate everywhere."""
    return bool(user) and user.get("role") in SITE_MODERATOR_ROLES


def roles_required(roles: Iterable[str]) -> Callable[[Callable], Callable]:
    allowed = frozenset(roles)

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                raise Unauthorized()
            if user.get("role") not in allowed:
                raise Forbidden()
            return view(*args, **kwargs)

        mark_for_doc(wrapper, "login_required")
        return wrapper

    return decorator


admin_required = roles_required({"admin"})
site_moderator_required = roles_required(SITE_MODERATOR_ROLES)
