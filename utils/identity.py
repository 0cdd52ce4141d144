"""One spelling per email address and username, so uniqueness cannot be dodged with
invisible or look-alike characters.

Every path that stores or looks up an address or a login name (registration, login,
tokens, forgot-password, resend-verification, the per-email rate-limit key) goes through
these functions, so "alice@example.com", the same with a trailing zero-width space, and
the same typed in fullwidth letters are one account.
"""
from __future__ import annotations

import unicodedata


def clean(text: str) -> str:
    """NFKC (fullwidth and other compatibility forms become their plain letters), without
    format characters (Unicode category Cf: zero-width spaces and joiners, bidi marks, the
    soft hyphen, BOM), trimmed."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf").strip()


def normalize_email(email: str) -> str:
    """The address as stored and mailed: cleaned, domain lowercased. The local part keeps
    its case (a mail server may honour it); uniqueness ignores case (`email_key`)."""
    email = clean(email)
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}" if local else email


def email_key(email: str) -> str:
    """The form uniqueness and lookups compare (`users.email_lower`)."""
    return normalize_email(email).lower()


def normalize_login(login: str) -> str:
    """A login name as typed: an email (normalised as above) or a username (cleaned)."""
    cleaned = clean(login)
    return normalize_email(cleaned) if "@" in cleaned else cleaned
