#!/usr/bin/python3
"""Decodes a URI with GStreamer and prints one line per decoded frame:
"<kind> <md5>", kind = audio or video, frames of a kind in arrival order.

usage: gst_frames.py URI [rtsp-protocols]
  rtsp-protocols: "tcp" or "udp" restricts rtspsrc's lower transport.
Exits 0 at EOS, 1 on an error or when nothing arrived within the bound.

A stream change (a chained ASF, a server-side playlist entry, a publishing
point's new header) removes the decoder's pads and adds new ones; the sink of
a removed pad is removed with it, as an application must: the old sinks get
no EOS, and the bin would never post EOS while they stay."""
import hashlib
import sys

import gi

gi.require_version('Gst', '1.0')
from gi.repository import GLib, Gst  # noqa: E402

Gst.init(None)
uri = sys.argv[1]
protocols = sys.argv[2] if len(sys.argv) > 2 else ''
frames = {'audio': [], 'video': []}
sinks = []  # (decoder pad, its fakesink)

pipeline = Gst.Pipeline.new('p')
dec = Gst.ElementFactory.make('uridecodebin', 'dec')
dec.set_property('uri', uri)
pipeline.add(dec)


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
    sinks.append((pad, sink))
    if kind:
        sink.get_static_pad('sink').add_probe(Gst.PadProbeType.BUFFER, make_probe(kind))


def on_pad_removed(_dec, pad):
    for entry in [e for e in sinks if e[0] == pad]:
        sinks.remove(entry)
        entry[1].set_state(Gst.State.NULL)
        pipeline.remove(entry[1])


dec.connect('source-setup', on_source_setup)
dec.connect('pad-added', on_pad_added)
dec.connect('pad-removed', on_pad_removed)
pipeline.set_state(Gst.State.PLAYING)
bus = pipeline.get_bus()
rc = 1
msg = bus.timed_pop_filtered(120 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
if msg is None:
    print('no EOS within 120 s', file=sys.stderr)
elif msg.type == Gst.MessageType.ERROR:
    err, dbg = msg.parse_error()
    print(f'error: {err.message} ({dbg})', file=sys.stderr)
else:
    rc = 0
pipeline.set_state(Gst.State.NULL)
for kind in ('audio', 'video'):
    for md5 in frames[kind]:
        print(kind, md5)
print(f'frames: audio {len(frames["audio"])}, video {len(frames["video"])}', file=sys.stderr)
sys.exit(rc)
