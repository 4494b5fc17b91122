"""Vision node: ``camera/image_raw`` in, ``vision/detections`` out, ``vision/observe`` action.

A lifecycle node. Only the newest frame is processed (the camera callback just stores it; a
worker thread detects at most ``max_rate_hz`` times a second), so no backlog builds up. Bad
images (unsupported encodings, zero size, step mismatch, huge) are counted on ``/diagnostics``
and skipped. ``vision/observe`` gathers the next N frames or T seconds, optionally one label or
region, and returns objects fused across frames with their evidence.
"""
from __future__ import annotations

import threading
import time

from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.lifecycle import TransitionCallbackReturn
from sensor_msgs.msg import Image

from edge_agent.action import Observe
from edge_agent.core.config.tiers import TierCatalog
from edge_agent.core.errors import EdgeAgentError
from edge_agent.core.models import ModelCatalog, check_sha256
from edge_agent.core.vision import (
    BACKENDS,
    DEFAULT_PROVIDERS,
    Detector,
    DetectorError,
    ImageFormatError,
    LatestFrame,
    ObserveWindow,
    ObserveWindows,
    Region,
    image_to_rgb,
    read_labels,
)
from edge_agent.core.vision.spec import OBSERVATION_KEYS
from edge_agent.msg import DetectionArray, DetectorInfo
from edge_agent.nodes.common import (
    AUTOSTART_PARAM,
    LATCHED,
    OVERRIDABLE,
    RELIABLE,
    SENSOR,
    STALE_PARAM,
    ModelNode,
    Param,
    declare,
    run,
    tier_parameters,
)
from edge_agent.nodes.common.detections import box_to_msg, observe_result
from edge_agent.nodes.common.goals import bounded, goal_parameters

__all__ = ['PARAMETERS', 'VisionNode', 'box_to_msg', 'main']

PARAMETERS = [
    AUTOSTART_PARAM,
    Param('model_path', '', 'Detector ONNX model (YOLOv5/v8/11, end-to-end [1,N,6], TensorFlow '
          'detection outputs; read as its spec says: a YAML beside it or its metadata, '
          "docs/vision_models.md) or TensorRT engine; empty = the tier catalog's model for the "
          'current tier.', read_only=True),
    Param('world', 'real', 'Which detectors of the tier catalog serve: "real" (trained on real '
          'images, COCO classes: a robot\'s camera) or "synthetic" (the project\'s detector for '
          'the MuJoCo scene and the bundled rendered scenarios).', read_only=True,
          choices=('real', 'synthetic')),
    Param('model_sha256', '', 'Expected SHA-256 of model_path (64 hex digits); the file is '
          'hashed before every load and refused, named, when it differs; empty = not checked '
          '(catalog models are always verified against the manifest).', read_only=True),
    *tier_parameters(initial=0),
    Param('labels_file', '', "Class names, one per line; empty = the model's metadata.",
          read_only=True),
    Param('backend', 'auto', '"auto" (native TensorRT when the tensorrt package and a CUDA '
          'device are there, else ONNX Runtime), "tensorrt" (engines built from the ONNX model '
          'on this device and cached, or a .engine model_path), "onnxruntime" (providers below), '
          '"opencv" (OpenCV DNN, FP32 models) or "litert" (.tflite models; auto picks it for '
          'one).', read_only=True, choices=BACKENDS),
    Param('tensorrt_precision', 'fp16', "Precision of TensorRT engines (tensorrt backend, and "
          "ONNX Runtime's TensorRT provider); INT8 models keep their Q/DQ INT8 layers; "
          "TensorRT 11 follows the model's own types.", read_only=True,
          choices=('fp16', 'fp32')),
    Param('engine_cache_dir', '', "Where TensorRT engines are cached (ONNX Runtime's TensorRT "
          'provider uses ort/ inside it); empty = engines/ in the model cache.',
          read_only=True),
    Param('providers', ','.join(DEFAULT_PROVIDERS), 'ONNX Runtime providers in priority '
          'order; unavailable ones are skipped.', read_only=True),
    Param('input_size', 0, "Square input size [px]; 0 = the model's own.", (0, 4096),
          read_only=True),
    Param('conf_threshold', 0.0, "Minimum detection score [0..1]; 0 = the model's own (the "
          "threshold its spec was calibrated at, else 0.25).", (0.0, 1.0)),
    Param('iou_threshold', 0.45, 'NMS overlap threshold [0..1].', (0.0, 1.0)),
    Param('max_rate_hz', 0.0, "Process at most this many frames a second; 0 = the tier's rate "
          '[Hz].', (0.0, 1000.0)),
    Param('max_image_bytes', 32 << 20, 'Largest image taken (a 4096x2160 rgb8 frame is 26.5 MB); '
          'a larger one is dropped, counted (frames_oversized) and reported on /diagnostics '
          '[bytes].', (1024, 1 << 31)),
    Param('max_observe_frames', 300, 'Most frames one vision/observe goal may ask for; a goal '
          'asking more is rejected [count].', (1, 100000)),
    Param('max_observe_duration_s', 60.0, 'Longest vision/observe goal: a larger duration is '
          'rejected, and a goal bounded by frames only ends after this long [s].',
          (0.1, 3600.0)),
    STALE_PARAM,
    *goal_parameters(4),
]


