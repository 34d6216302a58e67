#!/usr/bin/env python3
"""Serve an H.264 MP4 clip over RTSP on 127.0.0.1 for the tests.

    rtsp_server.py CLIP PORT

Prints "ready rtsp://127.0.0.1:PORT/clip" once it accepts clients, then
serves until it is killed. Each client gets its own playback of the clip
from the start, in real time.
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: rtsp_server.py CLIP PORT")
    clip, port = sys.argv[1], sys.argv[2]
    Gst.init(None)

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)

    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f'( filesrc location="{clip}" ! qtdemux ! h264parse config-interval=-1 ! '
        "rtph264pay name=pay0 pt=96 )"
    )
    factory.set_shared(False)
    server.get_mount_points().add_factory("/clip", factory)

    if server.attach(None) == 0:
        sys.exit(f"cannot listen on 127.0.0.1:{port}")
    print(f"ready rtsp://127.0.0.1:{port}/clip", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
