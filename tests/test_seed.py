"""`flask seed`: demo content on an empty database, idempotent, and a seeded user can log
in with the documented password."""
from __future__ import annotations

from tests.helpers import fresh_address
from utils.db import get_db


def test_seed_command_fills_once(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert "Log in as ada" in result.output
    db = get_db(app)
    counts = {name: db[name].count_documents({}) for name in
              ("users", "topics", "posts", "comments", "votes")}
    assert counts == {"users": 4, "topics": 3, "posts": 5, "comments": 4, "votes": 8}
    again = runner.invoke(args=["seed"])
    assert again.exit_code == 0 and "nothing seeded" in again.output
    assert db.posts.count_documents({}) == 5

    login = client.post("/api/auth/login", environ_base=fresh_address(),
                        json={"login": "grace", "password": app.config["SEED_PASSWORD"]})
    assert login.status_code == 200
    front = client.get("/api/posts/").get_json()["items"]
    assert "Release plan" in [p["title"] for p in front]  # grace was invited to Core Team
    anonymous = app.test_client().get("/api/posts/?sort=top").get_json()["items"]
    assert anonymous[0]["title"] == "Crème brûlée without a torch"
    assert anonymous[0]["score"] == 3 and anonymous[0]["comment_count"] == 3
    assert "Release plan" not in [p["title"] for p in anonymous]


def test_seed_clear_empties_the_dev_database_after_confirmation(app, client, monkeypatch):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed"]).exit_code == 0
    db = get_db(app)
    assert len(client.get("/api/topics").get_json()["items"]) == 2  # now cached

    declined = runner.invoke(args=["seed", "--clear"], input="n\n")
    assert declined.exit_code == 1 and "Aborted" in declined.output
    assert db.topics.count_documents({}) == 3 and db.users.count_documents({}) == 4

    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    refused = runner.invoke(args=["seed", "--clear", "--yes"])
    assert refused.exit_code == 1 and "Refusing" in refused.output
    assert db.topics.count_documents({}) == 3 and db.users.count_documents({}) == 4
    monkeypatch.setitem(app.config, "ENV_NAME", "development")

    cleared = runner.invoke(args=["seed", "--clear"], input="y\n")
    assert cleared.exit_code == 0, cleared.output
    assert "Deleted" in cleared.output
    for name in ("users", "topics", "posts", "comments", "votes", "topic_members"):
        assert db[name].count_documents({}) == 0, name
    assert client.get("/api/topics").get_json()["items"] == []  # the cache was dropped
    login = client.post("/api/auth/login", environ_base=fresh_address(),
                        json={"login": "grace", "password": app.config["SEED_PASSWORD"]})
    assert login.status_code == 401
    assert "slug_unique" in db.topics.index_information()  # indexes stay
    assert runner.invoke(args=["seed"]).exit_code == 0
    assert db.topics.count_documents({}) == 3