class VisionNode(ModelNode, LifecycleNode):
    """Lifecycle detector node; see the module docstring."""

    def __init__(self, **kwargs) -> None:
        super().__init__('vision', **kwargs)
        self.init_tiers()
        self._frames = LatestFrame()        # only the newest camera frame is detected on
        self._running = False
        self._worker: threading.Thread | None = None
        self._observers = ObserveWindows()   # open vision/observe goals
        self._models: ModelCatalog | None = None
        self._tier_rate = 10.0
        declare(self, PARAMETERS, self.check_tier, apply=self._apply)
        self.watch_health('edge_agent: vision', 'camera')
        self._stats, self._errors = self.health.counters, self.health.problems
        # frames in; latency: one frame's work (conversion, detection, publishing); dropped:
        # frames never detected (an older one replaced by a newer, oversized, malformed)
        self._frames_in = self.health.input('camera/image_raw', stream=True)

    def _apply(self, params) -> None:
        detector = self.engines.engine
        for p in params:
            if p.name == 'tier':
                self.tier_changed(p.value)
            elif p.name == 'iou_threshold' and detector is not None:
                detector.iou_threshold = p.value
            elif p.name == 'conf_threshold' and detector is not None:
                detector.conf_threshold = self._conf_threshold(detector, p.value)
                self._publish_info(detector)

    # -- lifecycle ----------------------------------------------------------------------------
    def on_configure(self, state) -> TransitionCallbackReturn:
        try:
            self._models = ModelCatalog()
            self._tiers = TierCatalog(known_models=set(self._models.models))
        except EdgeAgentError as exc:
            return self.fail(f'configure failed: {exc}')
        self._pub = self.own(self.create_lifecycle_publisher(
            DetectionArray, 'vision/detections', RELIABLE,
            event_callbacks=self.publisher_events('vision/detections')))
        # not a lifecycle publisher: what the model can see holds while the node is inactive
        self._info_pub = self.own(self.create_publisher(DetectorInfo, 'vision/detector_info',
                                                        LATCHED))
        self.own_diagnostics()
        self.own(self.follow_tiers())
        self.own(self.create_subscription(Image, 'camera/image_raw', self._on_image, SENSOR,
                                          qos_overriding_options=OVERRIDABLE,
                                          callback_group=MutuallyExclusiveCallbackGroup(),
                                          event_callbacks=self.subscription_events(
                                              'camera/image_raw', self._frames_in)))
        self.serve_action(Observe, 'vision/observe', self._observe, check=self._check_observe)
        return super().on_configure(state)

    def _start_work(self) -> None:
        self._running = True
        self._worker = threading.Thread(target=self._loop, daemon=True)
        self._worker.start()

    def _stop_work(self) -> None:
        self._running = False
        self._frames.wake()
        if self._worker is not None:
            self._worker.join(timeout=10)
            self._worker = None

    # -- tiers --------------------------------------------------------------------------------
    @property
    def _modality(self) -> str:
        """The tier catalog's vision entry this node follows (its world)."""
        return 'vision' if self.get_parameter('world').value == 'real' else 'vision_synthetic'

    @staticmethod
    def _conf_threshold(detector: Detector, value: float) -> float:
        return value or detector.spec.conf_threshold or 0.25

    def _load_tier(self, index: int) -> Detector:
        entry = self._tiers[index].entry(self._modality)
        own_model = self.get_parameter('model_path').value
        if (entry is None or not entry.model) and not own_model:
            raise DetectorError(f'tier {index} of the catalog has no {self._modality} model')
        if own_model:
            check_sha256(own_model, self.get_parameter('model_sha256').value)
        path = own_model or str(self._models.path(entry.model))
        labels_file = self.get_parameter('labels_file').value
        detector = Detector(
            path, providers=[p.strip() for p in self.get_parameter('providers').value
                             .split(',') if p.strip()],
            labels=read_labels(labels_file) if labels_file else None,
            input_size=self.get_parameter('input_size').value or (
                0 if own_model or entry is None else entry.input_size),
            iou_threshold=self.get_parameter('iou_threshold').value,
            backend=self.get_parameter('backend').value,
            tensorrt_precision=self.get_parameter('tensorrt_precision').value,
            engine_cache_dir=self.get_parameter('engine_cache_dir').value or None,
            log=self.get_logger().info)
        detector.conf_threshold = self._conf_threshold(
            detector, self.get_parameter('conf_threshold').value)
        if detector.fallback_reason:
            self.get_logger().warning(f'vision tier {index}: {detector.fallback_reason}; '
                                      'using ONNX Runtime')
            self._errors.append(f'tier {index}: {detector.fallback_reason}')
        return detector

    def _describe(self, detector: Detector) -> str:
        return (f'{detector.path} on {detector.provider}, input {detector.input_size}px, '
                f'{len(detector.labels)} classes')

    def _swapped(self, index: int, detector) -> None:
        entry = self._tiers[index].entry(self._modality)
        self._tier_rate = entry.rate_hz if entry is not None else 10.0
        self._stats['tier_switches'] += 1
        self._publish_info(detector)

    def _publish_info(self, detector: Detector) -> None:
        """What this detector can see, latched for the agent and the planner."""
        fit = detector.spec.observation or {}
        msg = DetectorInfo(model=str(detector.path), world=self.get_parameter('world').value,
                           labels=list(detector.labels),
                           conf_threshold=float(detector.conf_threshold),
                           **{k: float(fit.get(k, 0.0)) for k in OBSERVATION_KEYS})
        msg.header.stamp = self.get_clock().now().to_msg()
        self._info_pub.publish(msg)

    # -- frames -------------------------------------------------------------------------------
    def _on_image(self, msg: Image) -> None:
        self._frames_in.received()
        size, most = len(msg.data), self.get_parameter('max_image_bytes').value
        if size > most:   # dropped here, before any copy or queue
            self._stats['frames_oversized'] += 1
            self._frames_in.dropped()
            self._errors.append(f'{msg.width}x{msg.height} image of {size} bytes dropped '
                                f'(max_image_bytes {most})')
            return
        self._stats['frames_in'] += 1
        if self._frames.put(msg):
            self._stats['frames_skipped'] += 1  # only the newest frame matters
            self._frames_in.dropped()

    def _loop(self) -> None:
        while self._running:
            msg = self._frames.take(0.5)
            if msg is None or not self._running:
                continue
            began = time.monotonic()
            if self._process(msg):
                self._frames_in.processed(time.monotonic() - began)
            period = 1.0 / (self.get_parameter('max_rate_hz').value or self._tier_rate)
            time.sleep(max(0.0, period - (time.monotonic() - began)))

    def _process(self, msg: Image) -> bool:
        """Detect on ``msg`` and publish; False when it was not (no model, a bad frame)."""
        try:
            rgb = image_to_rgb(bytes(msg.data), msg.encoding, msg.width, msg.height, msg.step)
            with self.engines.use() as detector:
                if detector is None:
                    return False
                boxes = detector.detect(rgb)
                backend, inference_s = detector.provider, detector.last_inference_s
        except (ImageFormatError, DetectorError, ValueError) as exc:
            self._stats['bad_frames'] += 1
            self._frames_in.dropped()
            self._errors.append(str(exc))
            self.get_logger().warning(f'frame skipped: {exc}', throttle_duration_sec=5.0)
            return False
        self._stats['frames_processed'] += 1
        out = DetectionArray(header=msg.header, image_width=msg.width, image_height=msg.height,
                             detections=[box_to_msg(b) for b in boxes], backend=backend,
                             inference_time=float(inference_s))
        self._pub.publish(out)
        self._observers.add(boxes, time.monotonic())
        return True

    # -- observe action -----------------------------------------------------------------------
    def _check_observe(self, goal) -> str | None:
        most = self.get_parameter('max_observe_frames').value
        if goal.frames > most:
            return f'frames must be at most {most} (max_observe_frames), not {goal.frames}'
        reason = bounded('duration', goal.duration,
                         self.get_parameter('max_observe_duration_s').value)
        if reason is None and not goal.frames and not goal.duration:
            reason = 'ask for frames, a duration or both (both are 0)'
        return reason

    def _observe(self, goal_handle):
        goal = goal_handle.request
        roi = goal.region
        window = ObserveWindow(int(goal.frames), float(goal.duration), goal.target_label,
                               Region(roi.x_offset, roi.y_offset, roi.width, roi.height),
                               began=time.monotonic(),
                               no_camera_s=self.get_parameter('max_observe_duration_s').value)
        feedback = Observe.Feedback(frames_requested=window.frames_wanted)
        with self._observers.opened(window):
            while not window.done(time.monotonic()):
                if goal_handle.is_cancel_requested:
                    goal_handle.canceled()
                    return observe_result(window)
                if not window.wait(0.1):
                    continue
                feedback.frames_processed = window.frames
                feedback.objects_tracked = len(window.fuser.objects)
                feedback.elapsed = time.monotonic() - window.began
                goal_handle.publish_feedback(feedback)
        if window.frames == 0 or window.frames < window.frames_wanted:
            # fewer frames than asked (no camera, a slow detector): failed, with what it got
            self.get_logger().warning(
                f'vision/observe got {window.frames} of {window.frames_wanted or "any"} '
                f'frames in {time.monotonic() - window.began:.1f} s', throttle_duration_sec=2.0)
            goal_handle.abort()
        else:
            goal_handle.succeed()
        return observe_result(window)

    # -- diagnostics --------------------------------------------------------------------------
    def model_facts(self, detector: Detector) -> dict:
        return {'provider': detector.provider, 'model': detector.path,
                'input_size': detector.input_size, 'layout': detector.layout,
                'world': self.get_parameter('world').value,
                'conf_threshold': detector.conf_threshold}


def main(args=None) -> int:
    """Run the vision node; it configures and activates itself."""
    return run(VisionNode, args, lifecycle=True)
