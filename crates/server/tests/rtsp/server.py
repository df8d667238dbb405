#!/usr/bin/python3
"""An RTSP camera for confab's tests: GStreamer's RTSP server (Debian's
gir1.2-gst-rtsp-server-1.0) on 127.0.0.1, serving a live test picture in H.264 with a
4 s group of pictures (key-int-max=120 at 30 fps, so the SFU's cache of the last group
matters) and G.711 mu-law audio, at rtsp://127.0.0.1:PORT/cam. With USER and PASSWORD it
asks for them (basic authentication).

Usage: server.py PORT [USER PASSWORD] [--codec h264|h265]
Prints "ready" on stdout once it listens; runs until killed.
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    codec = sys.argv[sys.argv.index("--codec") + 1] if "--codec" in sys.argv else "h264"
    args = [a for a in args if a not in ("h264", "h265")]
    port = args[0]
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    video = (
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! "
        + (
            "x264enc tune=zerolatency speed-preset=ultrafast bitrate=400 key-int-max=120 "
            "! video/x-h264,profile=constrained-baseline ! rtph264pay name=pay0 pt=96 config-interval=-1"
            if codec == "h264"
            # What many cameras send today, and the SFU refuses.
            else "x265enc tune=zerolatency speed-preset=ultrafast bitrate=400 key-int-max=120 "
            "! rtph265pay name=pay0 pt=96"
        )
    )
    audio = "audiotestsrc is-live=true wave=sine samplesperbuffer=160 ! audio/x-raw,rate=8000,channels=1 ! mulawenc ! rtppcmupay name=pay1 pt=0"
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch("( " + video + " " + audio + " )")
    factory.set_shared(True)
    if len(args) >= 3:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "user")
        basic = GstRtspServer.RTSPAuth.make_basic(args[1], args[2])
        auth.add_basic(basic, token)
        server.set_auth(auth)
        perms = GstRtspServer.RTSPPermissions()
        perms.add_permission_for_role("user", "media.factory.access", True)
        perms.add_permission_for_role("user", "media.factory.construct", True)
        factory.set_permissions(perms)
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        print("cannot listen", flush=True)
        sys.exit(1)
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
