"""Speech node: ``audio`` (edge_agent/AudioChunk) in, ``speech/transcript`` out, ``speech/listen``.

A lifecycle node. Incoming chunks of any encoding, rate and channel count are converted to
16 kHz mono and segmented by the Silero VAD; while someone speaks the growing segment is
re-decoded every ``partial_interval_s`` (partial transcripts, dropped when the decoder is busy),
and at the end of speech the segment is decoded once more (final, never dropped). The audio
callback only queues the chunk (60 s of backlog; overflow is counted): conversion, VAD and
segmentation run on an audio thread and decoding on a decoder thread, so no executor thread is
held by audio work. A tier switch loads the new model, switches between decodes and frees the
old one, so a segment being decoded is never lost. Bad chunks are counted and reported on
``/diagnostics``; the node keeps serving. Logic lives in ``edge_agent.core.speech``.
"""
from __future__ import annotations

import collections
import dataclasses
import queue
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
import rclpy
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.time import Time

from edge_agent.action import Listen
from edge_agent.core.audio import AudioFormatError, decode_pcm, resample
from edge_agent.core.models import ModelCatalog, ModelError
from edge_agent.core.speech import (
    SAMPLE_RATE,
    Segmenter,
    SpeechConfig,
    StreamingVad,
    TranscriptResult,
    WakeWordDetector,
    WhisperEngine,
)
from edge_agent.core.tiers import TierCatalog
from edge_agent.msg import AudioChunk, Transcript, WordInfo
from edge_agent.nodes.common import (
    OVERRIDABLE,
    RELIABLE,
    SENSOR,
    TierFollower,
    model_diagnostics,
    run,
)

__all__ = ['SpeechNode', 'main', 'result_to_msg']

AUDIO_BACKLOG = 600  # chunks waiting for the audio thread (60 s of 100 ms chunks); then dropped

_CONFIG_FIELDS = {f.name: f.default for f in dataclasses.fields(SpeechConfig)}
_CONFIG_DOCS = {
    'vad_threshold': 'VAD probability at which speech starts [0..1].',
    'vad_neg_threshold': 'VAD probability below which it is silence again [0..1].',
    'min_silence_s': 'Silence that ends an utterance [s].',
    'speech_pad_s': 'Audio kept before and after speech [s].',
    'min_speech_s': 'Shorter voice bursts are ignored [s].',
    'max_segment_s': 'An utterance is cut (and decoded) at this length [s].',
    'partial_interval_s': 'Re-decode the growing utterance this often; 0 = no partials [s].',
    'no_speech_threshold': 'Drop segments Whisper deems silent above this [0..1].',
    'log_prob_threshold': 'Average token log probability below which a segment is doubted.',
    'compression_ratio_threshold': 'Drop repetitive (hallucinated) text above this ratio.',
    'beam_size': 'Beam width; 0 = the tier catalog\'s value.',
    'language': 'Language code such as "en"; empty = detect on multilingual tiers.',
    'word_timestamps': 'Per-word timing and probability in transcripts.',
}
_WAKE_WORDS = ('okay_nabu', 'hey_jarvis', 'hey_mycroft', 'alexa')


def result_to_msg(result: TranscriptResult, utterance: int, final: bool, stamp) -> Transcript:
    """Convert a core TranscriptResult into the edge_agent/Transcript message."""
    msg = Transcript(
        utterance_id=utterance, is_final=final, text=result.text, language=result.language,
        language_probability=result.language_probability, confidence=result.confidence,
        avg_logprob=result.avg_logprob, no_speech_prob=result.no_speech_prob,
        compression_ratio=result.compression_ratio, audio_duration=result.audio_duration,
        processing_time=result.processing_time, model_tier=result.tier,
        words=[WordInfo(word=w.word, start=w.start, end=w.end, probability=w.probability)
               for w in result.words])
    msg.header.stamp = stamp
    return msg


