"""Vision node: ``camera/image_raw`` in, ``vision/detections`` out, ``vision/observe`` action.

A lifecycle node. Only the newest frame is processed (the camera callback just stores it; a
worker thread detects at most ``max_rate_hz`` times a second), so no backlog builds up. Bad
images (unsupported encodings, zero size, step mismatch, huge) are counted on ``/diagnostics``
and skipped. ``vision/observe`` gathers the next N frames or T seconds, optionally one label or
region, and returns objects fused across frames with their evidence.
"""
from __future__ import annotations

import collections
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.lifecycle import TransitionCallbackReturn
from sensor_msgs.msg import Image
from std_msgs.msg import ColorRGBA

from edge_agent.action import Observe
from edge_agent.core.detector import DEFAULT_PROVIDERS, Detector, DetectorError, read_labels
from edge_agent.core.models import ModelCatalog, ModelError
from edge_agent.core.tiers import TierCatalog
from edge_agent.core.vision import ImageFormatError, ObservationFuser, image_to_rgb
from edge_agent.msg import Detection, DetectionArray, FusedDetection
from edge_agent.nodes.common import (
    OVERRIDABLE,
    RELIABLE,
    SENSOR,
    TierFollower,
    model_diagnostics,
    run,
)

__all__ = ['VisionNode', 'box_to_msg', 'main']


def box_to_msg(box) -> Detection:
    """Convert a core Box into the edge_agent/Detection message."""
    r, g, b = box.color_rgb
    return Detection(label=box.label, class_id=box.class_id, score=box.score,
                     x_min=box.x_min, y_min=box.y_min, x_max=box.x_max, y_max=box.y_max,
                     color_name=box.color_name, color=ColorRGBA(r=r, g=g, b=b, a=1.0),
                     color_fraction=box.color_fraction, track_id=-1)


