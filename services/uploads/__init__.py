"""Uploads: the upload API's rules (create, complete, download with the item's access check).

May use: every package below the top layer.
"""
