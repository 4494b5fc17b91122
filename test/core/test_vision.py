"""Vision post-processing on synthetic tensors and images with known answers."""
from __future__ import annotations

import numpy as np
import pytest

from edge_agent.core.vision import (
    Box,
    ImageFormatError,
    ObservationFuser,
    decode_output,
    dominant_colour,
    image_to_rgb,
    iou,
    letterbox,
    nms,
)

# Two objects in a 320x320 input: class 1 at (100,120)-(160,200), class 0 at (200,40)-(260,90)
TRUTH = np.array([[100, 120, 160, 200], [200, 40, 260, 90]], np.float32)
TRUTH_CLS = np.array([1, 0])


def xywh(boxes):
    return np.concatenate([(boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2]], 1)


def candidates(num_classes=3, noise=50):
    """Each true box plus a jittered duplicate and random low-score clutter."""
    rng = np.random.default_rng(0)
    rows = []
    for box, cls in zip(TRUTH, TRUTH_CLS, strict=True):
        for jitter, score in ((0, 0.9), (3, 0.7)):
            scores = np.full(num_classes, 0.01, np.float32)
            scores[cls] = score
            rows.append((xywh((box + jitter)[None])[0], scores))
    for _ in range(noise):
        rows.append((rng.uniform(0, 320, 4).astype(np.float32),
                     rng.uniform(0, 0.2, num_classes).astype(np.float32)))
    return rows


def test_yolov8_layout():
    rows = candidates()
    out = np.stack([np.concatenate([b, s]) for b, s in rows]).T[None]  # [1, 4+C, N]
    boxes, scores, classes, layout = decode_output(out, 3, 0.25, 0.5)
    assert layout == 'yolov8' and len(boxes) == 2
    order = np.argsort(classes)[::-1]
    assert np.allclose(boxes[order], TRUTH, atol=0.5) and list(classes[order]) == [1, 0]
    assert np.allclose(scores, 0.9)


def test_yolov5_layout_multiplies_objectness():
    rows = candidates()
    out = np.stack([np.concatenate([b, [0.5], s]) for b, s in rows])[None]  # [1, N, 5+C]
    boxes, scores, classes, layout = decode_output(out, 3, 0.25, 0.5)
    assert layout == 'yolov5' and len(boxes) == 2 and np.allclose(scores, 0.45)


def test_end2end_layout():
    out = np.array([[*TRUTH[0], 0.8, 1], [*TRUTH[1], 0.6, 0], [0, 0, 5, 5, 0.1, 2]],
                   np.float32)[None]
    boxes, scores, classes, layout = decode_output(out, 3, 0.25, 0.5)
    assert layout == 'end2end' and np.allclose(boxes, TRUTH) and list(classes) == [1, 0]


def test_unknown_layout_is_a_clear_error():
    with pytest.raises(ValueError, match='matches no known layout'):
        decode_output(np.zeros((1, 9, 7)), 3, 0.25, 0.5)


def test_nms_is_class_aware():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10]], np.float32)
    kept = nms(boxes, np.array([0.9, 0.8, 0.7]), np.array([0, 0, 1]), 0.5)
    assert list(kept) == [0, 2]
    assert iou(boxes[0], boxes[1])[0, 0] == pytest.approx(0.81)


def test_letterbox_maps_back():
    image = np.zeros((480, 640, 3), np.uint8)
    image[100:200, 300:400] = 255
    boxed, scale, (left, top) = letterbox(image, 320)
    assert boxed.shape == (320, 320, 3) and scale == 0.5 and (left, top) == (0, 40)
    ys, xs = np.nonzero(boxed[..., 0] == 255)
    back = (np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]) - [left, top] * 2) / scale
    assert np.allclose(back, [300, 100, 400, 200], atol=2)


@pytest.mark.parametrize('h,w,size', [(1, 1, 64), (1, 500, 320), (333, 517, 320), (240, 320, 320),
                                      (720, 1280, 256), (64, 64, 640)])
