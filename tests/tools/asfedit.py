#!/usr/bin/env python3
"""Rewrite ASF files to produce test media variants.

  asfedit.py strip-index IN OUT   keep only the Header and Data objects (drops
                                  Simple Index and any other top-level object)
  asfedit.py broadcast IN OUT     set the File Properties broadcast flag (0x1)
                                  and clear the seekable flag (0x2), as a live
                                  Windows Media server header does
  asfedit.py fix-count IN OUT     set the Header object's sub-object count to
                                  the number of objects actually present
  asfedit.py bump-count IN OUT    add one to that count (reproduces the header
                                  VLC's ASF muxer writes)
  asfedit.py mbr IN OUT N:BPS,... [N,N,...]
                                  insert a Stream Bitrate Properties object
                                  (one record per stream) and, when a stream
                                  list is given, a bitrate Mutual Exclusion
                                  object over those streams
  asfedit.py bitrates IN OUT N:BPS,...
                                  insert a Stream Bitrate Properties object
                                  after the last Stream Properties object, where
                                  Windows Media Encoder writes it (asfdemux reads
                                  the bitrates only of streams it already knows)
  asfedit.py script IN OUT MS:TYPE:COMMAND|...
                                  insert a Script Command Object (commands at
                                  MS milliseconds, e.g. "0:TEXT:Hello|1500:URL:
                                  http://host/") after File Properties

Only the Python standard library is used; output is byte-for-byte
deterministic for a given input.
"""
import struct
import sys
import uuid

HEADER = uuid.UUID('75b22630-668e-11cf-a6d9-00aa0062ce6c')
DATA = uuid.UUID('75b22636-668e-11cf-a6d9-00aa0062ce6c')
FILE_PROPERTIES = uuid.UUID('8cabdca1-a947-11cf-8ee4-00c00c205365')
STREAM_BITRATE_PROPERTIES = uuid.UUID('7bf875ce-468d-11d1-8d82-006097c9a2b2')
MUTUAL_EXCLUSION = uuid.UUID('d6e229dc-35da-11d1-9034-00a0c90349be')  # Bitrate Mutual Exclusion Object
STREAM_PROPERTIES = uuid.UUID('b7dc0791-a9b7-11cf-8ee6-00c00c205365')
MUTEX_BITRATE = uuid.UUID('d6e22a01-35da-11d1-9034-00a0c90349be')
SCRIPT_COMMAND = uuid.UUID('1efb1a30-0b62-11d0-a39b-00a0c90348f6')

HEADER_FIXED = 30          # GUID + size + object count + 2 reserved bytes
# File Properties body: file id (16), file size (8), creation date (8),
# packet count (8), play duration (8), send duration (8), preroll (8), flags (4)
FPROP_FILE_SIZE = 24 + 16
FPROP_FLAGS = 24 + 16 + 8 * 6


def objects(buf, off, end):
    """Yield (guid, offset, size) for consecutive ASF objects in buf[off:end]."""
    while off + 24 <= end:
        guid = uuid.UUID(bytes_le=bytes(buf[off:off + 16]))
        size = struct.unpack_from('<Q', buf, off + 16)[0]
        if size < 24:
            raise SystemExit(f'asfedit: bad object size {size} at offset {off}')
        yield guid, off, size
        off += size


def header_children(buf, header_size):
    return list(objects(buf, HEADER_FIXED, header_size))


def main(argv):
    if len(argv) < 4:
        raise SystemExit(__doc__)
    cmd, src, dst = argv[1:4]
    with open(src, 'rb') as f:
        buf = bytearray(f.read())
    top = list(objects(buf, 0, len(buf)))
    if not top or top[0][0] != HEADER:
        raise SystemExit(f'asfedit: {src} does not start with an ASF Header object')
    header_size = top[0][2]

    if cmd == 'strip-index':
        out = b''.join(bytes(buf[o:o + s]) for g, o, s in top if g in (HEADER, DATA))
    elif cmd == 'broadcast':
        for g, o, _ in header_children(buf, header_size):
            if g == FILE_PROPERTIES:
                flags = struct.unpack_from('<I', buf, o + FPROP_FLAGS)[0]
                struct.pack_into('<I', buf, o + FPROP_FLAGS, (flags | 0x1) & ~0x2)
        out = bytes(buf)
    elif cmd in ('fix-count', 'bump-count'):
        count = len(header_children(buf, header_size))
        struct.pack_into('<I', buf, 24, count + (1 if cmd == 'bump-count' else 0))
        out = bytes(buf)
    elif cmd in ('mbr', 'bitrates', 'script'):
        if len(argv) < 5:
            raise SystemExit(__doc__)
        if cmd == 'script':
            commands = [c.split(':', 2) for c in argv[4].split('|')]
            types = []
            for _, kind, _ in commands:
                if kind not in types:
                    types.append(kind)

            def counted(text):
                units = text.encode('utf-16-le')
                return struct.pack('<H', len(units) // 2) + units
            body = bytes(16) + struct.pack('<HH', len(commands), len(types))
            body += b''.join(counted(t) for t in types)
            body += b''.join(struct.pack('<IH', int(ms), types.index(kind)) + counted(text)
                             for ms, kind, text in commands)
            insert = SCRIPT_COMMAND.bytes_le + struct.pack('<Q', 24 + len(body)) + body
        else:
            records = [tuple(int(x) for x in r.split(':')) for r in argv[4].split(',')]
            body = struct.pack('<H', len(records))
            body += b''.join(struct.pack('<HI', num & 0x7f, bps) for num, bps in records)
            insert = STREAM_BITRATE_PROPERTIES.bytes_le + struct.pack('<Q', 24 + len(body)) + body
        added = 1
        if cmd == 'mbr' and len(argv) > 5:
            streams = [int(x) for x in argv[5].split(',')]
            body = MUTEX_BITRATE.bytes_le + struct.pack('<H', len(streams))
            body += b''.join(struct.pack('<H', s) for s in streams)
            insert += MUTUAL_EXCLUSION.bytes_le + struct.pack('<Q', 24 + len(body)) + body
            added = 2
        count = struct.unpack_from('<I', buf, 24)[0]
        struct.pack_into('<Q', buf, 16, header_size + len(insert))
        struct.pack_into('<I', buf, 24, count + added)
        insert_at = None
        for g, o, s in header_children(buf, header_size):
            if g == FILE_PROPERTIES:
                size_field = struct.unpack_from('<Q', buf, o + FPROP_FILE_SIZE)[0]
                struct.pack_into('<Q', buf, o + FPROP_FILE_SIZE, size_field + len(insert))
                if cmd in ('mbr', 'script'):
                    insert_at = o + s
            elif g == STREAM_PROPERTIES and cmd == 'bitrates':
                insert_at = o + s
        if insert_at is None:
            raise SystemExit('asfedit: no File Properties or Stream Properties object')
        out = bytes(buf[:insert_at]) + insert + bytes(buf[insert_at:])
    else:
        raise SystemExit(__doc__)
    with open(dst, 'wb') as f:
        f.write(out)


if __name__ == '__main__':
    main(sys.argv)
