"""What an uploaded file is, judged by its bytes alone, and images made safe: Pillow
decodes and re-encodes them (so no EXIF, GPS or comment block survives, nor any payload
riding in a polyglot), refuses decompression bombs and animations over the frame budget
from their headers, and makes a thumbnail. The decoding itself runs in a child process
under CPU-time and memory limits (services/media/image_child.py), never in the request's worker."""
from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from services.media import image_child
from utils.errors import ImageTooComplex, UnsupportedMediaType, ValidationFailed

IMAGE_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF",
               "image/webp": "WEBP"}
# Served inline (re-encoded by us); anything else is served as a download.
INLINE_TYPES = set(IMAGE_TYPES)
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
              "application/pdf": "pdf", "text/plain": "txt", "video/mp4": "mp4",
              "video/webm": "webm", "audio/mpeg": "mp3", "audio/ogg": "ogg",
              "application/zip": "zip", "text/html": "html", "image/svg+xml": "svg",
              "application/xml": "xml"}
# What a name's extension claims. Our own table, the same on every machine (mimetypes
# reads the system's files, and its built-in table calls `.bat` text/plain).
NAMED_TYPES = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "jpe": "image/jpeg", "png": "image/png",
    "gif": "image/gif", "webp": "image/webp", "pdf": "application/pdf",
    "txt": "text/plain", "text": "text/plain", "log": "text/plain", "md": "text/markdown",
    "csv": "text/csv", "mp4": "video/mp4", "m4v": "video/mp4", "m4a": "audio/mp4",
    "mov": "video/quicktime", "webm": "video/webm", "mp3": "audio/mpeg", "ogg": "audio/ogg",
    "oga": "audio/ogg", "opus": "audio/ogg", "ogv": "video/ogg", "zip": "application/zip",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "epub": "application/epub+zip", "html": "text/html", "htm": "text/html",
    "xhtml": "application/xhtml+xml", "svg": "image/svg+xml", "xml": "application/xml",
    "js": "text/javascript", "mjs": "text/javascript", "json": "application/json",
}
# The only names that may differ from the sniffed type (docs/MEDIA.md): types the
# sniffer cannot tell apart from the bytes. Anything else must match exactly.
EQUIVALENT = {
    "text/plain": {"text/markdown", "text/csv"},
    "video/mp4": {"audio/mp4", "video/quicktime"},
    "audio/ogg": {"video/ogg"},
    "application/zip": {t for t in NAMED_TYPES.values()
                        if t.startswith(("application/vnd.", "application/epub"))},
}
# Types a browser would render as a document (script in our origin, or in a saved
# file's): never inline, served as application/octet-stream and saved as `.txt`.
DANGEROUS_TYPES = {"text/html", "application/xhtml+xml", "image/svg+xml", "application/xml",
                   "text/xml", "text/javascript", "application/javascript"}
CHILD = Path(image_child.__file__)


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
    if start.startswith(("<!doctype html", "<html", "<head", "<body", "<script")):
        return "text/html"
    if start.startswith("<?xml"):
        return "application/xml"
    return "text/plain"


def named_type(name: str) -> str | None:
    """The type a name's extension claims (NAMED_TYPES), None for none we know."""
    stem, dot, extension = name.rpartition(".")
    return NAMED_TYPES.get(extension.lower()) if dot and stem else None


def names_type(name: str, kind: str) -> bool:
    claimed = named_type(name)
    return claimed == kind or claimed in EQUIVALENT.get(kind, ())


def check_type(data: bytes, name: str, allowed: list[str]) -> str:
    """The sniffed type, if allowed and the name's extension claims exactly it (or one of
    its EQUIVALENT types): a ZIP named `.pdf` or text named `.html` is refused, a client
    that lies about a file is not trusted. A name with no known extension claims nothing
    (its download gets the type's extension, `download_name`)."""
    kind = sniff(data)
    if kind not in allowed:
        raise UnsupportedMediaType(f"Files of type {kind} are not accepted.",
                                   details={"file": [f"The bytes are {kind}."]})
    claimed = named_type(name)
    if claimed and not names_type(name, kind):
        raise UnsupportedMediaType("The file's contents do not match its name.", details={
            "file": [f"Named {claimed}, but the bytes are {kind}."]})
    return kind


