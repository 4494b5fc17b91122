"""The demo's camera frames with what the vision node saw drawn on them (``--save-frames``)."""
from __future__ import annotations

import pathlib

from edge_agent.core.vision import Box, image_to_rgb
from edge_agent.core.vision.annotate import annotate

__all__ = ['FrameSaver']


class FrameSaver:
    """Keeps a bag's camera frames by stamp; ``detections(msg)`` writes the frame that message
    was computed on with its boxes drawn (``OUT/frame_NNN.png``), at most ``limit`` files and
    only when what is seen changes (labels or colours), so a long scenario gives a few
    pictures, not hundreds."""

    def __init__(self, bag: str | pathlib.Path, out: str | pathlib.Path, limit: int = 50) -> None:
        from rclpy.serialization import deserialize_message
        from sensor_msgs.msg import Image

        from edge_agent.bags.bag import read_bag

        self.out = pathlib.Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.limit, self.saved = limit, []
        self._frames: dict[tuple[int, int], object] = {}
        for msg in read_bag(bag, topics=['/camera/image_raw']):
            image = deserialize_message(msg.data, Image)
            self._frames[(image.header.stamp.sec, image.header.stamp.nanosec)] = image
        self._last: tuple | None = None

    def detections(self, msg) -> pathlib.Path | None:
        """Write the annotated frame for a DetectionArray; the file, or None when skipped."""
        if len(self.saved) >= self.limit:
            return None
        seen = tuple(sorted((d.label, d.color_name) for d in msg.detections))
        image = self._frames.get((msg.header.stamp.sec, msg.header.stamp.nanosec))
        if image is None or seen == self._last:
            return None
        self._last = seen
        import cv2

        rgb = image_to_rgb(bytes(image.data), image.encoding, image.width, image.height,
                           image.step)
        boxes = [Box(d.x_min, d.y_min, d.x_max, d.y_max, d.score, d.class_id, d.label,
                     d.color_name, (d.color.r, d.color.g, d.color.b), d.color_fraction)
                 for d in msg.detections]
        path = self.out / f'frame_{len(self.saved):03d}.png'
        cv2.imwrite(str(path), annotate(rgb, boxes)[..., ::-1])
        self.saved.append(path)
        return path
