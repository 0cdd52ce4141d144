"""Polls in posts and chat messages: their rules (a poll's options, ballots, closing),
results as an item shows them, voters, and the coalesced `poll_updated` event.

The item holding a poll belongs to chat or forum, which sit above this package: each
hands over a `PollHost` (who may read and vote, who hears) through `create_app`
(`registrations.POLL_HOSTS`), the way the live rooms take their hooks.

May use: accounts, notify, media, platform and below.
"""
