#!/usr/bin/python3
"""Checks that what a client received from a live broadcast joined late is the
end of the reference: per stream, the received frames, after at most
--max-lead frames at the join (a decoder starting mid-stream), equal the
reference's last frames, up to its very end (no truncation).

usage: frames_suffix.py WANT GOT [--max-lead N] [--max-tail N] [--min-fraction F]
                         [--what TEXT]

Both files are either gst_frames.py output ("audio <md5>", "video <md5>") or
FFmpeg framemd5 lines ("stream, dts, pts, duration, size, md5"; timestamps
are ignored). A received stream is matched to the reference stream it is the
suffix of (stream numbers may differ between muxers). Every reference stream
must be received, each with at least --min-fraction of its frames (default
0.3). --max-tail N lets up to N of the reference's last frames be missing (a
client that stops recording just before the end; default 0). Exit 0 when all match; 1 with the first differences otherwise."""
import sys


def read(path):
    streams = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            if ',' in line:
                fields = [x.strip() for x in line.split(',')]
                if len(fields) < 6:
                    continue
                streams.setdefault(fields[0], []).append(fields[4] + ',' + fields[5])
            else:
                kind, _, md5 = line.partition(' ')
                streams.setdefault(kind, []).append(md5)
    return streams


def suffix_lead(want, got, max_lead, max_tail):
    """The smallest (lead k <= max_lead, tail t <= max_tail) with got[k:] equal
    to the n = len(got) - k frames of `want` that end t frames before its end."""
    for t in range(0, max_tail + 1):
        end = len(want) - t
        for k in range(0, min(max_lead, len(got) - 1) + 1):
            n = len(got) - k
            if 0 < n <= end and got[k:] == want[end - n:end]:
                return k, t
    return None


def main():
    args = sys.argv[1:]
    max_lead = 2
    max_tail = 0
    min_fraction = 0.3
    what = 'received'
    while len(args) > 2:
        opt = args.pop(2)
        if opt == '--max-lead':
            max_lead = int(args.pop(2))
        elif opt == '--max-tail':
            max_tail = int(args.pop(2))
        elif opt == '--min-fraction':
            min_fraction = float(args.pop(2))
        elif opt == '--what':
            what = args.pop(2)
        else:
            sys.exit('unknown option ' + opt)
    if len(args) != 2:
        sys.exit(__doc__)
    want = read(args[0])
    got = read(args[1])
    if not want:
        print(f'{what}: the reference has no frames')
        return 1
    ok = True
    matched = set()
    for gname, gframes in sorted(got.items()):
        found = None
        for wname, wframes in sorted(want.items()):
            if wname in matched:
                continue
            r = suffix_lead(wframes, gframes, max_lead, max_tail)
            if r is not None:
                found = (wname, r[0], r[1])
                break
        if found is None:
            print(f'{what}: stream {gname} ({len(gframes)} frames) is not the end of any '
                  f'reference stream ({", ".join(f"{n}: {len(v)}" for n, v in want.items())})')
            for wname, wframes in sorted(want.items()):
                if gframes and gframes[-1] in wframes:
                    print(f'  its last frame is frame {wframes.index(gframes[-1]) + 1} of '
                          f'{len(wframes)} of reference stream {wname}')
                if gframes and gframes[0] in wframes:
                    print(f'  its first frame is frame {wframes.index(gframes[0]) + 1} of '
                          f'{len(wframes)} of reference stream {wname}')
            ok = False
            continue
        wname, k, t = found
        matched.add(wname)
        n = len(gframes) - k
        total = len(want[wname])
        print(f'{what}: stream {gname}: {len(gframes)} frames, the last {n} equal reference '
              f'stream {wname} from frame {total - t - n + 1} of {total} to '
              f'{f"{t} before " if t else ""}its end'
              f'{f" ({k} at the join differ)" if k else ""}')
        if n < min_fraction * total:
            print(f'{what}: only {n} of {total} frames of stream {wname}: joined too late '
                  f'or cut short')
            ok = False
    for wname in want:
        if wname not in matched:
            print(f'{what}: reference stream {wname} was not received')
            ok = False
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
