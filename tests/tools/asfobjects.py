#!/usr/bin/env python3
"""Print the object tree of an ASF file: top-level objects, Header children and
Header Extension children, with the interesting fields of File Properties,
Stream Properties and Stream Bitrate Properties.

usage: asfobjects.py FILE
"""
import struct
import sys
import uuid

NAMES = {
    '75b22630-668e-11cf-a6d9-00aa0062ce6c': 'Header',
    '75b22636-668e-11cf-a6d9-00aa0062ce6c': 'Data',
    '33000890-e5b1-11cf-89f4-00a0c90349cb': 'SimpleIndex',
    'd6e229d3-35da-11d1-9034-00a0c90349be': 'Index',
    '8cabdca1-a947-11cf-8ee4-00c00c205365': 'FileProperties',
    'b7dc0791-a9b7-11cf-8ee6-00c00c205365': 'StreamProperties',
    '5fbf03b5-a92e-11cf-8ee3-00c00c205365': 'HeaderExtension',
    '86d15240-311d-11d0-a3a4-00a0c90348f6': 'CodecList',
    '75b22633-668e-11cf-a6d9-00aa0062ce6c': 'ContentDescription',
    'd2d0a440-e307-11d2-97f0-00a0c95ea850': 'ExtendedContentDescription',
    '7bf875ce-468d-11d1-8d82-006097c9a2b2': 'StreamBitrateProperties',
    '14e6a5cb-c672-4332-8399-a96952065b5a': 'ExtendedStreamProperties',
    'c5f8cbea-5baf-4877-8467-aa8c44fa4cca': 'Metadata',
    'd6e229df-35da-11d1-9034-00a0c90349be': 'MutualExclusion',
    '26f18b5d-4584-47ec-9f5f-0e651f0452c9': 'Compatibility',
    'd9aade20-7c17-4f9c-bc28-8555dd98e2a2': 'IndexParameters',
    '1806d474-cadf-4509-a4ba-9aabcb96aae8': 'Padding',
    'a08649cf-4775-4670-8a16-6e35357566cd': 'AdvancedMutualExclusion',
    '44231c94-9498-49d1-a141-1d134e457054': 'MetadataLibrary',
    'd4fed15b-88d3-454f-81f0-ed5c45999e24': 'StreamPrioritization',
    '7c4346a9-efe0-4bfc-b229-393ede415c85': 'LanguageList',
    '1efb1a30-0b62-11d0-a39b-00a0c90348f6': 'ContentEncryption',
    'f8699e40-5b4d-11cf-a8fd-00805f5c442b': 'AudioMedia',
    'bc19efc0-5b4d-11cf-a8fd-00805f5c442b': 'VideoMedia',
}


def name(guid):
    return NAMES.get(str(guid), str(guid))


def describe(buf, off, kind):
    body = off + 24
    if kind == 'StreamProperties':
        num = struct.unpack_from('<H', buf, body + 16 + 16 + 8 + 4 + 4)[0] & 0x7f
        return f' stream={num} type={name(uuid.UUID(bytes_le=bytes(buf[body:body + 16])))}'
    if kind == 'StreamBitrateProperties':
        count = struct.unpack_from('<H', buf, body)[0]
        recs = [struct.unpack_from('<HI', buf, body + 2 + 6 * i) for i in range(count)]
        return ' ' + ', '.join(f'stream {f & 0x7f}: {b} bps' for f, b in recs)
    if kind == 'FileProperties':
        packets = struct.unpack_from('<Q', buf, body + 16 + 8 + 8)[0]
        play, send, preroll = struct.unpack_from('<QQQ', buf, body + 16 + 8 + 8 + 8)
        flags, minp, maxp, maxbr = struct.unpack_from('<IIII', buf, body + 16 + 8 * 6)
        return (f' packets={packets} play={play / 1e7:.3f}s preroll={preroll}ms flags=0x{flags:x}'
                f' min_packet={minp} max_packet={maxp} max_bitrate={maxbr}')
    if kind == 'Header':
        return f' objects={struct.unpack_from("<I", buf, body)[0]}'
    return ''


def walk(buf, off, end, depth):
    while off + 24 <= end:
        guid = uuid.UUID(bytes_le=bytes(buf[off:off + 16]))
        size = struct.unpack_from('<Q', buf, off + 16)[0]
        kind = name(guid)
        print('  ' * depth + f'{kind} @{off} size={size}{describe(buf, off, kind)}')
        if size < 24:
            print('  ' * depth + 'bad object size, stopping')
            return
        if kind == 'Header':
            walk(buf, off + 30, off + size, depth + 1)
        elif kind == 'HeaderExtension':
            walk(buf, off + 46, off + size, depth + 1)
        off += size


with open(sys.argv[1], 'rb') as f:
    data = f.read()
walk(data, 0, len(data), 0)
