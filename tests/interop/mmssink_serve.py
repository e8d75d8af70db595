#!/usr/bin/python3
"""Runs a pipeline ending in an mmssink named "sink" until EOS and reports
what the sink saw, one line each (flushed):

  port N                                  once it listens
  connected CLIENT                        mms-client-connected
  disconnected CLIENT PATH TRANSPORT STATUS BYTES
                                          mms-client-disconnected
  stats CLIENTS CONNECTIONS BYTES PACKETS HEADERS
                                          the stats property at EOS

usage: mmssink_serve.py PIPELINE [TIMEOUT_SECONDS]
Exits 0 at EOS, 1 on an error or when the bound (default 120 s) runs out."""
import sys

import gi

gi.require_version('Gst', '1.0')
from gi.repository import GLib, Gst  # noqa: E402

Gst.init(None)
pipeline = Gst.parse_launch(sys.argv[1])
bound = int(sys.argv[2]) if len(sys.argv) > 2 else 120
sink = pipeline.get_by_name('sink')
if sink is None:
    sys.exit('the pipeline has no element named "sink"')
loop = GLib.MainLoop()
result = {'code': 1}


def say(text):
    print(text, flush=True)


def on_message(_bus, msg):
    t = msg.type
    if t == Gst.MessageType.ELEMENT and msg.src == sink:
        s = msg.get_structure()
        if s.get_name() == 'mms-client-connected':
            say(f'connected {s.get_string("client")}')
        elif s.get_name() == 'mms-client-disconnected':
            say(f'disconnected {s.get_string("client")} {s.get_string("path") or "-"} '
                f'{s.get_string("transport") or "-"} {s.get_int("status")[1]} '
                f'{s.get_uint64("bytes-sent")[1]}')
    elif t == Gst.MessageType.EOS:
        st = sink.get_property('stats')
        say(f'stats {st.get_uint("clients")[1]} {st.get_uint64("connections")[1]} '
            f'{st.get_uint64("bytes-sent")[1]} {st.get_uint64("packets")[1]} '
            f'{st.get_uint("headers")[1]}')
        result['code'] = 0
        loop.quit()
    elif t == Gst.MessageType.ERROR:
        err, dbg = msg.parse_error()
        say(f'error {err.message} ({dbg})')
        loop.quit()


def on_timeout():
    say(f'error no EOS within {bound} s')
    loop.quit()
    return False


bus = pipeline.get_bus()
bus.add_signal_watch()
bus.connect('message', on_message)
if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
    say('error the pipeline does not start')
    sys.exit(1)
pipeline.get_state(10 * Gst.SECOND)
say(f'port {sink.get_property("current-port")}')
GLib.timeout_add_seconds(bound, on_timeout)
loop.run()
pipeline.set_state(Gst.State.NULL)
sys.exit(result['code'])
