"""Speech node: ``audio`` (edge_agent/AudioChunk) in, ``speech/transcript`` out, ``speech/listen``.

A lifecycle node. Incoming chunks of any encoding, rate and channel count are converted to
16 kHz mono and segmented by the Silero VAD; while someone speaks the growing segment is
re-decoded every ``partial_interval_s`` (partial transcripts, dropped when the decoder is busy),
and at the end of speech the segment is decoded once more (final, never dropped). The audio
callback only queues the chunk (60 s of backlog; overflow is counted): conversion, VAD and
segmentation run on an audio thread and decoding on a decoder thread, so no executor thread is
held by audio work. A tier switch loads the new model, switches between decodes and frees the
old one, so a segment being decoded is never lost. Bad chunks are counted and reported on
``/diagnostics``; the node keeps serving. While ``speech/speaking`` (the speaker node) is true,
and ``echo_tail_s`` after, the microphone is heard as silence: the robot never transcribes
itself. Logic lives in ``edge_agent.core.speech``
(``SpeechStream``: conversion, VAD, wake-word gating, partial skipping, stamps).
"""
from __future__ import annotations

import dataclasses
import queue
import threading
import time

import rclpy
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.time import Time
from std_msgs.msg import Bool

from edge_agent.action import Listen
from edge_agent.core.config.tiers import TierCatalog
from edge_agent.core.errors import EdgeAgentError
from edge_agent.core.models import ModelCatalog
from edge_agent.core.planning.rules import RuleParser
from edge_agent.core.planning.skills import SkillCatalog
from edge_agent.core.speech import (
    AudioFormatError,
    SpeechConfig,
    SpeechStream,
    StreamingVad,
    TranscriptResult,
    WakeWordDetector,
    WhisperEngine,
)
from edge_agent.core.speech.decoding import DecodeLoop
from edge_agent.core.speech.listeners import Listeners
from edge_agent.msg import AudioChunk, Transcript, WordInfo
from edge_agent.nodes.common import (
    AUTOSTART_PARAM,
    LATCHED,
    OVERRIDABLE,
    RELIABLE,
    SENSOR,
    STALE_PARAM,
    ModelNode,
    Param,
    config_check,
    declare,
    run,
    tier_parameters,
)
from edge_agent.nodes.common.futures import serve_queue
from edge_agent.nodes.common.goals import bounded, goal_parameters
from edge_agent.nodes.common.trace import ANSWER_STAGE, traced

__all__ = ['PARAMETERS', 'SpeechNode', 'main', 'result_to_msg']

AUDIO_BACKLOG = 600  # chunks waiting for the audio thread (60 s of 100 ms chunks); then dropped
WAKE_WORDS = ('okay_nabu', 'hey_jarvis', 'hey_mycroft', 'alexa')
_CONFIG = SpeechConfig()

