#!/usr/bin/env python3
"""Write an ASF file whose only stream is a command (script) stream.

  asfcommands.py OUT "MS:TYPE:COMMAND|MS:TYPE:COMMAND|..."

Each command becomes one sample of stream 1 (ASF_Command_Media) in a packet
of its own: the type and the command as NUL-terminated UTF-16LE strings, one
after the other (Windows Media Format SDK script streams), presentation time
MS plus the 1000 ms preroll, send time MS. Packets are 256 bytes, padded.
Only the Python standard library is used; the output is deterministic.
"""
import struct
import sys
import uuid

HEADER = uuid.UUID('75b22630-668e-11cf-a6d9-00aa0062ce6c')
DATA = uuid.UUID('75b22636-668e-11cf-a6d9-00aa0062ce6c')
FILE_PROPERTIES = uuid.UUID('8cabdca1-a947-11cf-8ee4-00c00c205365')
STREAM_PROPERTIES = uuid.UUID('b7dc0791-a9b7-11cf-8ee6-00c00c205365')
COMMAND_MEDIA = uuid.UUID('59dacfc0-59e6-11d0-a3ac-00a0c90348f6')
NO_ERROR_CORRECTION = uuid.UUID('20fb5700-5b55-11cf-a8fd-00805f5c442b')

PACKET_SIZE = 256
PREROLL_MS = 1000


def obj(guid, body):
    return guid.bytes_le + struct.pack('<Q', 24 + len(body)) + body


def packet(send_ms, number, sample, presentation_ms):
    head = bytes([0x82, 0, 0, 0x08, 0x5D])  # EC; padding length BYTE; BYTE/DWORD/BYTE/BYTE fields
    fixed_after_padding = struct.pack('<IH', send_ms, 100)
    payload = bytes([0x81, number & 0xFF]) + struct.pack('<I', 0) + bytes([8])
    payload += struct.pack('<II', len(sample), presentation_ms) + sample
    used = len(head) + 1 + len(fixed_after_padding) + len(payload)
    padding = PACKET_SIZE - used
    if padding < 0:
        raise SystemExit(f'asfcommands: command too long for a {PACKET_SIZE}-byte packet')
    return head + bytes([padding]) + fixed_after_padding + payload + bytes(padding)


def main(argv):
    if len(argv) != 3:
        raise SystemExit(__doc__)
    commands = [c.split(':', 2) for c in argv[2].split('|')]
    packets = []
    for i, (ms, kind, text) in enumerate(commands):
        sample = (kind + '\0' + text + '\0').encode('utf-16-le')
        packets.append(packet(int(ms), i, sample, int(ms) + PREROLL_MS))
    last_ms = max(int(ms) for ms, _, _ in commands) + 100
    fp = obj(FILE_PROPERTIES, bytes(16) + struct.pack(
        '<QQQQQQIIII', 0, 0, len(packets), (last_ms + PREROLL_MS) * 10000, last_ms * 10000,
        PREROLL_MS, 2, PACKET_SIZE, PACKET_SIZE, 8000))
    sp = obj(STREAM_PROPERTIES, COMMAND_MEDIA.bytes_le + NO_ERROR_CORRECTION.bytes_le +
             struct.pack('<QIIHI', 0, 0, 0, 1, 0))
    header = HEADER.bytes_le + struct.pack('<QIBB', 30 + len(fp) + len(sp), 2, 1, 2) + fp + sp
    data = DATA.bytes_le + struct.pack('<Q', 50 + len(packets) * PACKET_SIZE) + bytes(16)
    data += struct.pack('<QH', len(packets), 0x0101) + b''.join(packets)
    out = bytearray(header + data)
    # File Properties' file size.
    struct.pack_into('<Q', out, 30 + 24 + 16, len(out))
    with open(argv[1], 'wb') as f:
        f.write(out)


if __name__ == '__main__':
    main(sys.argv)
