"""Avatar images: judged by their bytes, never their name, and re-encoded so nothing of
the upload but its pixels survives (no metadata, no polyglot payload)."""
from __future__ import annotations

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
