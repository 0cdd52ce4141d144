"""Search without text indexes: folded terms, last word as prefix, ranking by matched
words then recency, and visibility (nothing from a private topic for a non-member)."""
from __future__ import annotations

from tests.topic_helpers import Person, make_post, make_topic


def _titles(person, query, kind="posts"):
    answer = person.get(f"/api/search/?q={query}&type={kind}")
    assert answer.status_code == 200, answer.get_json()
    return [item[item["type"]].get("title") or item[item["type"]].get("username")
            for item in answer.get_json()["items"]]


def test_posts_ranked_by_matched_words_then_recency(client):
    owner = Person(client, "olivia")
    topic = make_topic(owner, "Kitchen")
    make_post(owner, topic["id"], "Crème brûlée at home", "custard and sugar")
    make_post(owner, topic["id"], "Sugar free desserts", "no sugar")
    make_post(owner, topic["id"], "Unrelated", "nothing here")
    assert _titles(owner, "creme") == ["Crème brûlée at home"]
    assert _titles(owner, "BRÛLÉE") == ["Crème brûlée at home"]
    assert _titles(owner, "sugar cust") == ["Crème brûlée at home", "Sugar free desserts"]
    assert _titles(owner, "sugar") == ["Sugar free desserts", "Crème brûlée at home"]
    assert _titles(owner, "des") == ["Sugar free desserts"]
    assert _titles(owner, "%21%21") == []


def test_search_respects_private_topics(client):
    owner, outsider = Person(client, "olivia"), Person(client, "oscar")
    secret = make_topic(owner, "Secret recipes", visibility="private")
    make_post(owner, secret["id"], "Grandma's secret sauce")
    assert _titles(owner, "secret") == ["Grandma's secret sauce"]
    assert _titles(outsider, "secret") == []
    assert _titles(client, "secret") == []
    assert _titles(outsider, "secret", "topics") == []
    assert _titles(owner, "secret rec", "topics") == ["Secret recipes"]
    assert "olivia" in _titles(outsider, "oli", "users")


def test_search_paging_and_validation(client):
    owner = Person(client, "olivia")
    topic = make_topic(owner, "Many")
    for n in range(5):
        make_post(owner, topic["id"], f"Apple pie number {n}")
    first = client.get("/api/search/?q=apple&limit=3").get_json()
    rest = client.get(f"/api/search/?q=apple&limit=3&cursor={first['next_cursor']}").get_json()
    ids = [i["post"]["id"] for i in first["items"] + rest["items"]]
    assert len(ids) == 5 == len(set(ids)) and rest["next_cursor"] is None
    assert client.get("/api/search/?q=").status_code == 400
    assert client.get("/api/search/?q=a&type=everything").status_code == 400
    assert client.get("/api/search/?q=a&cursor=garbage").status_code == 400