PARAMETERS = [
    AUTOSTART_PARAM,
    *tier_parameters(initial=1),
    Param('device', 'auto', '"auto" (CUDA float16 when available, else CPU int8), "cpu", '
          '"cuda".', read_only=True, choices=('auto', 'cpu', 'cuda')),
    Param('cpu_threads', 0, 'Decoder threads; 0 = all cores.', (0, 256), read_only=True),
    Param('frame_id', '', "frame_id of transcripts; empty = the audio chunks' frame_id."),
    Param('wake_word', '', 'Only transcribe utterances after this wake word (needs '
          'pymicro-wakeword); empty = off.', read_only=True, choices=('', *WAKE_WORDS)),
    Param('wake_word_window_s', 8.0, 'Utterances starting this long after the wake word are '
          'still transcribed [s].', (0.0, 600.0)),
    Param('vad_threshold', _CONFIG.vad_threshold, 'VAD probability at which speech starts '
          '[0..1].', (0.0, 1.0)),
    Param('vad_neg_threshold', _CONFIG.vad_neg_threshold, 'VAD probability below which it is '
          'silence again [0..1].', (0.0, 1.0)),
    Param('min_silence_s', _CONFIG.min_silence_s, 'Silence that ends an utterance [s].',
          (0.0, 10.0)),
    Param('speech_pad_s', _CONFIG.speech_pad_s, 'Audio kept before and after speech [s].',
          (0.0, 5.0)),
    Param('min_speech_s', _CONFIG.min_speech_s, 'Shorter voice bursts are ignored [s].',
          (0.0, 10.0)),
    Param('max_segment_s', _CONFIG.max_segment_s, 'An utterance is cut (and decoded) at this '
          'length [s].', (1.0, 60.0)),
    Param('partial_interval_s', _CONFIG.partial_interval_s, 'Re-decode the growing utterance '
          'this often; 0 = no partials [s].', (0.0, 60.0)),
    Param('pause_s', _CONFIG.pause_s, 'A pause this long inside an utterance decodes the words '
          'so far at once (published as a partial with at_pause, reused as the final when '
          'nothing more is said); 0 = never [s].', (0.0, 10.0)),
    Param('early_end', True, 'Semantic end-pointing: end the utterance at a pause when its '
          'words already form a whole command the rules parse (published as the final with '
          'early_end), instead of waiting min_silence_s.'),
    Param('early_end_min_confidence', 0.5, "Whisper's confidence a pause's words need to end "
          'the utterance early [0..1].', (0.0, 1.0)),
    Param('skills_file', '', "Skill catalog YAML whose commands end an utterance early; empty = "
          "the package's config/skills.yaml.", read_only=True),
    Param('no_speech_threshold', _CONFIG.no_speech_threshold, 'Drop segments Whisper deems '
          'silent above this [0..1].', (0.0, 1.0)),
    Param('log_prob_threshold', _CONFIG.log_prob_threshold, 'Average token log probability '
          'below which a segment is doubted.', (-100.0, 0.0)),
    Param('compression_ratio_threshold', _CONFIG.compression_ratio_threshold, 'Drop repetitive '
          '(hallucinated) text above this ratio.', (1.0, 100.0)),
    Param('beam_size', 0, "Beam width; 0 = the tier catalog's value.", (0, 20)),
    Param('language', _CONFIG.language, 'Language code such as "en"; empty = detect on '
          'multilingual tiers.'),
    Param('word_timestamps', _CONFIG.word_timestamps, 'Per-word timing and probability in '
          'transcripts.'),
    Param('echo_tail_s', 0.3, 'Keep the microphone muted this long after the robot stops '
          'speaking (room echo, output latency) [s].', (0.0, 10.0)),
    Param('max_chunk_bytes', 1 << 20, 'Largest audio chunk taken; a larger one is dropped, '
          'counted (chunks_oversized) and reported on /diagnostics [bytes].', (1024, 1 << 30)),
    Param('max_listen_timeout_s', 120.0, 'Longest speech/listen timeout a goal may ask for; '
          'a larger, zero or non-finite one is rejected [s].', (0.1, 3600.0)),
    STALE_PARAM,
    *goal_parameters(4),
]
_CONFIG_FIELDS = [f.name for f in dataclasses.fields(SpeechConfig)]


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


