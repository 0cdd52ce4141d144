"""The REST yardstick: a bare Flask JSON endpoint, served exactly like Roundtable
(gunicorn, gunicorn.conf.py, one gevent worker). Our reads are reported as a ratio to it."""
from flask import Flask, jsonify

app = Flask(__name__)

# About the size of one short list page, so serialization is not free either.
ITEMS = [{"id": f"{i:024x}", "title": f"Item {i}", "score": i} for i in range(20)]


@app.get("/health")
def health():
    return jsonify(status="ok")


@app.get("/json")
def json_endpoint():
    return jsonify(items=ITEMS, next_cursor=None)
