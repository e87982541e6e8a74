"""What makes a certificate look official: signatories and logos named by the course file.

    [[signatories]]                  # at most 3, printed side by side above the issue date
    name = "Dra. Ana Rojas"
    role = { es = "Directora", en = "Director" }
    signature = "firma-rojas.png"    # optional: an image beside the course file

    [[logos]]                        # at most 4, printed in a row at the top
    file = "logo-alianza.png"        # beside the course file
    name = "Alianza del Pacífico"    # what the logo shows, in words (alternative text)

Images are PNG or JPEG (checked by their content, not their name), at most 200 KB and
2000 × 2000 pixels each, and must sit in the course file's folder. They are stored with the
course (base64 in JSON), so every web process on every host has them without a shared disk.
A problem anywhere refuses the whole file, like any other key (see loader.py).
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from courses.registration.rules import NAME_LENGTH

SIGNATORY_KEYS = {"name", "role", "signature"}
LOGO_KEYS = {"file", "name"}
MAX_SIGNATORIES = 3
MAX_LOGOS = 4
MAX_IMAGE_BYTES = 200 * 1024
MAX_IMAGE_PIXELS = 2000
#: Pillow's format name → the media type stored and embedded.
IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}


def image_file(check, value, path: str, folder: Path) -> dict | None:
    """Read and check an image named relative to the course file's folder."""
    if not isinstance(value, str) or not value.strip():
        check.fail(path, "must be the name of an image file beside the course file")
        return None
    candidate = (folder / value).resolve()
    if candidate.parent != folder.resolve():
        check.fail(path, f"{value!r} must be a file in the course file's own folder")
        return None
    try:
        data = candidate.read_bytes()
    except OSError:
        check.fail(path, f"{value!r} cannot be read (is it beside the course file?)")
        return None
    if len(data) > MAX_IMAGE_BYTES:
        check.fail(path, f"{value!r} is {len(data) // 1024} KB; at most 200 KB")
        return None
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind, size = image.format, image.size
            image.verify()  # a truncated or corrupt file fails here, not when printing
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        check.fail(path, f"{value!r} is not a readable PNG or JPEG image")
        return None
    if kind not in IMAGE_TYPES:
        check.fail(path, f"{value!r} is a {kind} image; use PNG or JPEG")
        return None
    if max(size) > MAX_IMAGE_PIXELS:
        check.fail(path, f"{value!r} is {size[0]}×{size[1]} pixels; at most 2000 on each side")
        return None
    return {
        "file": candidate.name,
        "media_type": IMAGE_TYPES[kind],
        "width": size[0],
        "height": size[1],
        "data": base64.b64encode(data).decode("ascii"),
    }


def signatories(check, data: dict, folder: Path) -> list[dict]:
    """The [[signatories]] of a course file: name, role (text or languages), signature image."""
    found = []
    for path, entry in check.tables(data, "signatories", most=MAX_SIGNATORIES):
        check.unknown_keys(entry, SIGNATORY_KEYS, f"{path}.")
        name = ""
        if "name" not in entry:
            check.fail(f"{path}.name", "missing; the signatory's name (at most 120 characters)")
        else:
            name = check.name(entry["name"], f"{path}.name", longest=NAME_LENGTH[1])
        role = check.text(entry, "role", f"{path}.role", required=True)
        signature = None
        if "signature" in entry:
            signature = image_file(check, entry["signature"], f"{path}.signature", folder)
        found.append({"name": name, "role": role, "signature": signature})
    return found


def logos(check, data: dict, folder: Path) -> list[dict]:
    """The [[logos]] of a course file: an image file beside it and the name it shows."""
    found = []
    for path, entry in check.tables(data, "logos", most=MAX_LOGOS):
        check.unknown_keys(entry, LOGO_KEYS, f"{path}.")
        name = ""
        if "name" not in entry:
            check.fail(f"{path}.name", "missing; say in words what the logo shows")
        else:  # the alternative text screen readers say: the same name rule keeps it clean
            name = check.name(entry["name"], f"{path}.name")
        if "file" not in entry:
            check.fail(f"{path}.file", "missing; it is required")
            continue
        image = image_file(check, entry["file"], f"{path}.file", folder)
        if image and name:
            found.append({**image, "name": name})
    return found