def download_name(name: str, kind: str) -> str:
    """The name a download is saved under: kept when its extension names the file's own
    type, else that type's extension is added (`run.bat` of text is saved as
    `run.bat.txt`); HTML, SVG, XML and script are always saved as `.txt`, so a saved file
    never opens as something it is not."""
    if kind in DANGEROUS_TYPES:
        return f"{name}.txt"
    return name if names_type(name, kind) else f"{name}.{EXTENSIONS.get(kind, 'bin')}"


@dataclass
class Image_:
    data: bytes
    width: int
    height: int
    thumbnail: bytes | None
    color: str


@dataclass(frozen=True)
class Budget:
    """What one image may cost (UPLOAD_IMAGE_* settings): pixels of one frame, pixels of
    all frames, and the re-encoder's CPU seconds and address space."""
    max_pixels: int
    max_animation_pixels: int
    seconds: int
    memory_bytes: int

    @classmethod
    def of(cls, config: Any) -> Budget:
        return cls(config["UPLOAD_IMAGE_MAX_PIXELS"], config["UPLOAD_MAX_ANIMATION_PIXELS"],
                   config["UPLOAD_IMAGE_SECONDS"], config["UPLOAD_IMAGE_MEMORY_BYTES"])


def _undecodable() -> ValidationFailed:
    return ValidationFailed("The image is too large to decode or damaged.",
                            details={"file": ["Not a decodable image."]})


def process_image(data: bytes, kind: str, budget: Budget) -> Image_:
    """Refuse bombs and over-long animations from the headers (no pixel decoded), then
    re-encode without metadata and make a thumbnail in a bounded child process."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format != IMAGE_TYPES[kind]:
                raise UnsupportedMediaType("The image is not what its bytes first said.")
            width, height = image.size
            # Counted from the frame headers; Pillow skips the frames' data.
            frames = getattr(image, "n_frames", 1)
    except (UnidentifiedImageError, Image.DecompressionBombError,
            Image.DecompressionBombWarning, OSError, ValueError, SyntaxError, EOFError):
        raise _undecodable() from None
    if width * height > budget.max_pixels:
        raise ValidationFailed("The image has too many pixels.",
                               details={"file": [f"At most {budget.max_pixels} pixels."]})
    if frames * width * height > budget.max_animation_pixels:
        raise ImageTooComplex("The animation has too many frames for its size.", details={
            "animation_pixels": frames * width * height,
            "max_animation_pixels": budget.max_animation_pixels})
    return reencode(data, kind, budget)


def reencode(data: bytes, kind: str, budget: Budget) -> Image_:
    """services/media/image_child.py in its own process, limited to the budget's CPU seconds
    and memory, and waited for at most twice those seconds (a busy machine)."""
    command = [sys.executable, "-I", str(CHILD), IMAGE_TYPES[kind], str(budget.max_pixels),
               str(budget.seconds), str(budget.memory_bytes)]
    try:
        done = subprocess.run(command, input=data, capture_output=True,
                              timeout=2 * budget.seconds, check=False)
    except subprocess.TimeoutExpired:  # run() killed it
        raise _too_costly() from None
    if done.returncode == image_child.NOT_AN_IMAGE:
        raise _undecodable()
    if done.returncode != 0:  # out of memory, or killed at its CPU limit
        raise _too_costly()
    size, = struct.unpack(">I", done.stdout[:4])
    header = json.loads(done.stdout[4:4 + size])
    body = done.stdout[4 + size:]
    encoded, thumbnail = body[:header["data"]], body[header["data"]:]
    return Image_(encoded, header["width"], header["height"], thumbnail or None,
                  header["color"])


def _too_costly() -> ImageTooComplex:
    return ImageTooComplex("The image takes more time or memory to process than allowed.",
                           details={"file": ["Over the processing budget."]})
