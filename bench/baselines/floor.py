"""The floors: a bare Flask JSON endpoint (the same body as bare_flask) that first makes
exactly the round trips a Roundtable endpoint needs, against the same SecantusDB and Redis,
with the same client settings. `GET /floor?finds=N&gets=M`: N `find_one` by `_id` on
`users` (a real user document, through the `_id` index), then M Redis GETs. Each scenario
is reported as a ratio to the floor of its own round trips (bench/scenarios.py FLOORS)."""
import os

import redis
from bson import ObjectId
from flask import Flask, jsonify, request

from utils.db import make_client

app = Flask(__name__)
DB = make_client(os.environ["MONGO_URI"], 2000)[os.environ["MONGO_DB_NAME"]]
REDIS = redis.Redis.from_url(os.environ["REDIS_URL"])
ITEMS = [{"id": f"{i:024x}", "title": f"Item {i}", "score": i} for i in range(20)]
_user_id: list[ObjectId] = []


@app.get("/health")
def health():
    return jsonify(status="ok")


@app.get("/floor")
def floor():
    if not _user_id:
        found = DB.users.find_one({}, {"_id": 1})
        _user_id.append(found["_id"] if found else ObjectId())
    for _ in range(int(request.args.get("finds", 0))):
        DB.users.find_one({"_id": _user_id[0]})
    for _ in range(int(request.args.get("gets", 0))):
        REDIS.get("rt:userver:" + str(_user_id[0]))
    return jsonify(items=ITEMS, next_cursor=None)
