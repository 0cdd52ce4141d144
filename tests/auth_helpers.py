"""Helpers for the authentication tests: TOTP codes and turning TOTP on, adding a passkey
with a software authenticator, and what a refused Socket.IO connection says."""
from __future__ import annotations

from datetime import timedelta

import pyotp

from models.base import utcnow
from tests.helpers import DEFAULT_PASSWORD, csrf
from utils.extensions import socketio


def code(secret, offset_steps=0):
    """The TOTP code of `secret`, `offset_steps` periods of 30 s from now."""
    return pyotp.TOTP(secret).at(utcnow() + timedelta(seconds=30 * offset_steps))


def enable(client, token):
    """Turn TOTP on for the logged-in client; (secret, recovery codes)."""
    setup = client.post("/api/auth/2fa/setup", headers=csrf(token)).get_json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/")
    assert setup["secret"] in setup["otpauth_uri"]
    response = client.post("/api/auth/2fa/enable", headers=csrf(token),
                           json={"otp": code(setup["secret"], -1), "password": DEFAULT_PASSWORD})
    assert response.status_code == 200, response.get_json()
    return setup["secret"], response.get_json()["recovery_codes"]


def passkey_options(client, token, password=DEFAULT_PASSWORD):
    return client.post("/api/auth/passkeys/register/options", headers=csrf(token),
                       json={"password": password})


def add_passkey(client, token, authenticator, name=None):
    options = passkey_options(client, token)
    assert options.status_code == 200, options.get_json()
    body = options.get_json()
    payload = {"challenge_id": body["challenge_id"],
               "credential": authenticator.create(body["options"])}
    if name:
        payload["name"] = name
    answer = client.post("/api/auth/passkeys/register", headers=csrf(token), json=payload)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def refusal(app, flask_client=None, auth=None):
    """The `connect_error` packet's data as the client receives it, or None if accepted."""
    from socketio import packet

    errors = []
    encode = packet.Packet.encode

    def spy(pkt):
        if pkt.packet_type == packet.CONNECT_ERROR:
            errors.append(pkt.data)
        return encode(pkt)

    packet.Packet.encode = spy
    try:
        sc = socketio.test_client(app, flask_test_client=flask_client, auth=auth)
    finally:
        packet.Packet.encode = encode
    if sc.is_connected():
        sc.disconnect()
        return None
    [error] = errors
    assert error["message"] == error["data"]["code"] and error["data"]["message"]
    return error["data"]
