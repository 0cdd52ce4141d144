"""The VAPID key outside production (services/notify/push_keys.py): made once on first use
into PUSH_VAPID_KEY_FILE and kept across restarts, the same key for processes that made it
at once, and no public key while push is switched off."""
from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from services.notify import push_keys

PUBLIC_KEY = "/api/push/vapid-public-key"


def public_point(raw_private: str) -> str:
    key = ec.derive_private_key(int.from_bytes(push_keys.b64url_decode(raw_private), "big"),
                                ec.SECP256R1())
    return push_keys.b64url(key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))


def test_a_key_is_made_on_first_use_kept_private_and_used_after_a_restart(make_app, tmp_path):
    path = tmp_path / "instance" / "vapid_private_key"
    first = make_app(VAPID_PRIVATE_KEY=None, PUSH_VAPID_KEY_FILE=str(path))
    answer = first.test_client().get(PUBLIC_KEY)
    assert answer.status_code == 200
    raw = path.read_text().strip()
    assert len(push_keys.b64url_decode(raw)) == 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert answer.get_json()["public_key"] == public_point(raw)
    assert [entry.name for entry in path.parent.iterdir()] == [path.name]  # nothing left over

    restarted = make_app(VAPID_PRIVATE_KEY=None, PUSH_VAPID_KEY_FILE=str(path))
    assert restarted.test_client().get(PUBLIC_KEY).get_json() == answer.get_json()
    assert path.read_text().strip() == raw


def test_processes_making_the_key_at_once_all_use_the_one_that_won(tmp_path, monkeypatch):
    """Another process stores its key while this one makes its own (each worker's first
    request in a new checkout): this one takes theirs instead of failing on the file."""
    path = tmp_path / "vapid_private_key"
    made_here = push_keys._raw_private
    theirs = made_here(ec.generate_private_key(ec.SECP256R1()))

    def made_meanwhile(key):
        path.write_text(theirs + "\n")
        return made_here(key)

    monkeypatch.setattr(push_keys, "_raw_private", made_meanwhile)
    assert push_keys._stored_key(path) == theirs
    assert [entry.name for entry in tmp_path.iterdir()] == [path.name]


def test_no_public_key_while_push_is_switched_off(make_app):
    answer = make_app(PUSH_ENABLED=False).test_client().get(PUBLIC_KEY)
    assert answer.status_code == 404
    assert answer.get_json()["error"]["code"] == "not_found"
