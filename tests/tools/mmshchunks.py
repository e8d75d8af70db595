#!/usr/bin/env python3
"""Summarise the MMSH chunk framing ($H, $D, $E, $C, $M, $P) of an HTTP
response body.  An HTTP status line and headers at the start are skipped.

usage: mmshchunks.py BODY
"""
import collections
import struct
import sys

with open(sys.argv[1], 'rb') as f:
    data = f.read()
if data.startswith(b'HTTP/'):
    end = data.find(b'\r\n\r\n')
    if end >= 0:
        data = data[end + 4:]

off = 0
counts = collections.Counter()
lines = []
while off + 4 <= len(data):
    if data[off:off + 1] != b'$':
        lines.append(f'out of sync at {off}: {data[off:off + 8].hex()}')
        break
    kind = data[off + 1:off + 2].decode('latin1')
    length = struct.unpack_from('<H', data, off + 2)[0]
    body = data[off + 4:off + 4 + length]
    info = ''
    if kind in 'HDC' and len(body) >= 8:
        seq, unknown, flags, len2 = struct.unpack_from('<IBBH', body, 0)
        info = f' seq={seq} b4=0x{unknown:02x} flags=0x{flags:02x} len2={len2} payload={length - 8}'
    elif kind == 'E' and len(body) >= 4:
        info = f' reason=0x{struct.unpack_from("<I", body, 0)[0]:08x}'
    counts[kind] += 1
    if kind != 'D' or counts['D'] <= 8:
        lines.append(f'@{off} ${kind} len={length}{info}')
    off += 4 + length
print('\n'.join(lines[:60]))
print('counts:', dict(counts), 'parsed_bytes:', off, 'of', len(data))
