#!/usr/bin/env python3
"""Draw two cartoon faces into a PNG that the project may publish.

The documentation shows a frame annotated by scrfddetect. Real photographs
belong to their authors, so the picture is made from this drawing instead:

    python3 scripts/draw-synthetic-faces.py /tmp/faces.png
    gst-launch-1.0 filesrc location=/tmp/faces.png ! pngdec ! videoconvert ! \\
        scrfddetect draw=true score-threshold=0.3 ! videoconvert ! pngenc ! \\
        filesink location=docs/annotated-frame.png

Needs Pillow (pip install pillow).
"""

import sys

from PIL import Image, ImageDraw, ImageFilter

WIDTH, HEIGHT = 960, 540


def shade(colour, factor):
    """Return `colour` with each channel scaled by `factor`."""
    return tuple(int(channel * factor) for channel in colour)


def draw_person(draw, cx, cy, size, skin, hair):
    """Draw head and shoulders centred on (cx, cy); `size` is the head width."""
    s = size
    draw.rectangle([cx - 0.25 * s, cy + 0.5 * s, cx + 0.25 * s, cy + 0.9 * s], fill=shade(skin, 0.9))
    draw.ellipse([cx - 1.1 * s, cy + 0.8 * s, cx + 1.1 * s, cy + 2.2 * s], fill=(40, 60, 120))
    draw.ellipse([cx - 0.62 * s, cy - 0.8 * s, cx + 0.62 * s, cy + 0.3 * s], fill=hair)
    draw.ellipse([cx - 0.5 * s, cy - 0.65 * s, cx + 0.5 * s, cy + 0.65 * s], fill=skin)
    draw.chord([cx - 0.55 * s, cy - 0.8 * s, cx + 0.55 * s, cy - 0.1 * s], 180, 360, fill=hair)
    draw.ellipse([cx - 0.58 * s, cy - 0.1 * s, cx - 0.44 * s, cy + 0.2 * s], fill=skin)
    draw.ellipse([cx + 0.44 * s, cy - 0.1 * s, cx + 0.58 * s, cy + 0.2 * s], fill=skin)

    for ex in (-0.2, 0.2):
        draw.ellipse([cx + (ex - 0.1) * s, cy - 0.1 * s, cx + (ex + 0.1) * s, cy], fill=(250, 250, 250))
        draw.ellipse(
            [cx + (ex - 0.045) * s, cy - 0.095 * s, cx + (ex + 0.045) * s, cy - 0.005 * s],
            fill=(60, 40, 20),
        )
        draw.line(
            [cx + (ex - 0.12) * s, cy - 0.2 * s, cx + (ex + 0.1) * s, cy - 0.22 * s],
            fill=shade(hair, 0.6),
            width=max(2, int(0.03 * s)),
        )

    nose = [(cx, cy), (cx - 0.07 * s, cy + 0.22 * s), (cx + 0.07 * s, cy + 0.22 * s)]
    draw.polygon(nose, fill=shade(skin, 0.85))
    draw.chord([cx - 0.18 * s, cy + 0.28 * s, cx + 0.18 * s, cy + 0.45 * s], 0, 180, fill=(150, 50, 60))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: draw-synthetic-faces.py OUTPUT.png")

    image = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(image)
    for y in range(HEIGHT):
        level = int(60 + 60 * y / HEIGHT)
        draw.line([(0, y), (WIDTH, y)], fill=(level, level + 15, level + 30))

    draw_person(draw, 300, 230, 150, skin=(224, 172, 140), hair=(60, 40, 30))
    draw_person(draw, 680, 260, 110, skin=(160, 110, 80), hair=(20, 20, 20))
    image.filter(ImageFilter.GaussianBlur(1.2)).save(sys.argv[1])


if __name__ == "__main__":
    main()
