"""Benchmark speech tiers: real-time factor, end-of-speech to final-transcript latency through
the speech node over DDS (p50, p95), the node pipeline's cost against calling faster-whisper
directly on the same audio in the same run (ratio), and peak memory; without and with the
decode at a pause (``pause_s``) and semantic end-pointing (``early_end``): the latency
gained, how many utterances ended early, and the false early endings: two commands said
with a pause of 0.25-0.45 s between them (shorter than min_silence_s, so one utterance) that
came out as more than one final.

Each tier and mode runs in its own process so peak RSS is per tier. Usage:
  python -m edge_agent.bench speech [--tiers 1,0] [--modes off,pause,on]
  [--executor node|rclpy] [-v]  (tier indices of config/model_tiers.yaml)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from edge_agent.bench.common import SOURCE_ROOT, peak_rss_mb

ROOT = SOURCE_ROOT
sys.path.insert(0, str(ROOT / 'test'))  # the speech test set's helpers


# Two commands with a pause inside one utterance: (first clip, second clip, pause [s])
PAUSED = [('nav_kitchen', 'pick_red_cup', 0.25), ('look_ball', 'say_hello', 0.35),
          ('nav_office', 'wait_five', 0.45), ('pick_red_cup', 'nav_living_room', 0.3)]


MODES = {'off': (0.0, False),       # (pause_s, early_end): as before semantic end-pointing
         'pause': (0.15, False),    # decode at a pause, reuse it as the final
         'on': (0.15, True)}        # ... and end the utterance there when it is a command


def trimmed(audio, threshold: float = 0.01):
    """``audio`` without the silence before and after the speech."""
    import numpy as np

    loud = np.flatnonzero(np.abs(audio) > threshold)
    return audio[loud[0]:loud[-1] + 1] if loud.size else audio


def measure(tier_index: int, mode: str = 'off') -> dict:
    import numpy as np
    from rclpy.executors import MultiThreadedExecutor
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from speech_data import REFERENCES, load, spoken

    from edge_agent.core.config.tiers import TierCatalog
    from edge_agent.core.models import ModelCatalog
    from edge_agent.core.speech import SpeechConfig, WhisperEngine
    from edge_agent.core.speech.pcm import to_int16_bytes
    from edge_agent.eval.wer import word_error_rate
    from edge_agent.msg import AudioChunk, Transcript
    from edge_agent.nodes.common.executor import NodeSet
    from edge_agent.nodes.speech import SpeechNode

    entry = TierCatalog()[tier_index].entry('stt')
    model = entry.model
    engine = WhisperEngine(str(ModelCatalog().path(model)), model, device='cpu')
    config = SpeechConfig(language='en', beam_size=entry.beam_size,
                          partial_interval_s=0)
    names = spoken()
    clips = {n: load(n) for n in names}
    # direct faster-whisper on each clip's speech (without the 0.5 s pads), same settings
    direct, pipeline, audio_s = [], [], 0.0
    for name in names:
        speech = clips[name][8000:-8000]
        audio_s += speech.size / 16000
        start = time.perf_counter()
        segments, _ = engine.model.transcribe(speech, language='en', beam_size=config.beam_size,
                                              vad_filter=False, word_timestamps=True,
                                              condition_on_previous_text=False)
        list(segments)
        direct.append(time.perf_counter() - start)
        pipeline.append(engine.transcribe(speech, config).processing_time)
    engine.close()

    graph = NodeSet(num_threads=6, args=['--ros-args', '--log-level',
                                         os.environ.get('BENCH_LOG', 'warn')],
                    executor_type=MultiThreadedExecutor
                    if os.environ.get('BENCH_EXECUTOR') == 'rclpy' else None)
    context = graph.context
    node = SpeechNode(context=context, parameter_overrides=[
        Parameter('tier', value=tier_index), Parameter('language', value='en'),
        Parameter('partial_interval_s', value=1.0),
        Parameter('pause_s', value=MODES[mode][0]), Parameter('early_end', value=MODES[mode][1]),
        Parameter('cpu_threads', value=int(os.environ.get('BENCH_CPU_THREADS', '0')))])
    graph.add(node)
    probe = graph.add(Node('bench_probe', context=context), lifecycle=False)
    finals = []
    probe.create_subscription(Transcript, 'speech/transcript',
                              lambda m: m.is_final and finals.append((time.perf_counter(), m)),
                              10)
    pub = probe.create_publisher(AudioChunk, 'audio', 5)
    graph.spin()
    while pub.get_subscription_count() == 0:
        time.sleep(0.05)
    def play(audio, speech_end_sample: int):
        """Stream ``audio`` in real time; (time the speech ended, finals received)."""
        end_time = None
        before = len(finals)
        for i in range(0, audio.size, 1600):
            pub.publish(AudioChunk(sample_rate=16000, channels=1, encoding='s16le',
                                   data=to_int16_bytes(audio[i:i + 1600])))
            if end_time is None and i + 1600 >= speech_end_sample:
                end_time = time.perf_counter()
            time.sleep(0.1)  # real time, like a microphone
        deadline = time.time() + 30
        while len(finals) == before and time.time() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)   # a second final of a cut utterance
        return end_time, finals[before:]

    latencies, hypotheses, per_clip, early = [], [], {}, 0
    for index, name in enumerate([names[0]] + names):  # the first warms up (discovery)
        audio = np.concatenate([clips[name], np.zeros(16000, np.float32)])
        end_time, got = play(audio, clips[name].size - 8000)
        if index == 0:
            continue
        if got:
            latencies.append(got[0][0] - end_time)
            per_clip[name] = round(latencies[-1], 2)
            hypotheses.append(' '.join(m.text for _t, m in got))
            early += sum(m.early_end for _t, m in got)
        else:
            hypotheses.append('')
    cut, paused_text = 0, {}
    for first, second, pause in PAUSED:
        quiet = np.zeros(8000, np.float32)
        audio = np.concatenate([quiet, trimmed(clips[first]),
                                np.zeros(int(pause * 16000), np.float32),
                                trimmed(clips[second]), quiet, quiet, quiet])
        _end, got = play(audio, audio.size - 24000)
        cut += len(got) > 1
        paused_text[f'{first}+{second}'] = [m.text for _t, m in got]
    stats = dict(node.health.counters)
    graph.close()
    wer = word_error_rate([REFERENCES[n]['text'] for n in names], hypotheses)
    q = statistics.quantiles(latencies, n=20)
    return {'tier': tier_index, 'model': model, 'beam': config.beam_size,
            'rtf_direct': sum(direct) / audio_s, 'rtf_pipeline': sum(pipeline) / audio_s,
            'overhead_ratio': sum(pipeline) / sum(direct), 'latency_p50': statistics.median(
                latencies), 'latency_p95': q[18], 'wer': wer,
            'peak_rss_mb': peak_rss_mb(), 'mode': mode, 'early_ends': early,
            'stats': {k: v for k, v in stats.items() if k in (
                'finals', 'pauses', 'partials', 'finals_from_pause', 'early_ends',
                'pauses_skipped_busy', 'partials_skipped_busy')},
            'clips': len(names), 'false_early_ends': cut, 'paused': len(PAUSED),
            'per_clip': per_clip, 'paused_text': paused_text}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--tiers', default='1,0')
    parser.add_argument('--one', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--modes', default='off,pause,on',
                        help='off: as before (no pause decode); pause: decode at a pause and '
                        'reuse it as the final; on: and end early on a whole command')
    parser.add_argument('--json', help='also write the results to this file')
    parser.add_argument('-v', '--verbose', action='store_true', help='latency of every clip')
    parser.add_argument('--cpu-threads', type=int, default=0,
                        help="the speech node's decoder threads (0 = all cores)")
    parser.add_argument('--executor', choices=('node', 'rclpy'), default='node',
                        help="spin in the nodes' NodeExecutor (default) or rclpy's "
                        'MultiThreadedExecutor, for comparison')
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.one, os.environ.get('BENCH_MODE', 'off'))))
        return 0
    env = dict(os.environ, ROS_DOMAIN_ID=os.environ.get('ROS_DOMAIN_ID', '57'),
               BENCH_CPU_THREADS=str(args.cpu_threads), BENCH_EXECUTOR=args.executor,
               ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST')
    print(f'{"tier":<5}{"model":<17}{"beam":>5}{"RTF direct":>11}{"RTF node":>10}'
          f'{"ratio":>7}{"mode":>10}{"EoS->final p50":>15}{"p95":>7}{"WER":>6}'
          f'{"ended early":>12}{"false early":>12}{"peak MB":>9}')
    results = []
    for tier in args.tiers.split(','):
        for mode in args.modes.split(','):
            out = subprocess.run([sys.executable, '-m', 'edge_agent.bench.speech', '--one',
                                  tier], env=dict(env, BENCH_MODE=mode),
                                 capture_output=True, text=True)
            if out.returncode:
                print(out.stderr[-2000:])
                return 1
            r = json.loads(out.stdout.strip().splitlines()[-1])
            results.append(r)
            print(f'{r["tier"]:<5}{r["model"]:<17}{r["beam"]:>5}{r["rtf_direct"]:>11.3f}'
                  f'{r["rtf_pipeline"]:>10.3f}{r["overhead_ratio"]:>7.2f}{mode:>10}'
                  f'{r["latency_p50"]:>14.2f}s{r["latency_p95"]:>6.2f}s{r["wer"]:>6.2f}'
                  f'{r["early_ends"]:>7}/{r["clips"]:<4}{r["false_early_ends"]:>7}/'
                  f'{r["paused"]:<4}{r["peak_rss_mb"]:>9.0f}', flush=True)
            if args.verbose:
                print('     per clip:', r['per_clip'])
                print('     paused pairs:', r['paused_text'])
                print('     node:', r['stats'])
    print('EoS->final: from publishing the chunk where speech ends to receiving the (first) '
          'final transcript; without early end it includes the 0.5 s of silence the VAD waits '
          'for (min_silence_s). false early: paused pairs that came out as two finals.')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
