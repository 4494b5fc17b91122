"""The speech lifecycle node over real DDS: audio chunks in (paced like a microphone), partial
then final transcripts out in order, the listen action, bad chunks, and a tier switch in the
middle of an utterance. The audio is the committed Piper test set (no microphone here)."""
from __future__ import annotations

import threading
import time

from diagnostic_msgs.msg import DiagnosticArray
import numpy as np
from rclpy.action import ActionClient
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.node import Node
from rclpy.parameter import Parameter
from ros_helpers import wait_for, wait_future
from speech_data import load

from edge_agent.action import Listen
from edge_agent.core.speech.pcm import to_int16_bytes
from edge_agent.msg import AudioChunk, Transcript
from edge_agent.nodes.speech import SpeechNode

CHUNK = 1600  # 100 ms at 16 kHz


# A deeper audio queue than the default 5, set the way a deployment would (QoS override
# parameter): on a loaded 2-core CI machine best-effort chunks otherwise drop and cut words.
AUDIO_DEPTH = {'qos_overrides./audio.subscription.depth': 100}


def start_speech(ros_context, executor, **params):
    node = SpeechNode(context=ros_context, parameter_overrides=[
        Parameter(k, value=v) for k, v in {'tier': 2, 'language': 'en', **AUDIO_DEPTH,
                                           **params}.items()])
    executor.activate(node)
    assert node.get_parameter('qos_overrides./audio.subscription.depth').value == 100
    return node


def play(pub, audio, speed=2.0, rate=16000, stamp0=1000.0, on_chunk=None):
    """Publish ``audio`` as s16le chunks of 100 ms, ``speed`` times faster than real time."""
    for k, i in enumerate(range(0, audio.size, CHUNK)):
        msg = AudioChunk(sample_rate=rate, channels=1, encoding=AudioChunk.ENCODING_S16LE,
                         data=to_int16_bytes(audio[i:i + CHUNK]))
        t = stamp0 + i / rate
        msg.header.stamp.sec, msg.header.stamp.nanosec = int(t), int((t % 1) * 1e9)
        msg.header.frame_id = 'mic'
        pub.publish(msg)
        if on_chunk:
            on_chunk(k)
        time.sleep(CHUNK / rate / speed)


def make_probe(ros_context, executor, name):
    probe = executor.add(Node(name, context=ros_context))
    got: list[Transcript] = []
    probe.create_subscription(Transcript, 'speech/transcript', got.append, 10)
    pub = probe.create_publisher(AudioChunk, 'audio', 5)
    wait_for(lambda: pub.get_subscription_count() > 0, message='the speech node')
    return probe, pub, got


def test_partials_then_final_in_order_with_stamps(ros_context, executor):
    start_speech(ros_context, executor, partial_interval_s=0.5)
    _, pub, got = make_probe(ros_context, executor, 'speech_probe')
    play(pub, np.concatenate([load('multi_box'), np.zeros(16000, np.float32)]))
    wait_for(lambda: any(t.is_final for t in got), message='a final transcript')
    finals = [t for t in got if t.is_final]
    assert len(finals) == 1
    final = finals[0]
    assert final.text == 'Go to the bedroom and pick up the yellow box.'
    assert got[-1] is final and len(got) >= 2, 'partials come first'
    assert all(t.utterance_id == final.utterance_id for t in got)
    assert final.model_tier == 'whisper-tiny.en' and final.language == 'en'
    assert 0.3 < final.confidence <= 1 and len(final.words) == 10
    assert final.header.frame_id == 'mic'
    start = final.header.stamp.sec + final.header.stamp.nanosec * 1e-9
    assert 1000.0 <= start < 1000.6  # the utterance's audio time, not the publish time
    assert list(final.trace.stages) == ['transcript']   # no speech/listen goal took it