def test_letterbox_is_nearest_neighbour_pixel_for_pixel(h, w, size):
    image = np.random.default_rng(h * w).integers(0, 255, (h, w, 3), np.uint8)[:, ::-1]  # a view
    boxed, scale, (left, top) = letterbox(image, size)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    ys = np.minimum((np.arange(nh) / scale).astype(int), h - 1)
    xs = np.minimum((np.arange(nw) / scale).astype(int), w - 1)
    assert np.array_equal(boxed[top:top + nh, left:left + nw], image[ys][:, xs])
    inside = np.zeros((size, size), bool)
    inside[top:top + nh, left:left + nw] = True
    assert (boxed[~inside] == 114).all()


@pytest.mark.parametrize('encoding,channels,order', [
    ('rgb8', 3, [0, 1, 2]), ('bgr8', 3, [2, 1, 0]), ('rgba8', 4, [0, 1, 2]),
    ('bgra8', 4, [2, 1, 0]),
])
def test_image_encodings_with_row_padding(encoding, channels, order):
    h, w, step = 2, 3, 3 * channels + 5  # padded rows
    pixels = np.arange(h * w * channels, dtype=np.uint8).reshape(h, w, channels)
    data = b''.join(pixels[r].tobytes() + b'\xee' * 5 for r in range(h))
    rgb = image_to_rgb(data, encoding, w, h, step)
    assert np.array_equal(rgb, pixels[..., order])


def test_mono_encodings():
    mono = image_to_rgb(bytes([10, 20, 30, 40]), 'mono8', 2, 2, 2)
    assert mono.shape == (2, 2, 3) and mono[1, 1, 2] == 40
    deep = image_to_rgb(np.array([0x1200, 0xff00], '<u2').tobytes(), 'mono16', 2, 1, 4)
    assert list(deep[0, :, 0]) == [0x12, 0xff]


@pytest.mark.parametrize('args,match', [
    ((b'', 'jpeg', 1, 1, 3), 'unsupported encoding'),
    ((b'', 'rgb8', 0, 5, 0), 'empty'),
    ((b'\0' * 10, 'rgb8', 2, 2, 6), 'bytes for 2 rows'),
    ((b'\0' * 12, 'rgb8', 2, 2, 5), 'smaller than a row'),
    ((b'', 'rgb8', 100000, 100000, 300000), 'exceeds'),
])
def test_bad_images_are_clear_errors(args, match):
    with pytest.raises(ImageFormatError, match=match):
        image_to_rgb(*args)


@pytest.mark.parametrize('rgb,name', [((210, 25, 30), 'red'), ((30, 60, 190), 'blue'),
                                      ((230, 215, 40), 'yellow'), ((40, 150, 60), 'green')])
def test_dominant_colour_ignores_background(rgb, name):
    image = np.full((100, 100, 3), 240, np.uint8)  # white table
    image[30:70, 40:60] = rgb
    box = Box(35, 25, 65, 75, 0.9, 0)  # the box includes some table
    got, mean, fraction = dominant_colour(image, box)
    assert got == name and fraction > 0.5
    assert np.allclose(np.array(mean) * 255, rgb, atol=2)


def test_fuser_associates_across_frames():
    fuser = ObservationFuser()
    cup = [Box(10, 10, 50, 50, 0.9, 0, 'cup'), Box(100, 100, 140, 150, 0.5, 1, 'ball')]
    fuser.add(cup, 0.0)
    fuser.add([Box(12, 11, 52, 50, 0.7, 0, 'cup')], 0.1)
    fuser.add([Box(11, 10, 51, 49, 0.8, 0, 'cup'), Box(12, 11, 52, 50, 0.6, 1, 'ball')], 0.2)
    objs = fuser.results()
    assert fuser.frames == 3 and [o.box.label for o in objs] == ['cup', 'ball', 'ball']
    assert objs[0].frames_seen == 3 and max(objs[0].scores) == 0.9
    assert objs[0].first_seen == 0.0 and objs[0].last_seen == 0.2


