"""Accounts and sign-in: registration, login, sessions and tokens, passwords, 2FA, passkeys,
e-mail codes, login throttling, profiles.

May use: notify, media, platform and below.
"""