class SpeechNode(TierFollower, LifecycleNode):
    """Lifecycle speech-to-text node; see the module docstring."""

    def __init__(self, **kwargs) -> None:
        super().__init__('speech', **kwargs)
        d = ParameterDescriptor
        self.declare_tier_parameters(initial=1)
        self.declare_parameter('device', 'auto', d(
            description='"auto" (CUDA float16 when available, else CPU int8), "cpu", "cuda".',
            read_only=True))
        self.declare_parameter('cpu_threads', 0, d(description='Decoder threads; 0 = all '
                                                   'cores.', read_only=True))
        self.declare_parameter('frame_id', '', d(description='frame_id of transcripts; empty '
                                                 '= the audio chunks\' frame_id.'))
        self.declare_parameter('wake_word', '', d(
            description='Only transcribe utterances after this wake word (okay_nabu, '
                        'hey_jarvis, hey_mycroft, alexa; needs pymicro-wakeword); empty = off.',
            read_only=True))
        self.declare_parameter('wake_word_window_s', 8.0, d(
            description='Utterances starting this long after the wake word are still '
                        'transcribed [s].'))
        for name, default in _CONFIG_FIELDS.items():
            value = 0 if name == 'beam_size' else default
            self.declare_parameter(name, value, d(description=_CONFIG_DOCS[name]))
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self._config = self._config_from({})
        self._engine: WhisperEngine | None = None
        self._engine_lock = threading.Lock()
        self._tier_index = -1
        self._segmenter: Segmenter | None = None
        self._jobs: queue.Queue = queue.Queue()
        self._partial_pending = False
        self._stamps: collections.deque = collections.deque(maxlen=512)
        self._position = 0
        self._last_stamp_ns = None
        self._listeners: list[dict] = []
        self._listeners_lock = threading.Lock()
        self._stats = collections.Counter()
        self._errors: collections.deque = collections.deque(maxlen=5)
        self._worker: threading.Thread | None = None
        self._audio: queue.Queue = queue.Queue(maxsize=AUDIO_BACKLOG)
        self._audio_worker: threading.Thread | None = None
        self._wake = None
        self._last_wake: int | None = None

    # -- parameters ---------------------------------------------------------------------------
    def _config_from(self, overrides: dict) -> SpeechConfig:
        values = {}
        for name in _CONFIG_FIELDS:
            value = overrides.get(name, self.get_parameter(name).value)
            values[name] = value
        if not values['beam_size']:
            values['beam_size'] = self._tier_beam() or 1
        return SpeechConfig(**values)

    def _tier_beam(self) -> int:
        tiers = getattr(self, '_tiers', None)
        if tiers is None or self._tier_index < 0:
            return 0
        return int((tiers[self._tier_index].modalities.get('stt') or {}).get('beam_size', 1))

    def _on_set_parameters(self, params) -> SetParametersResult:
        overrides = {p.name: p.value for p in params}
        try:
            config = self._config_from(overrides)
            config.validate()
        except (ValueError, TypeError) as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        if 'tier' in overrides:
            tiers = getattr(self, '_tiers', None)
            if tiers is not None and not -1 <= overrides['tier'] < len(tiers):
                return SetParametersResult(successful=False,
                                           reason=f'tier must be -1..{len(tiers) - 1}')
            if self._engine is not None:
                threading.Thread(target=self._switch_tier,
                                 args=(self.wanted_tier(overrides['tier']),), daemon=True).start()
        self._config = config
        if self._segmenter is not None:
            self._segmenter.config = config
        return SetParametersResult(successful=True)

    # -- lifecycle ----------------------------------------------------------------------------
    def on_configure(self, state) -> TransitionCallbackReturn:
        try:
            self._models = ModelCatalog()
            self._tiers = TierCatalog(known_models=set(self._models.models))
            self._vad = StreamingVad()
            wake_word = self.get_parameter('wake_word').value
            if wake_word:
                self._wake = WakeWordDetector(wake_word)
        except (ModelError, OSError, RuntimeError, ValueError) as exc:
            self.get_logger().error(f'configure failed: {exc}')
            return TransitionCallbackReturn.FAILURE
        self._pub = self.create_lifecycle_publisher(Transcript, 'speech/transcript', RELIABLE)
        self._diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.create_subscription(AudioChunk, 'audio', self._on_audio, SENSOR,
                                 qos_overriding_options=OVERRIDABLE,
                                 callback_group=MutuallyExclusiveCallbackGroup())
        self.follow_tiers()
        self._action = ActionServer(
            self, Listen, 'speech/listen', self._listen, callback_group=ReentrantCallbackGroup(),
            goal_callback=lambda _g: GoalResponse.ACCEPT if self._engine is not None
            else GoalResponse.REJECT, cancel_callback=lambda _g: CancelResponse.ACCEPT)
        self.create_timer(1.0, self._publish_diagnostics)
        return super().on_configure(state)

    def on_activate(self, state) -> TransitionCallbackReturn:
        if not self._switch_tier(self.wanted_tier(), force=True):
            return TransitionCallbackReturn.FAILURE
        self._segmenter = Segmenter(self._config, self._vad)
        self._worker = threading.Thread(target=self._decode_loop, daemon=True)
        self._worker.start()
        self._audio_worker = threading.Thread(target=self._audio_loop, daemon=True)
        self._audio_worker.start()
        return super().on_activate(state)

    def _stop_worker(self) -> None:
        if self._audio_worker is not None:  # first: it feeds the decoder
            self._audio.put(None)
            self._audio_worker.join(timeout=30)
            self._audio_worker = None
        if self._worker is not None:
            self._jobs.put(None)
            self._worker.join(timeout=30)
            self._worker = None

    def destroy_node(self):
        self._stop_worker()  # the decoder publishes: stop it before the publisher goes
        return super().destroy_node()

    def on_deactivate(self, state) -> TransitionCallbackReturn:
        self._stop_worker()
        with self._engine_lock:
            if self._engine is not None:
                self._engine.close()
            self._engine = None
        self._segmenter = None
        return super().on_deactivate(state)

    # -- tiers --------------------------------------------------------------------------------
    def _serving(self) -> bool:
        return self._engine is not None

    def _switch_tier(self, index, force: bool = False) -> bool:
        """Load the tier's model, then switch between decodes and free the old one."""
        if index is None:
            return False
        index = max(0, min(int(index), len(self._tiers) - 1))
        if index == self._tier_index and not force:
            return True
        entry = self._tiers[index].modalities.get('stt') or {}
        name = entry.get('model')
        began = time.monotonic()
        try:
            engine = WhisperEngine(
                str(self._models.path(name)), name, device=self.get_parameter('device').value,
                compute_type=str(entry.get('compute_type', 'default')),
                cpu_threads=self.get_parameter('cpu_threads').value)
        except (ModelError, RuntimeError, ValueError, OSError) as exc:
            self.get_logger().error(f'speech tier {index} ({name}) unavailable: {exc}')
            self._errors.append(f'tier {index}: {exc}')
            return self._engine is not None
        with self._engine_lock:
            old, self._engine, self._tier_index = self._engine, engine, index
            self._config = self._config_from({})
        if self._segmenter is not None:
            self._segmenter.config = self._config
        if old is not None:
            old.close()
        self._stats['tier_switches'] += 1
        self.get_logger().info(
            f'speech tier {index}: {name} on {engine.device} ({engine.compute_type}), '
            f'swap {time.monotonic() - began:.2f} s')
        return True

    # -- audio in -----------------------------------------------------------------------------
    def _bad(self, reason: str) -> None:
        self._stats['bad_chunks'] += 1
        self._errors.append(reason)
        self.get_logger().warning(f'audio chunk rejected: {reason}', throttle_duration_sec=5.0)

    def _on_audio(self, msg: AudioChunk) -> None:
        if self._audio_worker is None:
            return
        try:
            self._audio.put_nowait(msg)
        except queue.Full:
            self._stats['chunks_dropped'] += 1
            self._errors.append(f'audio thread {AUDIO_BACKLOG} chunks behind: chunk dropped')

    def _audio_loop(self) -> None:
        while True:
            msg = self._audio.get()
            if msg is None:
                return
            try:
                self._process_audio(msg)
            except Exception as exc:  # noqa: BLE001 - one bad chunk must not stop the stream
                self._bad(f'audio processing failed: {type(exc).__name__}: {exc}')

    def _process_audio(self, msg: AudioChunk) -> None:
        if self._segmenter is None:
            return
        self._stats['chunks'] += 1
        if not msg.data:
            return self._bad('empty chunk')
        try:
            samples, fixed = decode_pcm(bytes(msg.data), msg.encoding, msg.channels,
                                        msg.sample_rate)
        except AudioFormatError as exc:
            return self._bad(str(exc))
        if fixed:
            self._stats['nonfinite_samples'] += fixed
            self._errors.append(f'{fixed} NaN/inf samples replaced by 0')
        stamp_ns = Time.from_msg(msg.header.stamp).nanoseconds
        if self._last_stamp_ns is not None and stamp_ns and stamp_ns < self._last_stamp_ns:
            self._stats['stamps_backwards'] += 1
            self._errors.append('audio stamp went backwards; keeping the stream order')
        self._last_stamp_ns = stamp_ns or self._last_stamp_ns
        samples = resample(samples, msg.sample_rate, SAMPLE_RATE)
        self._stamps.append((self._position, stamp_ns, msg.header.frame_id))
        self._position += samples.size
        if self._wake is not None:
            for hit in self._wake.feed(samples):
                self._last_wake = hit
                self._stats['wake_words'] += 1
                self.get_logger().info(f'wake word {self._wake.model!r} heard')
        for event in self._segmenter.feed(samples):
            if event.kind != 'start' and not self._awake(event.start_sample):
                if event.kind == 'final' and event.audio is not None:
                    self._stats['gated_by_wake_word'] += 1
                continue
            if event.kind == 'start':
                self._notify(speech_started=True)
            elif event.kind == 'partial':
                if not self._partial_pending:  # only the newest partial matters
                    self._partial_pending = True
                    self._jobs.put((time.monotonic(), event))
                else:
                    self._stats['partials_skipped'] += 1
            elif event.audio is not None:
                if event.forced:
                    self._stats['segments_cut_at_max'] += 1
                self._jobs.put((time.monotonic(), event))

    def _awake(self, utterance_start: int) -> bool:
        """Without a wake word always; else when it was heard in or shortly before it."""
        if self._wake is None:
            return True
        window = int(self.get_parameter('wake_word_window_s').value * SAMPLE_RATE)
        return self._last_wake is not None and self._last_wake >= utterance_start - window

    def _stamp_of(self, position: int):
        best = None
        for start, stamp_ns, frame in self._stamps:
            if start <= position:
                best = (start, stamp_ns, frame)
        if best is None or not best[1]:
            return self.get_clock().now().to_msg(), ''
        ns = best[1] + int((position - best[0]) * 1e9 / SAMPLE_RATE)
        return Time(nanoseconds=max(ns, 0)).to_msg(), best[2]

    # -- decoding -----------------------------------------------------------------------------
    def _decode_loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            queued, event = job
            final = event.kind == 'final'
            if not final:
                self._partial_pending = False
                if not self._jobs.empty():
                    continue  # a final or newer work waits: skip the stale partial
            with self._engine_lock:
                engine, config = self._engine, self._config
            if engine is None:
                continue
            try:
                result = engine.transcribe(event.audio, config)
            except Exception as exc:  # noqa: BLE001 - a decoder failure must not stop the node
                self._errors.append(f'decode failed: {exc}')
                self.get_logger().error(f'decode failed: {exc}')
                continue
            self._stats['finals' if final else 'partials'] += 1
            if final:
                self._stats['decode_ms_total'] += int(result.processing_time * 1000)
            if not result.text:
                self._stats['empty_decodes'] += 1
                continue
            stamp, frame = self._stamp_of(event.start_sample)
            msg = result_to_msg(result, event.utterance, final, stamp)
            msg.header.frame_id = self.get_parameter('frame_id').value or frame
            self._pub.publish(msg)
            self._notify(transcript=msg)
            self.get_logger().debug(
                f'{"final" if final else "partial"} {event.utterance}: decoded in '
                f'{result.processing_time:.2f} s, published {time.monotonic() - queued:.2f} s '
                'after the segment ended')

    # -- listen action ------------------------------------------------------------------------
    def _notify(self, speech_started: bool = False, transcript: Transcript | None = None):
        with self._listeners_lock:
            for listener in self._listeners:
                if speech_started:
                    listener['started'] = True
                if transcript is not None:
                    if transcript.is_final and listener['final'] is None:
                        listener['final'] = transcript
                    elif not transcript.is_final:
                        listener['partial'] = transcript.text
                listener['event'].set()

    def _listen(self, goal_handle):
        timeout = max(0.0, float(goal_handle.request.timeout)) or 10.0
        listener = {'started': False, 'partial': '', 'final': None, 'event': threading.Event()}
        with self._listeners_lock:
            self._listeners.append(listener)
        began = time.monotonic()
        feedback = Listen.Feedback()
        try:
            while listener['final'] is None:
                elapsed = time.monotonic() - began
                if goal_handle.is_cancel_requested:
                    goal_handle.canceled()
                    return Listen.Result(heard=False, elapsed=elapsed)
                if elapsed >= timeout or not rclpy.ok(context=self.context):
                    goal_handle.succeed()
                    return Listen.Result(heard=False, elapsed=elapsed)
                if listener['event'].wait(0.1):
                    listener['event'].clear()
                    feedback.speech_started = listener['started']
                    feedback.partial_text = listener['partial']
                    feedback.elapsed = time.monotonic() - began
                    goal_handle.publish_feedback(feedback)
            goal_handle.succeed()
            return Listen.Result(transcript=listener['final'], heard=True,
                                 elapsed=time.monotonic() - began)
        finally:
            with self._listeners_lock:
                self._listeners.remove(listener)

    # -- diagnostics --------------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        engine = self._engine
        model = None if engine is None else {
            'model': engine.tier, 'device': engine.device, 'compute_type': engine.compute_type,
            'tier': self._tier_index}
        self._diag_pub.publish(model_diagnostics(
            self, 'edge_agent: speech', 'audio', self._stats, self._errors, model,
            f'tier {self._tier_index}'))

def main(args=None) -> int:
    """Run the speech node; it configures and activates itself."""
    return run(SpeechNode, args, lifecycle=True)
