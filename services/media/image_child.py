"""The image re-encoder, run as its own short-lived process by services/media/media.py
(`python -I image_child.py FORMAT MAX_PIXELS CPU_SECONDS MEMORY_BYTES`, the image on
stdin), never inside a request's worker: it limits its own CPU time and address space
first (RLIMIT_CPU, RLIMIT_AS), so a file that decodes to more than the budget kills this
process, not the server. It imports nothing of the project (it runs isolated, `-I`).

Answer on stdout: a 4-byte big-endian length, a JSON header `{width, height, color,
data, thumbnail}` (the byte counts), then the image and the thumbnail. Exit status 2:
not a decodable image of FORMAT; 3: out of memory (the kernel's SIGXCPU ends a process
over its CPU time)."""
from __future__ import annotations

import io
import json
import resource
import struct
import sys
import warnings

NOT_AN_IMAGE, OUT_OF_MEMORY = 2, 3
THUMBNAIL_SIZE = (320, 320)


def _limit(cpu_seconds: int, memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def _bare(image):
    """The image with no info block: nothing Pillow read (EXIF, XMP, ICC, comments,
    PNG text chunks) is handed back to `save`, which would write some of it again."""
    image.info = {}
    return image


def _frames(image) -> tuple[list, list[int]]:
    frames, durations = [], []
    for index in range(image.n_frames):
        image.seek(index)
        durations.append(int(image.info.get("duration") or 100))
        frames.append(_bare(image.convert("RGBA")))
    return frames, durations


def reencode(image, fmt: str) -> bytes:
    """Pixels only, in a new file of the same format (JPEG orientation applied)."""
    from PIL import ImageOps

    output = io.BytesIO()
    if fmt == "JPEG":
        _bare(ImageOps.exif_transpose(image).convert("RGB")).save(output, format="JPEG",
                                                                   quality=88)
    elif getattr(image, "n_frames", 1) > 1:
        frames, durations = _frames(image)
        frames[0].save(output, format=fmt, save_all=True, append_images=frames[1:],
                       duration=durations, loop=0)
    else:
        clean = ImageOps.exif_transpose(image)
        mode = "RGBA" if clean.mode in ("RGBA", "LA", "P", "PA") else "RGB"
        _bare(clean.convert(mode)).save(output, format=fmt)
    return output.getvalue()


def process(data: bytes, fmt: str, max_pixels: int) -> tuple[dict, bytes, bytes]:
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = max_pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data))
        if image.format != fmt or image.width * image.height > max_pixels:
            raise ValueError("not the image the header check accepted")
        image.load()
        encoded = reencode(image, fmt)
        image.seek(0)
        still = _bare(ImageOps.exif_transpose(image.convert("RGBA")))
    thumbnail = b""
    if still.width > THUMBNAIL_SIZE[0] or still.height > THUMBNAIL_SIZE[1] \
            or getattr(image, "n_frames", 1) > 1:
        small = still.copy()
        small.thumbnail(THUMBNAIL_SIZE, Image.Resampling.LANCZOS)
        output = io.BytesIO()
        _bare(small).save(output, format="PNG", optimize=True)
        thumbnail = output.getvalue()
    red, green, blue, _alpha = still.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    header = {"width": still.width, "height": still.height,
              "color": f"#{red:02x}{green:02x}{blue:02x}", "data": len(encoded),
              "thumbnail": len(thumbnail)}
    return header, encoded, thumbnail


def main(argv: list[str]) -> int:
    fmt, max_pixels, cpu_seconds, memory_bytes = argv[1], *map(int, argv[2:5])
    _limit(cpu_seconds, memory_bytes)
    data = sys.stdin.buffer.read()
    try:
        header, encoded, thumbnail = process(data, fmt, max_pixels)
    except MemoryError:
        return OUT_OF_MEMORY
    except Exception:  # anything Pillow raises on a damaged or hostile file
        return NOT_AN_IMAGE
    head = json.dumps(header).encode()
    sys.stdout.buffer.write(struct.pack(">I", len(head)) + head + encoded + thumbnail)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
