"""What an uploaded file is, judged by its bytes alone, and images made safe: Pillow
decodes and re-encodes them (so no EXIF, GPS or comment block survives, nor any payload
riding in a polyglot), refuses decompression bombs, and makes a thumbnail."""
from __future__ import annotations

import io
import mimetypes
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from utils.errors import UnsupportedMediaType, ValidationFailed

IMAGE_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF",
               "image/webp": "WEBP"}
# Served inline (re-encoded by us); anything else is served as a download.
INLINE_TYPES = set(IMAGE_TYPES)
THUMBNAIL_SIZE = (320, 320)
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
              "application/pdf": "pdf", "text/plain": "txt", "video/mp4": "mp4",
              "video/webm": "webm", "audio/mpeg": "mp3", "audio/ogg": "ogg",
              "application/zip": "zip", "text/html": "html", "image/svg+xml": "svg"}


def sniff(data: bytes) -> str:
    """The media type the bytes are, whatever the name or the client says."""
    head = data[:64]
    signatures = [
        (b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"), (b"%PDF-", "application/pdf"),
        (b"\x1a\x45\xdf\xa3", "video/webm"), (b"OggS", "audio/ogg"), (b"ID3", "audio/mpeg"),
        (b"PK\x03\x04", "application/zip"),
    ]
    for magic, kind in signatures:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "audio/mpeg"  # an MPEG audio frame header
    return _sniff_text(data)


def _sniff_text(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        return "application/octet-stream"
    try:
        text = data[:8192].decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < 8188:  # not a character cut at the end of the sample
            return "application/octet-stream"
        text = data[:exc.start].decode("utf-8")
    start = text.lstrip("\ufeff \t\r\n").lower()[:512]
    if "<svg" in start:
        return "image/svg+xml"
    if start.startswith(("<!doctype html", "<html", "<head", "<body", "<script", "<?xml")):
        return "text/html"
    return "text/plain"


def check_type(data: bytes, name: str, allowed: list[str]) -> str:
    """The sniffed type, if allowed and not contradicting the name's extension (a
    `.jpg` that is HTML is refused: a client that lies about a file is not trusted)."""
    kind = sniff(data)
    if kind not in allowed:
        raise UnsupportedMediaType(f"Files of type {kind} are not accepted.",
                                   details={"file": [f"The bytes are {kind}."]})
    claimed, _encoding = mimetypes.guess_type(name, strict=False)
    if claimed and claimed.split("/")[0] != kind.split("/")[0] and claimed != kind:
        raise UnsupportedMediaType("The file's contents do not match its name.", details={
            "file": [f"Named {claimed}, but the bytes are {kind}."]})
    return kind


@dataclass
class Image_:
    data: bytes
    width: int
    height: int
    thumbnail: bytes | None
    color: str


def process_image(data: bytes, kind: str, max_pixels: int) -> Image_:
    """Decode, refuse bombs, re-encode without metadata, and make a thumbnail."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format != IMAGE_TYPES[kind]:
                raise UnsupportedMediaType("The image is not what its bytes first said.")
            width, height = image.size
            if width * height > max_pixels:
                raise ValidationFailed("The image has too many pixels.",
                                       details={"file": [f"At most {max_pixels} pixels."]})
            image.load()
            frames = getattr(image, "n_frames", 1)
            encoded = _reencode(image, kind, frames)
            still = ImageOps.exif_transpose(_first_frame(image))
    except (UnidentifiedImageError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        raise ValidationFailed("The image is too large to decode or damaged.",
                               details={"file": ["Not a decodable image."]}) from None
    except (OSError, ValueError, SyntaxError, EOFError):
        raise ValidationFailed("The image is damaged or cannot be read.",
                               details={"file": ["Not a decodable image."]}) from None
    thumbnail = None
    if still.width > THUMBNAIL_SIZE[0] or still.height > THUMBNAIL_SIZE[1] or frames > 1:
        small = still.copy()
        small.thumbnail(THUMBNAIL_SIZE, Image.Resampling.LANCZOS)
        thumbnail = _encode(small.convert("RGBA"), "PNG")
    return Image_(encoded, still.width, still.height, thumbnail, _colour(still))


def _first_frame(image: Image.Image) -> Image.Image:
    image.seek(0)
    return image.convert("RGBA")


def _reencode(image: Image.Image, kind: str, frames: int) -> bytes:
    """Pixels only: a new image is written from the decoded frames, with no info block,
    so EXIF (GPS), XMP, ICC text chunks and comments are gone."""
    output = io.BytesIO()
    if kind == "image/jpeg":
        ImageOps.exif_transpose(image).convert("RGB").save(output, format="JPEG", quality=88)
    elif frames > 1:
        images = []
        for index in range(frames):
            image.seek(index)
            images.append(image.convert("RGBA"))
        durations = image.info.get("duration", 100)
        images[0].save(output, format=IMAGE_TYPES[kind], save_all=True,
                       append_images=images[1:], duration=durations, loop=0)
    else:
        clean = ImageOps.exif_transpose(image)
        mode = "RGBA" if clean.mode in ("RGBA", "LA", "P", "PA") else "RGB"
        clean.convert(mode).save(output, format=IMAGE_TYPES[kind])
    return output.getvalue()


def _encode(image: Image.Image, fmt: str) -> bytes:
    output = io.BytesIO()
    image.save(output, format=fmt, optimize=True)
    return output.getvalue()


def _colour(image: Image.Image) -> str:
    """The average colour, as `#rrggbb`: a placeholder while the image loads."""
    red, green, blue, _alpha = image.convert("RGBA").resize((1, 1), Image.Resampling.BOX
                                                            ).getpixel((0, 0))
    return f"#{red:02x}{green:02x}{blue:02x}"
