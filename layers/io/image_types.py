"""Which files HgWatch takes as photos: JPEG, PNG, GIF, WebP and HEIC/HEIF, told by their first bytes.

A case photo is evidence kept byte for byte with its SHA-256, so it is checked on the way in (``cases
set --photo``, the workbench's upload, a form export's media): its signature must be one of these
types (``not_a_photo``), and where Pillow reads the type (all but HEIC/HEIF, which needs a plug-in
HgWatch does not pin) Pillow must open it (``unreadable``). A file a person picks is refused when
either fails; a photo in a form export's media that Pillow cannot open (cut short on upload) is kept
with a warning, as the phone sent it, and listed rather than drawn (``services.casework.viewable``).
"""
from __future__ import annotations

import io

from PIL import Image

ACCEPTED = "JPEG, PNG, GIF, WebP or HEIC/HEIF"
_SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"GIF8", "image/gif"))
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1")
_PILLOW = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}


def image_type(data: bytes) -> str | None:
    """The MIME type of a JPEG, PNG, GIF, WebP or HEIC/HEIF by its signature; None for anything else."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "image/heic"
    return next((mime for sig, mime in _SIGNATURES if data.startswith(sig)), None)


def not_a_photo(data: bytes) -> str | None:
    """What is expected of ``data`` when its first bytes are no photo HgWatch takes (None: they are one)."""
    if image_type(data) is None:
        return f"a photo: {ACCEPTED} (told by the file's first bytes; these are {data[:8]!r})"
    return None


def unreadable(data: bytes) -> str | None:
    """Why the photo ``data`` (of an accepted type) cannot be opened by Pillow, for the types Pillow
    reads (its header only: quick); None when it opens, or for HEIC/HEIF."""
    kind = _PILLOW.get(image_type(data) or "")
    if kind is None:
        return None
    try:
        with Image.open(io.BytesIO(data), formats=[kind]):
            pass
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return f"it starts as a {kind} but cannot be opened as one (cut short, or not a {kind})"
    return None