class VisionNode(TierFollower, LifecycleNode):
    """Lifecycle detector node; see the module docstring."""

    def __init__(self, **kwargs) -> None:
        super().__init__('vision', **kwargs)
        d = ParameterDescriptor
        self.declare_parameter('model_path', '', d(
            description='YOLO-family ONNX model ([1,N,5+C], [1,4+C,N] or [1,N,6] output); '
                        'empty = the tier catalog\'s model for the current tier.',
            read_only=True))
        self.declare_tier_parameters(initial=0)
        self.declare_parameter('labels_file', '', d(
            description="Class names, one per line; empty = the model's metadata.",
            read_only=True))
        self.declare_parameter('backend', 'auto', d(
            description='"auto" (native TensorRT when the tensorrt package and a CUDA device are '
                        'there, else ONNX Runtime), "tensorrt" (engines built from the ONNX '
                        'model on this device and cached, or a .engine model_path), '
                        '"onnxruntime" (providers below) or "opencv" (OpenCV DNN, FP32 models).',
            read_only=True))
        self.declare_parameter('tensorrt_precision', 'fp16', d(
            description='Precision of TensorRT engines (tensorrt backend, and ONNX Runtime\'s '
                        'TensorRT provider): fp16 or fp32 (INT8 models keep their Q/DQ INT8 '
                        "layers; TensorRT 11 follows the model's own types).", read_only=True))
        self.declare_parameter('engine_cache_dir', '', d(
            description='Where TensorRT engines are cached (ONNX Runtime\'s TensorRT provider '
                        'uses ort/ inside it); empty = engines/ in the model cache.',
            read_only=True))
        self.declare_parameter('providers', ','.join(DEFAULT_PROVIDERS), d(
            description='ONNX Runtime providers in priority order; unavailable ones are '
                        'skipped.', read_only=True))
        self.declare_parameter('input_size', 0, d(
            description="Square input size [px]; 0 = the model's own.", read_only=True))
        self.declare_parameter('conf_threshold', 0.25, d(
            description='Minimum detection score [0..1].'))
        self.declare_parameter('iou_threshold', 0.45, d(
            description='NMS overlap threshold [0..1].'))
        self.declare_parameter('max_rate_hz', 0.0, d(
            description="Process at most this many frames a second; 0 = the tier's rate [Hz]."))
        self.add_on_set_parameters_callback(self._validate)
        self._detector: Detector | None = None
        self._latest: Image | None = None
        self._frame_lock = threading.Lock()
        self._frame_ready = threading.Event()
        self._running = False
        self._worker: threading.Thread | None = None
        self._observers: list[dict] = []
        self._observers_lock = threading.Lock()
        self._stats = collections.Counter()
        self._errors: collections.deque = collections.deque(maxlen=5)
        self._models = ModelCatalog()
        self._tiers = TierCatalog(known_models=set(self._models.models))
        self._tier_index = -1
        self._tier_rate = 10.0

    def _validate(self, params) -> SetParametersResult:
        for p in params:
            if p.name in ('conf_threshold', 'iou_threshold') and not 0.0 <= p.value <= 1.0:
                return SetParametersResult(successful=False, reason=f'{p.name} must be in '
                                                                    '[0, 1]')
            if p.name == 'max_rate_hz' and p.value < 0:
                return SetParametersResult(successful=False, reason='max_rate_hz must be >= 0')
            if p.name == 'tier' and not -1 <= p.value < len(self._tiers):
                return SetParametersResult(
                    successful=False, reason=f'tier must be -1..{len(self._tiers) - 1}')
        for p in params:
            if p.name == 'tier' and self._running:
                threading.Thread(target=self._switch_tier, args=(self.wanted_tier(p.value),),
                                 daemon=True).start()
            if self._detector is not None and p.name == 'conf_threshold':
                self._detector.conf_threshold = p.value
            if self._detector is not None and p.name == 'iou_threshold':
                self._detector.iou_threshold = p.value
        return SetParametersResult(successful=True)

    # -- lifecycle ----------------------------------------------------------------------------
    def on_configure(self, state) -> TransitionCallbackReturn:
        self._pub = self.create_lifecycle_publisher(DetectionArray, 'vision/detections',
                                                    RELIABLE)
        self._diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.follow_tiers()
        self.create_subscription(Image, 'camera/image_raw', self._on_image, SENSOR,
                                 qos_overriding_options=OVERRIDABLE,
                                 callback_group=MutuallyExclusiveCallbackGroup())
        self._action = ActionServer(
            self, Observe, 'vision/observe', self._observe,
            callback_group=ReentrantCallbackGroup(),
            goal_callback=lambda _g: GoalResponse.ACCEPT if self._detector is not None
            else GoalResponse.REJECT, cancel_callback=lambda _g: CancelResponse.ACCEPT)
        self.create_timer(1.0, self._publish_diagnostics)
        return super().on_configure(state)

    def on_activate(self, state) -> TransitionCallbackReturn:
        if not self._switch_tier(self.wanted_tier(), force=True):
            return TransitionCallbackReturn.FAILURE
        self._running = True
        self._worker = threading.Thread(target=self._loop, daemon=True)
        self._worker.start()
        return super().on_activate(state)

    # -- tiers --------------------------------------------------------------------------------
    def _serving(self) -> bool:
        return self._running

    def _switch_tier(self, index, force: bool = False) -> bool:
        """Load the tier's detector, then switch between frames; the old one is dropped."""
        if index is None:
            return False
        index = max(0, min(int(index), len(self._tiers) - 1))
        if index == self._tier_index and not force:
            return True
        entry = self._tiers[index].modalities.get('vision') or {}
        began = time.monotonic()
        try:
            path = self.get_parameter('model_path').value or str(
                self._models.path(entry['model']))
            labels_file = self.get_parameter('labels_file').value
            detector = Detector(
                path, providers=[p.strip() for p in self.get_parameter('providers').value
                                 .split(',') if p.strip()],
                labels=read_labels(labels_file) if labels_file else None,
                input_size=self.get_parameter('input_size').value or (
                    0 if self.get_parameter('model_path').value
                    else int(entry.get('input_size', 0))),
                conf_threshold=self.get_parameter('conf_threshold').value,
                iou_threshold=self.get_parameter('iou_threshold').value,
                backend=self.get_parameter('backend').value,
                tensorrt_precision=self.get_parameter('tensorrt_precision').value,
                engine_cache_dir=self.get_parameter('engine_cache_dir').value or None,
                log=self.get_logger().info)
        except (DetectorError, ModelError, OSError, KeyError) as exc:
            self.get_logger().error(f'vision tier {index} unavailable: {exc}')
            self._errors.append(f'tier {index}: {exc}')
            return self._detector is not None
        if detector.fallback_reason:
            self.get_logger().warning(f'vision tier {index}: {detector.fallback_reason}; '
                                      'using ONNX Runtime')
            self._errors.append(f'tier {index}: {detector.fallback_reason}')
        self._detector, self._tier_index = detector, index
        self._tier_rate = float(entry.get('rate_hz', 10.0))
        self._stats['tier_switches'] += 1
        self.get_logger().info(
            f'vision tier {index}: {path} on {detector.provider}, input {detector.input_size}px, '
            f'{len(detector.labels)} classes, swap {time.monotonic() - began:.2f} s')
        return True

    def _stop_worker(self) -> None:
        self._running = False
        self._frame_ready.set()
        if self._worker is not None:
            self._worker.join(timeout=10)
            self._worker = None

    def on_deactivate(self, state) -> TransitionCallbackReturn:
        self._stop_worker()
        self._detector = None
        return super().on_deactivate(state)

    def destroy_node(self):
        self._stop_worker()  # the worker publishes: stop it before the publisher goes
        return super().destroy_node()

    # -- frames -------------------------------------------------------------------------------
    def _on_image(self, msg: Image) -> None:
        with self._frame_lock:
            self._stats['frames_in'] += 1
            if self._latest is not None:
                self._stats['frames_skipped'] += 1  # only the newest frame matters
            self._latest = msg
        self._frame_ready.set()

    def _loop(self) -> None:
        while self._running:
            self._frame_ready.wait(0.5)
            self._frame_ready.clear()
            with self._frame_lock:  # a frame arriving mid-swap must not be lost
                msg, self._latest = self._latest, None
            if msg is None or not self._running:
                continue
            began = time.monotonic()
            self._process(msg)
            period = 1.0 / (self.get_parameter('max_rate_hz').value or self._tier_rate)
            time.sleep(max(0.0, period - (time.monotonic() - began)))

    def _process(self, msg: Image) -> None:
        detector = self._detector
        if detector is None:
            return
        try:
            rgb = image_to_rgb(bytes(msg.data), msg.encoding, msg.width, msg.height, msg.step)
            boxes = detector.detect(rgb)
        except (ImageFormatError, DetectorError, ValueError) as exc:
            self._stats['bad_frames'] += 1
            self._errors.append(str(exc))
            self.get_logger().warning(f'frame skipped: {exc}', throttle_duration_sec=5.0)
            return
        self._stats['frames_processed'] += 1
        out = DetectionArray(header=msg.header, image_width=msg.width, image_height=msg.height,
                             detections=[box_to_msg(b) for b in boxes],
                             backend=detector.provider,
                             inference_time=float(detector.last_inference_s))
        self._pub.publish(out)
        with self._observers_lock:
            for observer in self._observers:
                observer['frames'].append((time.monotonic(), boxes))
                observer['event'].set()

    # -- observe action -----------------------------------------------------------------------
    @staticmethod
    def _wanted(box, goal) -> bool:
        if goal.target_label and box.label != goal.target_label:
            return False
        roi = goal.region
        if roi.width and roi.height:
            cx, cy = (box.x_min + box.x_max) / 2, (box.y_min + box.y_max) / 2
            return (roi.x_offset <= cx <= roi.x_offset + roi.width
                    and roi.y_offset <= cy <= roi.y_offset + roi.height)
        return True

    def _observe(self, goal_handle):
        goal = goal_handle.request
        frames_wanted = int(goal.frames)
        duration = float(goal.duration) if goal.duration > 0 else (0.0 if frames_wanted
                                                                   else 2.0)
        observer = {'frames': [], 'event': threading.Event()}
        with self._observers_lock:
            self._observers.append(observer)
        fuser = ObservationFuser()
        began = time.monotonic()
        feedback = Observe.Feedback(frames_requested=frames_wanted)
        try:
            while True:
                elapsed = time.monotonic() - began
                if goal_handle.is_cancel_requested:
                    goal_handle.canceled()
                    return self._observe_result(fuser, elapsed)
                if frames_wanted and fuser.frames >= frames_wanted:
                    break
                if duration and elapsed >= duration:
                    break
                if frames_wanted and not duration and elapsed > 30.0 + frames_wanted:
                    break  # no camera: do not hang forever
                if not observer['event'].wait(0.1):
                    continue
                observer['event'].clear()
                with self._observers_lock:
                    frames, observer['frames'] = observer['frames'], []
                for stamp, boxes in frames:
                    if frames_wanted and fuser.frames >= frames_wanted:
                        break
                    fuser.add([b for b in boxes if self._wanted(b, goal)], stamp - began)
                feedback.frames_processed = fuser.frames
                feedback.objects_tracked = len(fuser.objects)
                feedback.elapsed = time.monotonic() - began
                goal_handle.publish_feedback(feedback)
        finally:
            with self._observers_lock:
                self._observers.remove(observer)
        goal_handle.succeed()
        return self._observe_result(fuser, time.monotonic() - began)

    @staticmethod
    def _observe_result(fuser: ObservationFuser, elapsed: float) -> Observe.Result:
        objects = []
        for obj in fuser.results():
            mean = sum(obj.scores) / len(obj.scores)
            det = box_to_msg(obj.box)
            det.score = mean
            objects.append(FusedDetection(
                detection=det, frames_seen=obj.frames_seen, frames_total=fuser.frames,
                mean_score=mean, max_score=max(obj.scores), first_seen=obj.first_seen,
                last_seen=obj.last_seen))
        return Observe.Result(objects=objects, frames_processed=fuser.frames, elapsed=elapsed)

    # -- diagnostics --------------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        detector = self._detector
        model = None if detector is None else {
            'provider': detector.provider, 'model': detector.path,
            'input_size': detector.input_size, 'layout': detector.layout,
            'tier': self._tier_index}
        self._diag_pub.publish(model_diagnostics(
            self, 'edge_agent: vision', 'camera', self._stats, self._errors, model,
            'detecting'))

def main(args=None) -> int:
    """Run the vision node; it configures and activates itself."""
    return run(VisionNode, args, lifecycle=True)
