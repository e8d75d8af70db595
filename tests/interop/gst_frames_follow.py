#!/usr/bin/python3
"""gst_frames.py for redirectors: decodes a URI with GStreamer and prints one
line per decoded frame: "<kind> <md5>", kind = audio or video, frames of a kind
in arrival order; follows redirects as a player does.

usage: gst_frames_follow.py [--follow-redirects] [--mmssrc] URI [rtsp-protocols]
  rtsp-protocols: "tcp" or "udp" restricts rtspsrc's lower transport.
  --follow-redirects: act on the element message "redirect" as players do
      (Totem): print "redirect <new-location> <number of locations>" to stderr,
      drop the frames so far and play new-location instead (5 at most).
  --mmssrc: read URI with "mmssrc location=URI ! decodebin" (mmssrc speaks
      MMSH for http:// and follows redirector files itself), not uridecodebin.
Exits 0 at EOS, 1 on an error or when nothing arrived within the bound."""
import hashlib
import sys

import gi

gi.require_version('Gst', '1.0')
from gi.repository import GLib, Gst  # noqa: E402

Gst.init(None)
args = sys.argv[1:]
follow = '--follow-redirects' in args
force_mmssrc = '--mmssrc' in args
args = [a for a in args if a not in ('--follow-redirects', '--mmssrc')]
uri = args[0]
protocols = args[1] if len(args) > 1 else ''
frames = {'audio': [], 'video': []}
pipeline = None


def on_source_setup(_bin, source):
    if protocols and source.find_property('protocols') is not None:
        flags = {'udp': 1, 'tcp': 4}[protocols]
        source.set_property('protocols', flags)


def make_probe(kind):
    def probe(_pad, info):
        buf = info.get_buffer()
        ok, m = buf.map(Gst.MapFlags.READ)
        if ok:
            frames[kind].append(hashlib.md5(bytes(m.data)).hexdigest())
            buf.unmap(m)
        return Gst.PadProbeReturn.OK
    return probe


def on_pad_added(_dec, pad):
    caps = pad.get_current_caps() or pad.query_caps(None)
    name = caps.get_structure(0).get_name()
    kind = 'audio' if name.startswith('audio/') else 'video' if name.startswith('video/') else None
    sink = Gst.ElementFactory.make('fakesink', None)
    sink.set_property('sync', False)
    pipeline.add(sink)
    sink.sync_state_with_parent()
    pad.link(sink.get_static_pad('sink'))
    if kind:
        sink.get_static_pad('sink').add_probe(Gst.PadProbeType.BUFFER, make_probe(kind))


def play(location):
    """Plays location to its end: returns ('eos'|'error'|'timeout'|'redirect', detail)."""
    global pipeline
    pipeline = Gst.Pipeline.new('p')
    if force_mmssrc:
        src = Gst.ElementFactory.make('mmssrc', 'src')
        src.set_property('location', location)
        dec = Gst.ElementFactory.make('decodebin', 'dec')
        pipeline.add(src)
        pipeline.add(dec)
        src.link(dec)
    else:
        dec = Gst.ElementFactory.make('uridecodebin', 'dec')
        dec.set_property('uri', location)
        pipeline.add(dec)
        dec.connect('source-setup', on_source_setup)
    dec.connect('pad-added', on_pad_added)
    pipeline.set_state(Gst.State.PLAYING)
    bus = pipeline.get_bus()
    kinds = Gst.MessageType.EOS | Gst.MessageType.ERROR
    if follow:
        kinds |= Gst.MessageType.ELEMENT
    try:
        while True:
            msg = bus.timed_pop_filtered(120 * Gst.SECOND, kinds)
            if msg is None:
                return 'timeout', 'no EOS within 120 s'
            if msg.type == Gst.MessageType.ELEMENT:
                st = msg.get_structure()
                if follow and st is not None and st.get_name() == 'redirect':
                    new = st.get_string('new-location')
                    ok, locations = st.get_list('locations') if st.has_field('locations') else (False, None)
                    count = locations.n_values if ok and locations is not None else 1
                    print(f'redirect {new} {count}', file=sys.stderr)
                    return 'redirect', new
                continue
            if msg.type == Gst.MessageType.ERROR:
                err, dbg = msg.parse_error()
                return 'error', f'{err.message} ({dbg})'
            return 'eos', ''
    finally:
        pipeline.set_state(Gst.State.NULL)


rc = 1
for _ in range(6):
    result, detail = play(uri)
    if result == 'redirect':
        uri = detail
        frames = {'audio': [], 'video': []}
        continue
    if result == 'eos':
        rc = 0
    else:
        print(f'error: {detail}' if result == 'error' else detail, file=sys.stderr)
    break
else:
    print('too many redirects', file=sys.stderr)
for kind in ('audio', 'video'):
    for md5 in frames[kind]:
        print(kind, md5)
print(f'frames: audio {len(frames["audio"])}, video {len(frames["video"])}', file=sys.stderr)
sys.exit(rc)
