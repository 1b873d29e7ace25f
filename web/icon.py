"""The app icon as PNG (for the web app manifest), drawn here so that no binary file is kept in the repository.

A white speech bubble with three dots on the brand blue; the bubble keeps within the central 80 % so the
same image serves as a maskable icon."""
from __future__ import annotations

import functools
import struct
import zlib

BLUE = (0x0A, 0x4F, 0x9C)
WHITE = (0xFF, 0xFF, 0xFF)


def _inside_bubble(u: float, v: float) -> bool:
    left, top, right, bottom, radius = 0.22, 0.27, 0.78, 0.65, 0.09
    cx = min(max(u, left + radius), right - radius)
    cy = min(max(v, top + radius), bottom - radius)
    if left <= u <= right and top <= v <= bottom and (u - cx) ** 2 + (v - cy) ** 2 <= radius ** 2:
        return True
    # The tail: a triangle below the bubble's lower left.
    if 0.64 <= v <= 0.78:
        t = (v - 0.64) / 0.14
        return 0.33 - 0.03 * t <= u <= 0.47 - 0.17 * t
    return False


def _pixel(u: float, v: float) -> tuple[int, int, int]:
    if not _inside_bubble(u, v):
        return BLUE
    for dot_u in (0.38, 0.5, 0.62):
        if (u - dot_u) ** 2 + (v - 0.46) ** 2 <= 0.045 ** 2:
            return BLUE
    return WHITE


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@functools.cache
def png(size: int) -> bytes:
    rows = bytearray()
    for y in range(size):
        rows.append(0)  # filter: none
        for x in range(size):
            rows.extend(_pixel((x + 0.5) / size, (y + 0.5) / size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + _chunk(
        b"IEND", b"")
