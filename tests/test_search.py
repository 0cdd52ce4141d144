"""Search without text indexes: folded terms, last word as prefix, ranking by matched
words then recency, and visibility (nothing from a private topic for a non-member).
Its items are the shapes every other list sends, each with a `type`."""
from __future__ import annotations

from tests.topic_helpers import Person, make_post, make_topic


def _titles(person, query, kind="posts"):
    answer = person.get(f"/api/search/?q={query}&type={kind}")
    assert answer.status_code == 200, answer.get_json()
    return [item.get("title") or item.get("username") for item in answer.get_json()["items"]]


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
    ids = [i["id"] for i in first["items"] + rest["items"]]
    assert len(ids) == 5 == len(set(ids)) and rest["next_cursor"] is None
    assert client.get("/api/search/?q=").status_code == 400
    assert client.get("/api/search/?q=a&type=everything").status_code == 400
    assert client.get("/api/search/?q=a&cursor=garbage").status_code == 400


def test_search_items_are_the_listed_shapes_with_a_type(client):
    """A post hit is what GET /api/posts/<id> sends plus `type: post`; likewise a topic
    and a user; the document declares the union with its discriminator."""
    owner = Person(client, "olivia")
    topic = make_topic(owner, "Quince jam")
    post = make_post(owner, topic["id"], "Quince paste", "slow cooked")
    for kind, path in (("posts", f"/api/posts/{post['id']}"),
                       ("topics", f"/api/topics/{topic['id']}"),
                       ("users", "/api/users/olivia")):
        query = "olivia" if kind == "users" else "quince"
        (item,) = owner.get(f"/api/search/?q={query}&type={kind}").get_json()["items"]
        listed = owner.get(path).get_json()
        listed = listed.get("user", listed)
        assert item == {"type": kind[:-1], **listed}, kind
    schemas = client.get("/api/openapi.json").get_json()["components"]["schemas"]
    union = schemas["SearchPage"]["properties"]["items"]["items"]
    refs = {kind: f"#/components/schemas/Search{kind.title()}"
            for kind in ("post", "topic", "user")}
    assert union == {"oneOf": [{"$ref": ref} for ref in refs.values()],
                     "discriminator": {"propertyName": "type", "mapping": refs}}
    for kind, ref in refs.items():
        shape = schemas[ref.rsplit("/", 1)[-1]]
        assert shape["properties"]["type"] == {"type": "string", "enum": [kind]}
        assert "type" in shape["required"]
