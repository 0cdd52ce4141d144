"""An account's own data: export, deletion and erasure across every domain.

May use: every package below the top layer.
"""
