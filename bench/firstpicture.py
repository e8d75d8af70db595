#!/usr/bin/python3
"""First picture in a playbin player.

Time from asking playbin for PLAYING to the first video frame rendered by a
synchronised video sink, with a player's buffering policy (gst-play and Totem:
PAUSED while a BUFFERING message says less than 100 %, PLAYING again at 100 %;
none for live pipelines).

usage: firstpicture.py URI [RUNS [PROTOCOLS [PROPERTY=VALUE...]]]
  PROTOCOLS: mmssrc's `protocols` (e.g. rtspu), "-" for the default walk.
  PROPERTY=VALUE: further mmssrc properties (e.g. fast-start=false).
prints one line per run:
  "first_picture_ms=X buffering_ms=B transport=T"
  (buffering_ms: how long the player held the pipeline in PAUSED for buffering)
"""
import sys
import time

import gi

gi.require_version('Gst', '1.0')
from gi.repository import GLib, Gst  # noqa: E402

Gst.init(None)
uri = sys.argv[1]
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
protocols = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] != '-' else ''
props = [a.split('=', 1) for a in sys.argv[4:]]


def one_run():
    player = Gst.ElementFactory.make('playbin', None)
    player.set_property('uri', uri)
    vsink = Gst.ElementFactory.make('fakesink', None)
    vsink.set_property('sync', True)
    vsink.set_property('signal-handoffs', True)
    asink = Gst.ElementFactory.make('fakesink', None)
    asink.set_property('sync', True)
    player.set_property('video-sink', vsink)
    player.set_property('audio-sink', asink)
    state = {'t0': 0.0, 'first': None, 'buffering': False, 'buf_since': 0.0, 'buf_total': 0.0,
             'live': False, 'src': None, 'error': None}
    loop = GLib.MainLoop()

    def on_source(_p, source):
        state['src'] = source
        if source.find_property('protocols') is not None and protocols:
            source.set_property('protocols', protocols)
        for k, v in props:
            if source.find_property(k) is not None:
                Gst.util_set_object_arg(source, k, v)

    def on_handoff(_sink, _buf, _pad):
        if state['first'] is None:
            state['first'] = time.monotonic()
            GLib.idle_add(loop.quit)

    def on_message(_bus, msg):
        t = msg.type
        if t == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            state['error'] = f'{err.message} ({dbg})'
            loop.quit()
        elif t == Gst.MessageType.EOS:
            loop.quit()
        elif t == Gst.MessageType.BUFFERING and not state['live']:
            percent = msg.parse_buffering()
            if percent < 100 and not state['buffering']:
                state['buffering'] = True
                state['buf_since'] = time.monotonic()
                player.set_state(Gst.State.PAUSED)
            elif percent >= 100 and state['buffering']:
                state['buffering'] = False
                state['buf_total'] += time.monotonic() - state['buf_since']
                player.set_state(Gst.State.PLAYING)
        return True

    player.connect('source-setup', on_source)
    vsink.connect('handoff', on_handoff)
    bus = player.get_bus()
    bus.add_signal_watch()
    bus.connect('message', on_message)
    GLib.timeout_add_seconds(30, loop.quit)
    state['t0'] = time.monotonic()
    ret = player.set_state(Gst.State.PLAYING)
    state['live'] = ret == Gst.StateChangeReturn.NO_PREROLL
    loop.run()
    transport = ''
    src = state['src']
    if src is not None and src.find_property('transport') is not None:
        transport = src.get_property('transport') or ''
    player.set_state(Gst.State.NULL)
    bus.remove_signal_watch()
    if state['first'] is None:
        print(f'no picture within 30 s: {state["error"] or "timeout"}', file=sys.stderr)
        return 1
    print(f'first_picture_ms={(state["first"] - state["t0"]) * 1000:.0f} '
          f'buffering_ms={state["buf_total"] * 1000:.0f} transport={transport or "-"}')
    sys.stdout.flush()
    return 0


rc = 0
for _ in range(runs):
    rc |= one_run()
sys.exit(rc)
