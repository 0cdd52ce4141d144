"""Queries more than one collection shares: search over `search_terms` (topics, posts,
messages) and stored link previews (posts, messages)."""
from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import DESCENDING, ReturnDocument
from pymongo.collection import Collection


class Searchable:
    """A model whose documents store `search_terms`, their distinct folded words, under a
    multikey index (services/discovery/search_service.py)."""

    collection: Collection

    def search_candidates(self, scope: dict[str, Any], whole: list[str], prefix: str | None,
                          limit: int) -> list[dict[str, Any]]:
        """The latest `limit` documents in `scope` holding any of the `whole` terms or a
        term starting with `prefix` (\\w+, nothing to escape); the caller ranks them.

        One query per kind of match, merged here, rather than one `$or` (which some
        planners answer with a collection scan): each is an index range of its own (the
        whole terms are points of the term index, read newest first; the prefix one
        range), and the latest `limit` of the union are among the latest `limit` of each
        part."""
        matches: list[dict[str, Any]] = [{"search_terms": {"$in": whole}}] if whole else []
        if prefix:
            # Anchored: MongoDB reads it as the index range [prefix, prefix + 1).
            matches.append({"search_terms": {"$regex": "^" + prefix}})
        found: dict[ObjectId, dict[str, Any]] = {}
        for match in matches:
            for document in (self.collection.find({"$and": [scope, match]})
                             .sort([("_id", DESCENDING)]).limit(limit)):
                found[document["_id"]] = document
        return [found[key] for key in sorted(found, reverse=True)[:limit]]


class LinkPreviewed:
    """A model whose documents store the `previews` of the links in their `body`
    (services/media/link_previews.py)."""

    collection: Collection

    def set_previews(self, document_id: ObjectId, body: str, previews: list[dict[str, Any]]
                     ) -> dict[str, Any] | None:
        """The document with its new previews; None when an edit or a deletion came
        first (the previews were made from `body`, which is no longer there)."""
        return self.collection.find_one_and_update(
            {"_id": document_id, "body": body, "deleted": False},
            {"$set": {"previews": previews}}, return_document=ReturnDocument.AFTER)
