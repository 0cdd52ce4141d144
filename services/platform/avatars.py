"""Avatar images: judged by their bytes, never their name, and re-encoded so nothing of
the upload but its pixels survives (no metadata, no polyglot payload)."""
from __future__ import annotations

import hashlib
import html
import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from utils.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

ACCEPTED_FORMATS = {"PNG", "JPEG", "WEBP", "GIF"}
SIZE = (256, 256)
MAX_PIXELS = 40_000_000  # a 2 MB file can still claim a huge canvas (decompression bomb)


def normalize(data: bytes, max_bytes: int) -> bytes:
    """A 256x256 PNG made from an uploaded PNG, JPEG, WebP or GIF."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"The avatar must be at most {max_bytes // (1024 * 1024)} MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise UnsupportedMediaType("The avatar must be a PNG, JPEG, WebP or GIF image.")
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise BadRequest("The image dimensions are too large.")
            image.seek(0)  # first frame of an animation
            image = ImageOps.exif_transpose(image)
            image = image.convert("RGBA")
    except UnidentifiedImageError:
        raise UnsupportedMediaType("The avatar must be a PNG, JPEG, WebP or GIF image.") from None
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        raise BadRequest("The image is damaged or cannot be read.") from None
    output = io.BytesIO()
    ImageOps.fit(image, SIZE, method=Image.Resampling.LANCZOS).save(output, format="PNG")
    return output.getvalue()


# Generated avatars: what a user without an uploaded picture shows

PALETTE = ("#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#bc5a00", "#3b6e8f", "#5b7f26", "#a83e6b", "#4e5ba6")
UNKNOWN_COLOR = "#7f7f7f"


def initials(name: str) -> str:
    """Up to two letters: the first of the first two words (`Ada Lovelace` -> `AL`), or
    the first two of a single word (`bob_smith` -> `BS`, `alice` -> `AL`)."""
    words = ["".join(c for c in part if c.isalnum()) for part in name.replace("_", " ")
             .replace("-", " ").replace(".", " ").split()]
    words = [w for w in words if w]
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:2].upper()
    return (words[0][0] + words[1][0]).upper()


def color_index(seed: str) -> int:
    """The palette entry of a user (`seed`: the user id, so it never changes with the
    name)."""
    return int(hashlib.sha256(seed.encode()).hexdigest(), 16) % len(PALETTE)


def picture_params(name: str, seed: str, known: bool = True) -> dict[str, str]:
    """What the generated picture shows: its letters and colour (`color=-1`: the grey
    of an account that is gone). They travel in the picture's URL, so serving it reads
    nothing: the URL tells no more than the profile it came with."""
    if not known:
        return {"text": "?", "color": "-1"}
    return {"text": initials(name), "color": str(color_index(seed))}


def initials_svg(text: str, color: int) -> str:
    """A 128x128 SVG of up to two characters on a palette colour (-1: grey). Text is
    escaped; nothing but shapes and text."""
    fill = PALETTE[color] if 0 <= color < len(PALETTE) else UNKNOWN_COLOR
    letters = html.escape(text[:2] or "?")
    return ('<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" '
            'viewBox="0 0 128 128" role="img">'
            f'<rect width="128" height="128" fill="{fill}"/>'
            '<text x="64" y="64" dy=".35em" text-anchor="middle" fill="#ffffff" '
            'font-family="Helvetica, Arial, sans-serif" font-size="52" font-weight="600">'
            f'{letters}</text></svg>')
