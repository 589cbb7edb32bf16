"""Write scalar metrics in TensorBoard's event-file format, with no TensorFlow or PyTorch.

An event file is a sequence of TFRecords (length, masked CRC32C of the length, data, masked
CRC32C of the data), each holding a serialized ``Event`` protobuf message. Only the few fields
scalars need are encoded here by hand.
"""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), as TFRecord framing uses."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _field(number: int, wire_type: int) -> bytes:
    return _varint((number << 3) | wire_type)


def _bytes_field(number: int, payload: bytes) -> bytes:
    return _field(number, 2) + _varint(len(payload)) + payload


def encode_event(wall_time: float, step: int = 0, *, file_version: str | None = None,
                 scalars: dict[str, float] | None = None) -> bytes:
    """``Event{wall_time=1, step=2, file_version=3, summary=5{value=1{tag=1, simple_value=2}}}``."""
    message = _field(1, 1) + struct.pack("<d", wall_time)
    if step:
        message += _field(2, 0) + _varint(step)
    if file_version is not None:
        message += _bytes_field(3, file_version.encode())
    if scalars:
        summary = b"".join(
            _bytes_field(1, _bytes_field(1, tag.encode()) + _field(2, 5) + struct.pack("<f", value))
            for tag, value in scalars.items()
        )
        message += _bytes_field(5, summary)
    return message


def frame(record: bytes) -> bytes:
    """One TFRecord: length, its masked CRC, the data, its masked CRC."""
    length = struct.pack("<Q", len(record))
    return (length + struct.pack("<I", masked_crc32c(length)) + record
            + struct.pack("<I", masked_crc32c(record)))


class EventWriter:
    """Appends scalar summaries to a new ``events.out.tfevents.*`` file in ``log_dir``."""

    def __init__(self, log_dir: Path | str) -> None:
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        now = time.time()
        name = f"events.out.tfevents.{int(now)}.{socket.gethostname()}"
        self.path = self.log_dir / name
        self._file = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        self._write(encode_event(now, file_version="brain.Event:2"))

    def _write(self, event: bytes) -> None:
        self._file.write(frame(event))
        self._file.flush()

    def add_scalars(self, step: int, scalars: dict[str, float]) -> None:
        """Record ``{tag: value}`` at ``step``."""
        self._write(encode_event(time.time(), step, scalars=scalars))

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