class SpeechNode(ModelNode, LifecycleNode):
    """Lifecycle speech-to-text node; see the module docstring."""

    def __init__(self, **kwargs) -> None:
        super().__init__('speech', **kwargs)
        self.init_tiers()
        self._stream: SpeechStream | None = None
        self._vad: StreamingVad | None = None
        self._wake = None
        self._decoder: DecodeLoop | None = None   # made on activate; its thread decodes
        self._audio: queue.Queue = queue.Queue(maxsize=AUDIO_BACKLOG)
        self._listeners = Listeners()   # speech/listen goals waiting for an utterance
        self._worker: threading.Thread | None = None
        self._audio_worker: threading.Thread | None = None
        self._muted_until = 0.0    # monotonic time until which the microphone is muted
        self._rules: RuleParser | None = None   # whole commands end an utterance early
        declare(self, PARAMETERS, config_check(self._config_from), self.check_tier,
                apply=self._apply)
        self.watch_health('edge_agent: speech', 'audio')
        self._stats, self._errors = self.health.counters, self.health.problems
        # audio: chunks in; latency: end of an utterance (the VAD's end point) -> final out
        self._audio_in = self.health.input('audio', stream=True)
        self._config = self._config_from({})

    # -- parameters ---------------------------------------------------------------------------
    def _config_from(self, overrides: dict) -> SpeechConfig:
        values = {name: overrides.get(name, self.get_parameter(name).value)
                  for name in _CONFIG_FIELDS}
        if not values['beam_size']:
            values['beam_size'] = self._tier_beam() or 1
        return SpeechConfig(**values)

    def _tier_beam(self) -> int:
        index = self.engines.key
        if self._tiers is None or index is None:
            return 0
        entry = self._tiers[index].entry('stt')
        return entry.beam_size if entry is not None else 1

    def _apply(self, params) -> None:
        self._set_config(self._config_from({}))
        for p in params:
            if p.name == 'tier':
                self.tier_changed(p.value)
            if p.name == 'wake_word_window_s' and self._stream is not None:
                self._stream.wake_window_s = p.value

    def _set_config(self, config: SpeechConfig) -> None:
        self._config = config
        if self._stream is not None:
            self._stream.config = config

    # -- lifecycle ----------------------------------------------------------------------------
    def on_configure(self, state) -> TransitionCallbackReturn:
        try:
            self._models = ModelCatalog()
            self._tiers = TierCatalog(known_models=set(self._models.models))
            self._vad = StreamingVad()
            wake_word = self.get_parameter('wake_word').value
            self._wake = WakeWordDetector(wake_word) if wake_word else None
            self._rules = RuleParser(SkillCatalog(self.get_parameter('skills_file').value
                                                  or None))
        except (EdgeAgentError, OSError, RuntimeError, ValueError) as exc:
            return self.fail(f'configure failed: {exc}')
        self._pub = self.own(self.create_lifecycle_publisher(
            Transcript, 'speech/transcript', RELIABLE,
            event_callbacks=self.publisher_events('speech/transcript')))
        self.own_diagnostics()
        self.own(self.create_subscription(AudioChunk, 'audio', self._on_audio, SENSOR,
                                          qos_overriding_options=OVERRIDABLE,
                                          callback_group=MutuallyExclusiveCallbackGroup(),
                                          event_callbacks=self.subscription_events(
                                              'audio', self._audio_in)))
        self.own(self.create_subscription(Bool, 'speech/speaking', self._on_speaking, LATCHED))
        self.own(self.follow_tiers())
        self.serve_action(Listen, 'speech/listen', self._listen, check=self._check_listen)
        return super().on_configure(state)

    def _start_work(self) -> None:
        self._vad.reset()
        self._stream = SpeechStream(self._config, self._vad, self._wake,
                                    self.get_parameter('wake_word_window_s').value,
                                    stats=self._stats, errors=self._errors)
        self._decoder = DecodeLoop(self._decode, self._publish, self._ends_here,
                                   lambda: self._stream, self._stats)
        self._worker = threading.Thread(target=self._decoder.run, daemon=True)
        self._worker.start()
        self._audio_worker = threading.Thread(target=self._audio_loop, daemon=True)
        self._audio_worker.start()

    def _stop_work(self) -> None:
        if self._audio_worker is not None:  # first: it feeds the decoder
            self._audio.put(None)
            self._audio_worker.join(timeout=30)
            self._audio_worker = None
        if self._worker is not None:
            self._decoder.stop()
            self._worker.join(timeout=30)
            self._worker = None
        self._stream = None

    # -- tiers --------------------------------------------------------------------------------
    def _load_tier(self, index: int) -> WhisperEngine:
        entry = self._tiers[index].entry('stt')
        name = entry.model if entry is not None else None
        return WhisperEngine(
            str(self._models.path(name)), name, device=self.get_parameter('device').value,
            compute_type=entry.compute_type if entry is not None else 'default',
            cpu_threads=self.get_parameter('cpu_threads').value)

    def _describe(self, engine: WhisperEngine) -> str:
        return f'{engine.tier} on {engine.device} ({engine.compute_type})'

    def _swapped(self, index: int, engine) -> None:
        self._set_config(self._config_from({}))  # the beam size may come from the tier
        self._stats['tier_switches'] += 1

    # -- audio in -----------------------------------------------------------------------------
    def _bad(self, reason: str) -> None:
        self._stats['bad_chunks'] += 1
        self._audio_in.dropped()
        self._errors.append(reason)
        self.get_logger().warning(f'audio chunk rejected: {reason}', throttle_duration_sec=5.0)

    def _on_audio(self, msg: AudioChunk) -> None:
        if self._audio_worker is None:
            return
        self._audio_in.received()
        size, most = len(msg.data), self.get_parameter('max_chunk_bytes').value
        if size > most:   # never queued: 600 of them would hold gigabytes
            self._stats['chunks_oversized'] += 1
            self._audio_in.dropped()
            self._errors.append(f'audio chunk of {size} bytes dropped (max_chunk_bytes {most})')
            return
        try:
            self._audio.put_nowait(msg)
        except queue.Full:
            self._stats['chunks_dropped'] += 1
            self._audio_in.dropped()
            self._errors.append(f'audio thread {AUDIO_BACKLOG} chunks behind: chunk dropped')

    def _audio_loop(self) -> None:
        # _process_audio looked up per chunk, as before (a test slows it down on a live node)
        serve_queue(self._audio, lambda msg: self._process_audio(msg), lambda _msg, exc: self._bad(
            f'audio processing failed: {type(exc).__name__}: {exc}'))

    def _on_speaking(self, msg: Bool) -> None:
        self._muted_until = float('inf') if msg.data else (
            time.monotonic() + self.get_parameter('echo_tail_s').value)

    def _process_audio(self, msg: AudioChunk) -> None:
        stream = self._stream
        if stream is None:
            return
        stream.muted = time.monotonic() < self._muted_until
        try:
            events = stream.feed(bytes(msg.data), msg.encoding, msg.channels, msg.sample_rate,
                                 Time.from_msg(msg.header.stamp).nanoseconds,
                                 msg.header.frame_id)
        except AudioFormatError as exc:
            return self._bad(str(exc))
        for event in events:
            if event.kind == 'start':
                self._listeners.notify(speech_started=True)
            else:
                self._decoder.put(time.monotonic(), event)

    # -- decoding -----------------------------------------------------------------------------
    def _decode(self, event) -> TranscriptResult | None:
        try:
            with self.engines.use() as engine:
                if engine is None:
                    return None
                return engine.transcribe(event.audio, self._config)
        except Exception as exc:  # noqa: BLE001 - a decoder failure must not stop the node
            self._errors.append(f'decode failed: {exc}')
            self.get_logger().error(f'decode failed: {exc}')
            return None

    def _ends_here(self, result: TranscriptResult) -> bool:
        """Whether a pause's words end the utterance: a whole command the rules parse, heard
        with enough confidence (``early_end``, ``early_end_min_confidence``)."""
        param = self.get_parameter
        return (param('early_end').value and self._rules is not None
                and result.confidence >= param('early_end_min_confidence').value
                and self._rules.complete(result.text))

    def _publish(self, result: TranscriptResult, event, final: bool, queued: float,
                 early_end: bool = False) -> None:
        stamp_ns, frame = (self._stream.stamp_of(event.start_sample) if self._stream
                           else (None, ''))
        stamp = (self.get_clock().now() if stamp_ns is None
                 else Time(nanoseconds=stamp_ns)).to_msg()
        msg = result_to_msg(result, event.utterance, final, stamp)
        msg.at_pause, msg.early_end = event.kind == 'pause' and not final, early_end
        msg.header.frame_id = self.get_parameter('frame_id').value or frame
        if final:   # the command's trace begins: end of speech, then this transcript
            end_ns = self._stream.stamp_of(event.end_sample)[0] if self._stream else None
            if end_ns is not None:
                msg.trace.end_of_speech = Time(nanoseconds=end_ns).to_msg()
            msg.trace.utterance_id = event.utterance
            msg.trace = traced(msg.trace, 'transcript', self.get_clock().now().to_msg())
        # a final a speech/listen goal takes is that question's answer, and says so
        msg = self._listeners.notify(transcript=msg, final=msg.is_final, text=msg.text,
                                     as_answer=self._as_answer)
        self._pub.publish(msg)
        if final:
            self._audio_in.processed(time.monotonic() - queued)
        self.get_logger().debug(
            f'{"final" if final else "partial"} {event.utterance}: decoded in '
            f'{result.processing_time:.2f} s, published {time.monotonic() - queued:.2f} s '
            'after the segment ended')

    def _as_answer(self, msg: Transcript) -> Transcript:
        msg.trace = traced(msg.trace, ANSWER_STAGE, self.get_clock().now().to_msg())
        return msg

    # -- listen action ------------------------------------------------------------------------
    def _check_listen(self, goal) -> str | None:
        if goal.timeout == 0:
            return 'timeout must be more than 0 s'
        return bounded('timeout', goal.timeout, self.get_parameter('max_listen_timeout_s').value)

    def _listen(self, goal_handle):
        feedback = Listen.Feedback()

        def report(listener, elapsed: float) -> None:
            feedback.speech_started, feedback.partial_text = listener.started, listener.partial
            feedback.elapsed = elapsed
            goal_handle.publish_feedback(feedback)

        with self._listeners.listening() as listener:
            how, elapsed = self._listeners.wait(
                listener, float(goal_handle.request.timeout),
                lambda: goal_handle.is_cancel_requested or not rclpy.ok(context=self.context),
                report)
        if how == 'stopped' and goal_handle.is_cancel_requested:
            goal_handle.canceled()
            return Listen.Result(heard=False, elapsed=elapsed)
        goal_handle.succeed()
        if how == 'heard':
            return Listen.Result(transcript=listener.final, heard=True, elapsed=elapsed)
        return Listen.Result(heard=False, elapsed=elapsed)

    # -- diagnostics --------------------------------------------------------------------------
    def model_facts(self, engine: WhisperEngine) -> dict:
        return {'model': engine.tier, 'device': engine.device,
                'compute_type': engine.compute_type}

def main(args=None) -> int:
    """Run the speech node; it configures and activates itself."""
    return run(SpeechNode, args, lifecycle=True)
