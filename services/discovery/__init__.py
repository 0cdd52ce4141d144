"""Finding things: search and my lists.

May use: every package below the top layer.
"""
