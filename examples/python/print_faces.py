#!/usr/bin/env python3
"""Print the faces that scrfddetect finds in a still or a video.

Runs FILE through ``filesrc ! decodebin ! videoconvert ! scrfddetect ! appsink``
and prints one JSON line per frame, read from the region-of-interest metas
that scrfddetect attaches to each buffer:

    {"frame":0,"pts":0,"faces":[{"x":237,"y":25,"width":149,"height":199,
     "confidence":0.8169841766357422,"x_min":0.2103,...,"landmarks":[[289.6,95.8],...]}]}

``x``, ``y``, ``width`` and ``height`` are the ROI rectangle in whole pixels.
``x_min`` to ``y_max`` are the unrounded box divided by the frame width or
height. ``landmarks`` lists the left eye, right eye, nose tip, left and right
mouth corner in frame pixels, only for models with landmarks. ``pts`` is in
nanoseconds, or null when the frame has none.

Needs PyGObject and GStreamer's GObject-introspection data (Debian:
python3-gi, gir1.2-gstreamer-1.0, gir1.2-gst-plugins-base-1.0), and
GST_PLUGIN_PATH set to the folder with libgstscrfd.so unless the plugin is
installed where GStreamer looks.
"""

import argparse
import json
import os
import sys

try:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstApp", "1.0")
    gi.require_version("GstVideo", "1.0")
    from gi.repository import (
        GLib,
        Gst,
        GstApp,  # noqa: F401 (unused by name, but gives appsink its methods)
        GstVideo,
    )
except (ImportError, ValueError) as error:
    sys.exit(
        f"error: PyGObject with the GStreamer typelibs is missing ({error}); install "
        "python3-gi, gir1.2-gstreamer-1.0 and gir1.2-gst-plugins-base-1.0 (Debian) "
        "and run this script with the system Python, /usr/bin/python3"
    )

# Names of the landmark fields, `<name>-x` and `<name>-y`, in model order.
LANDMARK_NAMES = (
    "left-eye",
    "right-eye",
    "nose-tip",
    "left-mouth-corner",
    "right-mouth-corner",
)
DETECTION_FIELDS = ("confidence", "x_min", "y_min", "x_max", "y_max")

# How long one wait for a frame lasts before the bus is checked for errors.
PULL_TIMEOUT = 100 * Gst.MSECOND


def read_face(roi):
    """Return one face as a dict, or None if its `detection` structure is incomplete."""
    detection = roi.get_param("detection")
    if detection is None:
        return None
    face = {"x": roi.x, "y": roi.y, "width": roi.w, "height": roi.h}
    for field in DETECTION_FIELDS:
        value = detection.get_value(field)
        if value is None:
            return None
        face[field] = value

    landmarks = roi.get_param("landmarks")
    if landmarks is not None:
        points = [
            [landmarks.get_value(f"{name}-x"), landmarks.get_value(f"{name}-y")]
            for name in LANDMARK_NAMES
        ]
        if all(value is not None for point in points for value in point):
            face["landmarks"] = points
    return face


def read_faces(buffer):
    """Return the faces attached to `buffer`, in the order scrfddetect attached them."""
    # PyGObject 3.42 cannot cast the Gst.Meta from Buffer.get_meta() or
    # foreach_meta() to GstVideo.VideoRegionOfInterestMeta, and it does not
    # expose Buffer.iterate_meta(). The typed lookup by id works, and
    # scrfddetect numbers the faces of a buffer 0, 1, 2, ... in the order it
    # attaches them.
    faces = []
    face_id = 0
    while True:
        roi = GstVideo.buffer_get_video_region_of_interest_meta_id(buffer, face_id)
        if roi is None:
            return faces
        if GLib.quark_to_string(roi.roi_type) == "face":
            face = read_face(roi)
            if face is not None:
                faces.append(face)
        face_id += 1


def build_pipeline(path, properties):
    """Build the pipeline; `properties` are NAME=VALUE strings for scrfddetect."""
    if Gst.ElementFactory.find("scrfddetect") is None:
        raise RuntimeError(
            "the scrfddetect element was not found; set GST_PLUGIN_PATH to the folder "
            "that contains libgstscrfd.so"
        )
    # parse_launchv() quotes each argument, so values may contain spaces.
    description = [
        "filesrc",
        "name=source",
        "!",
        "decodebin",
        "!",
        "videoconvert",
        "!",
        "scrfddetect",
    ]
    description += properties
    description += ["!", "appsink", "name=sink", "sync=false"]
    try:
        pipeline = Gst.parse_launchv(description)
    except GLib.Error as error:
        raise RuntimeError(f"invalid scrfddetect settings: {error.message}") from error
    pipeline.get_by_name("source").set_property("location", path)
    return pipeline


def error_text(message):
    """Return the text of an error message from the bus."""
    error, debug = message.parse_error()
    return f"{message.src.get_name()}: {error.message}\n{debug or ''}".rstrip()


def print_frames(pipeline):
    """Play the pipeline and print the faces of each frame.

    Return None at the end of the stream, else the text of the error.
    """
    sink = pipeline.get_by_name("sink")
    bus = pipeline.get_bus()
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        message = bus.pop_filtered(Gst.MessageType.ERROR)
        return error_text(message) if message else "the pipeline could not start"

    frame = 0
    while True:
        sample = sink.try_pull_sample(PULL_TIMEOUT)
        if sample is not None:
            buffer = sample.get_buffer()
            pts = None if buffer.pts == Gst.CLOCK_TIME_NONE else buffer.pts
            line = {"frame": frame, "pts": pts, "faces": read_faces(buffer)}
            print(json.dumps(line, separators=(",", ":")), flush=True)
            frame += 1
            continue
        if sink.is_eos():
            return None
        message = bus.pop_filtered(Gst.MessageType.ERROR)
        if message is not None:
            return error_text(message)


def main():
    parser = argparse.ArgumentParser(
        description="Print the faces scrfddetect finds in FILE, one JSON line per frame."
    )
    parser.add_argument(
        "file", metavar="FILE", help="a still or a video that GStreamer can decode"
    )
    parser.add_argument(
        "properties",
        metavar="NAME=VALUE",
        nargs="*",
        help="scrfddetect properties, e.g. model=500m-kps score-threshold=0.3",
    )
    args = parser.parse_args()
    if not os.path.isfile(args.file):
        parser.error(f"{args.file} is not a file; pass a still or a video")
    for setting in args.properties:
        if "=" not in setting:
            parser.error(
                f"invalid property setting {setting!r}; write NAME=VALUE, "
                "e.g. score-threshold=0.3"
            )

    Gst.init(None)
    try:
        pipeline = build_pipeline(args.file, args.properties)
    except RuntimeError as error:
        sys.exit(f"error: {error}")
    try:
        error = print_frames(pipeline)
    finally:
        pipeline.set_state(Gst.State.NULL)
    if error is not None:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
