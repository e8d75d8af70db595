#!/usr/bin/python3
"""gst-rtsp-server serving one ASF file as RTP (rtpasfpay): an RTSP/ASF server
we did not write. Prints "serving rtsp://127.0.0.1:PORT/asf" once listening.

usage: rtsp_asf_server.py FILE.asf   (port chosen by the system)"""
import sys

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

Gst.init(None)
path = sys.argv[1]
server = GstRtspServer.RTSPServer()
server.set_address('127.0.0.1')
server.set_service('0')
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(f'( filesrc location="{path}" ! asfparse ! rtpasfpay name=pay0 pt=96 )')
factory.set_shared(False)
server.get_mount_points().add_factory('/asf', factory)
server.attach(None)
print(f'serving rtsp://127.0.0.1:{server.get_bound_port()}/asf', flush=True)
GLib.MainLoop().run()
