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
