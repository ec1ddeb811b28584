"""adb transport packets: a 24-byte little-endian header (command, arg0, arg1, length, checksum, magic) + payload."""

from __future__ import annotations

import struct
from dataclasses import dataclass

CNXN = 0x4E584E43
AUTH = 0x48545541
OPEN = 0x4E45504F
OKAY = 0x59414B4F
WRTE = 0x45545257
CLSE = 0x45534C43
A_VERSION = 0x01000001
MAX_PAYLOAD = 256 * 1024
AUTH_TOKEN, AUTH_SIGNATURE, AUTH_RSAPUBLICKEY = 1, 2, 3
HEADER = struct.Struct("<6I")


@dataclass(frozen=True)
class Packet:
    command: int
    arg0: int
    arg1: int
    data: bytes = b""

    def encode(self) -> bytes:
        checksum = sum(self.data) & 0xFFFFFFFF
        head = HEADER.pack(self.command, self.arg0, self.arg1, len(self.data), checksum, self.command ^ 0xFFFFFFFF)
        return head + self.data


def decode_header(raw: bytes) -> tuple[int, int, int, int]:
    command, arg0, arg1, length, _checksum, magic = HEADER.unpack(raw)
    if magic != command ^ 0xFFFFFFFF:
        raise ValueError(f"bad adb packet magic {magic:#x} for command {command:#x}")
    return command, arg0, arg1, length
