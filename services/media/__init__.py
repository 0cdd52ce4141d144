"""Files and what is shown of them: storage backends, image processing, attachments, avatars,
GIF search and link previews.

May use: platform and below.
"""