def test_mean_average_precision_known_cases():
    from edge_agent.eval.detection import mean_average_precision

    truth = [np.array([[0, 0, 10, 10, 0], [20, 20, 30, 30, 1]], np.float32),
             np.array([[5, 5, 15, 15, 0]], np.float32)]
    perfect = [[Box(0, 0, 10, 10, 0.9, 0), Box(20, 20, 30, 30, 0.8, 1)],
               [Box(5, 5, 15, 15, 0.7, 0)]]
    assert mean_average_precision(perfect, truth, 2)[0] == pytest.approx(1.0)
    # a confident false positive ranked first costs class 0 precision at every recall
    noisy = [[Box(50, 50, 60, 60, 0.99, 0)] + perfect[0], perfect[1]]
    m_ap, per_class = mean_average_precision(noisy, truth, 2)
    assert per_class[1] == pytest.approx(1.0)
    assert per_class[0] == pytest.approx(2 / 3)  # interpolated: precision 2/3 at recall 1
    missed = [[perfect[0][1]], []]  # class 0 never found
    assert mean_average_precision(missed, truth, 2)[1][0] == 0.0
    duplicate = [[Box(0, 0, 10, 10, 0.9, 0), Box(0, 0, 10, 10, 0.8, 0)], perfect[1]]
    assert mean_average_precision(duplicate, truth, 2)[1][0] < 1.0  # a duplicate is an FP


# -- the observe window (what a vision/observe goal gathers) -----------------------------------
def _box(label, x0, score=0.9):
    from edge_agent.core.vision import Box

    return Box(float(x0), 10.0, float(x0) + 20, 30.0, score, 0, label)


def test_observe_window_counts_frames_filters_label_and_region():
    from edge_agent.core.vision import ObserveWindow, Region

    window = ObserveWindow(frames=3, label='cup', region=Region(0, 0, 50, 50), began=10.0)
    for t in (10.1, 10.2, 10.3, 10.4):
        window.add([_box('cup', 0), _box('cup', 100), _box('ball', 0)], t)
    assert window.frames == 3 and window.done(10.4)
    [only] = window.results()  # the cup outside the region and the ball are filtered
    assert only.box.label == 'cup' and only.box.x_min == 0 and only.frames_seen == 3


def test_observe_window_ends_by_time_and_never_waits_forever():
    from edge_agent.core.vision import ObserveWindow

    timed = ObserveWindow(duration_s=1.0, began=0.0)
    assert not timed.done(0.5) and timed.done(1.0)
    default = ObserveWindow(began=0.0)  # neither frames nor duration: 2 s
    assert not default.done(1.9) and default.done(2.0)
    no_camera = ObserveWindow(frames=5, began=0.0, no_camera_s=30.0)
    assert not no_camera.done(29.0) and no_camera.done(30.5)
    assert not no_camera.wait(0.01)  # no frame came


def test_the_latest_frame_slot_keeps_only_the_newest_and_says_what_it_dropped():
    from edge_agent.core.vision import LatestFrame

    slot = LatestFrame()
    assert slot.take(0.01) is None and slot.empty
    assert slot.put('frame 1') is False
    assert slot.put('frame 2') is True      # frame 1 was never taken: dropped
    assert slot.take(1.0) == 'frame 2' and slot.empty


def test_every_open_observe_window_gets_each_frame_until_it_is_closed():
    from edge_agent.core.vision import ObserveWindow, ObserveWindows
    from edge_agent.core.vision.postprocess import Box

    windows = ObserveWindows()
    cup = Box(10, 10, 50, 50, 0.9, 0, 'cup')
    first, second = ObserveWindow(frames=5), ObserveWindow(frames=5, label='ball')
    with windows.opened(first), windows.opened(second):
        windows.add([cup], 0.1)
        assert len(windows) == 2
    windows.add([cup], 0.2)   # both closed: neither sees it
    assert first.frames == 1 and second.frames == 1 and len(windows) == 0
    assert [o.box.label for o in first.results()] == ['cup'] and second.results() == []
