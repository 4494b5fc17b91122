"""Vision (no ROS): image decoding, letterbox, decoders + NMS, colour, fusion, the detector."""
from edge_agent.core.vision.colour import (  # noqa: F401
    dominant_colour,
)
from edge_agent.core.vision.detector import (  # noqa: F401
    BACKENDS,
    DEFAULT_PROVIDERS,
    Detector,
    DetectorError,
    read_labels,
)
from edge_agent.core.vision.fusion import (  # noqa: F401
    FusedObject,
    LatestFrame,
    ObservationFuser,
    ObserveWindow,
    ObserveWindows,
    Region,
    box_wanted,
)
from edge_agent.core.vision.image import (  # noqa: F401
    MAX_PIXELS,
    ImageFormatError,
    image_to_rgb,
    letterbox,
    stretch,
    stretch_to,
)
from edge_agent.core.vision.postprocess import (  # noqa: F401
    Box,
    decode_output,
    decode_outputs,
    iou,
    nms,
)
from edge_agent.core.vision.spec import (  # noqa: F401
    ModelSpec,
    resolve_spec,
)

__all__ = [
    'BACKENDS',
    'Box',
    'DEFAULT_PROVIDERS',
    'Detector',
    'DetectorError',
    'FusedObject',
    'LatestFrame',
    'ImageFormatError',
    'MAX_PIXELS',
    'ObservationFuser',
    'ObserveWindow',
    'ObserveWindows',
    'Region',
    'box_wanted',
    'decode_output',
    'dominant_colour',
    'image_to_rgb',
    'iou',
    'letterbox',
    'ModelSpec',
    'decode_outputs',
    'resolve_spec',
    'stretch',
    'stretch_to',
    'nms',
    'read_labels',
]