def test_listen_action_and_timeout(ros_context, executor):
    node = start_speech(ros_context, executor)
    probe, pub, published = make_probe(ros_context, executor, 'listen_probe')
    client = ActionClient(probe, Listen, 'speech/listen')
    wait_for(client.server_is_ready, message='the listen server')
    quiet = wait_future(wait_future(client.send_goal_async(Listen.Goal(timeout=0.5)))
                        .get_result_async())
    assert not quiet.result.heard and quiet.result.elapsed >= 0.5
    gate = node.goal_gates['speech/listen']
    for timeout, reason in ((0.0, 'more than 0'), (float('inf'), 'finite'),
                            (float('nan'), 'finite'), (-1.0, '0..120'), (1e6, '0..120')):
        assert not wait_future(client.send_goal_async(Listen.Goal(timeout=timeout))).accepted
        assert reason in gate.last_reason, (timeout, gate.last_reason)

    # four listeners (max_concurrent_goals) all hear the utterance; a fifth is rejected
    feedback = []
    handles = [wait_future(client.send_goal_async(
        Listen.Goal(timeout=20.0), feedback_callback=lambda f: feedback.append(f.feedback)))
        for _ in range(5)]
    assert [h.accepted for h in handles] == [True] * 4 + [False]
    assert 'max_concurrent_goals = 4' in gate.last_reason
    player = threading.Thread(target=play, args=(pub, np.concatenate(
        [load('stop'), np.zeros(16000, np.float32)])), daemon=True)
    player.start()
    results = [wait_future(h.get_result_async(), timeout=30).result for h in handles[:4]]
    player.join(timeout=30)
    for result in results:
        assert result.heard and result.transcript.text == 'Stop.' and result.transcript.is_final
        assert list(result.transcript.trace.stages) == ['transcript', 'answer']
    # the same final on speech/transcript says it answered a question, so that the agent does
    # not take it for a new command when it arrives after the listen goal's result
    wait_for(lambda: any(t.is_final for t in published), message='the final on the topic')
    assert [list(t.trace.stages) for t in published if t.is_final] == [['transcript', 'answer']]
    assert any(f.speech_started for f in feedback)


def test_bad_chunks_get_diagnostics_and_the_node_keeps_serving(ros_context, executor):
    node = start_speech(ros_context, executor)
    probe, pub, got = make_probe(ros_context, executor, 'bad_probe')
    diags: list[DiagnosticArray] = []
    probe.create_subscription(DiagnosticArray, '/diagnostics', diags.append, 10)
    bad = [
        AudioChunk(sample_rate=16000, channels=1, encoding='mp3', data=b'\x01\x02'),
        AudioChunk(sample_rate=16000, channels=1, encoding='s16le', data=b''),
        AudioChunk(sample_rate=16000, channels=1, encoding='s16le', data=b'\x01\x02\x03'),
        AudioChunk(sample_rate=3, channels=1, encoding='s16le', data=b'\x01\x02'),
        AudioChunk(sample_rate=16000, channels=1, encoding='f32le',
                   data=np.array([np.nan, np.inf] * 800, '<f4').tobytes()),
    ]
    for msg in bad:
        pub.publish(msg)
        time.sleep(0.05)
    wait_for(lambda: node._stats['bad_chunks'] >= 4, message='bad chunks to be counted')
    assert node._stats['nonfinite_samples'] == 1600
    wait_for(lambda: any(v.key == 'bad_chunks' for d in diags for v in d.status[0].values),
             message='diagnostics')
    # 48 kHz stereo float input, backwards stamps: still transcribed
    audio = np.concatenate([load('look_ball'), np.zeros(16000, np.float32)])
    up = np.repeat(audio, 3)
    stereo = np.stack([up, up], axis=1).reshape(-1).astype('<f4')
    for k, i in enumerate(range(0, up.size, 4800)):
        msg = AudioChunk(sample_rate=48000, channels=2, encoding='f32le',
                         data=stereo[2 * i:2 * (i + 4800)].tobytes())
        msg.header.stamp.sec = 2000 - k
        pub.publish(msg)
        time.sleep(0.05)
    wait_for(lambda: any(t.is_final for t in got), message='a transcript after bad input')
    assert [t for t in got if t.is_final][0].text == 'Look at the green ball.'
    assert node._stats['stamps_backwards'] > 0


def test_tier_switch_mid_utterance_loses_nothing(ros_context, executor):
    node = start_speech(ros_context, executor, partial_interval_s=0.5)
    _, pub, got = make_probe(ros_context, executor, 'switch_probe')
    switched = []

    def switch(k):
        if k == 12 and not switched:  # 1.2 s in: the speaker is mid-sentence
            switched.append(node.set_parameters([Parameter('tier', value=0)])[0])

    first = np.concatenate([load('place_bottle'), np.zeros(16000, np.float32)])
    play(pub, first, on_chunk=switch)
    assert switched and switched[0].successful
    wait_for(lambda: any(t.is_final for t in got), timeout=30, message='the first final')
    wait_for(lambda: node.engines.key == 0, timeout=60, message='whisper-base to load')
    play(pub, np.concatenate([load('pick_red_cup'), np.zeros(16000, np.float32)]))
    wait_for(lambda: sum(t.is_final for t in got) == 2, timeout=60, message='the second final')
    finals = [t for t in got if t.is_final]
    assert finals[0].text == 'Put the blue bottle on the table.'
    assert finals[1].text == 'Pick up the red cup.' and finals[1].model_tier == 'whisper-base'
    assert finals[1].utterance_id == finals[0].utterance_id + 1


def test_wake_word_gating(ros_context, executor):
    node = start_speech(ros_context, executor, wake_word='hey_jarvis', wake_word_window_s=3.0)
    _, pub, got = make_probe(ros_context, executor, 'wake_probe')
    silence = np.zeros(16000, np.float32)
    play(pub, np.concatenate([load('nav_kitchen'), silence]))
    wait_for(lambda: node._stats['gated_by_wake_word'] == 1, message='the ungated utterance')
    assert got == []
    play(pub, np.concatenate([load('wake_jarvis'), silence]))
    wait_for(lambda: any(t.is_final for t in got), message='the woken transcript')
    final = [t for t in got if t.is_final][0]
    assert 'kitchen' in final.text.lower() and node._stats['wake_words'] >= 1
    # still awake for a follow-up within the window, then asleep again
    play(pub, np.concatenate([load('stop'), silence]))
    wait_for(lambda: sum(t.is_final for t in got) == 2, message='the follow-up')
    play(pub, np.concatenate([silence, silence, silence, load('look_shelf'), silence]))
    wait_for(lambda: node._stats['gated_by_wake_word'] == 2, message='the window to close')


def test_unknown_wake_word_fails_configure(ros_context):
    node = SpeechNode(context=ros_context, parameter_overrides=[
        Parameter('wake_word', value='hey_robot')])
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    finally:
        node.destroy_node()


def test_audio_backlog_overflow_is_counted_and_the_stream_goes_on(ros_context, executor,
                                                                  monkeypatch):
    import edge_agent.nodes.speech as speech

    monkeypatch.setattr(speech, 'AUDIO_BACKLOG', 3)
    node = start_speech(ros_context, executor)
    probe, pub, got = make_probe(ros_context, executor, 'backlog_probe')
    diags: list[DiagnosticArray] = []
    probe.create_subscription(DiagnosticArray, '/diagnostics', diags.append, 50)
    stalled, release = threading.Event(), threading.Event()
    process = node._process_audio

    def slow_first(msg):  # the audio thread falls far behind (an overloaded CPU)
        if not stalled.is_set():
            stalled.set()
            release.wait(20)
        process(msg)

    node._process_audio = slow_first
    silence = np.zeros(CHUNK, np.float32)
    wait_for(lambda: (pub.publish(AudioChunk(sample_rate=16000, channels=1, encoding='s16le',
                                             data=to_int16_bytes(silence)))
                      or node._stats['chunks_dropped'] >= 2), interval=0.05,
             message='chunks dropped at the full backlog')
    # the warning is in the node's problems until its next /diagnostics report takes it there
    wait_for(lambda: any('chunks behind: chunk dropped' in m
                         for m in [*node._errors, *(s.message for a in diags for s in a.status)]),
             message='the dropped chunks named on /diagnostics')
    release.set()
    play(pub, np.concatenate([load('stop'), np.zeros(16000, np.float32)]))
    wait_for(lambda: any(t.is_final for t in got), message='a transcript after the overflow')
    assert [t for t in got if t.is_final][0].text.lower().startswith('stop')


def test_corrupted_model_is_refused_named_and_the_node_falls_back(ros_context, executor,
                                                                   tmp_path, monkeypatch):
    """A tier-0 model damaged after install (in place, size and mtime put back, as the issue
    found it passing) is refused with the file named; the node comes up on tier 1 and says so
    on /diagnostics for as long as it serves the fallback."""
    import os
    import shutil

    from edge_agent.core.models import ModelCatalog, default_cache_dir

    cache = tmp_path / 'models'
    shutil.copytree(default_cache_dir() / 'whisper-base', cache / 'whisper-base')
    ModelCatalog(cache_dir=cache).path('whisper-base')   # verified: the stamp is written
    weights = cache / 'whisper-base' / 'model.bin'
    before = weights.stat()
    with open(weights, 'r+b') as fh:
        fh.seek(before.st_size // 2)
        byte = fh.read(1)
        fh.seek(before.st_size // 2)
        fh.write(bytes([byte[0] ^ 0xFF]))
    os.utime(weights, ns=(before.st_atime_ns, before.st_mtime_ns))
    monkeypatch.setenv('EDGE_AGENT_MODEL_DIR', str(cache))

    node = start_speech(ros_context, executor, tier=0)
    assert node.engines.key == 1, node.engines.key
    probe = executor.add(Node('fallback_probe', context=ros_context))
    statuses = []
    probe.create_subscription(DiagnosticArray, '/diagnostics', lambda m: statuses.extend(
        s for s in m.status if s.name == 'edge_agent: speech'), 10)
    wait_for(lambda: len(statuses) >= 2, timeout=30, message="speech's /diagnostics")
    for status in (statuses[0], statuses[-1]):   # the fallback lasts, not one report's
        assert status.level == b'\x01'
        assert 'tier 0 did not load' in status.message, status.message
        assert f'SHA-256 mismatch for {weights}' in status.message, status.message
        assert 'fell back to tier 1' in status.message, status.message
    later = statuses[-1]
    values = {v.key: v.value for v in later.values}
    assert values['tier'] == '1'
