"""A stand-in for the sounddevice package: a "microphone" that plays a WAV file.

This machine has no microphone. The fake implements the part of sounddevice's interface the
capture node uses (query_devices, RawInputStream with a callback, PortAudioError), so the node
runs its real code path; the WAV comes from $FAKE_MIC_WAV. With $FAKE_MIC_LOOP=1 the recording
repeats after a second of silence, like a user saying it again: a best-effort stream loses what
is sent before discovery has matched the subscriber, so a test waits for a whole repetition.
"""
import os
import threading
import time
import wave


class PortAudioError(Exception):
    pass


def query_devices(device=None, kind=None):
    if device not in (None, 0, 'fake mic'):
        raise ValueError(f'No input device matching {device!r}')
    if kind is None:
        return '> 0 fake mic, 1 in, 0 out'
    return {'name': 'fake mic', 'max_input_channels': 1}


class RawInputStream:
    def __init__(self, samplerate, channels, dtype, device, blocksize, callback):
        assert dtype == 'int16' and channels == 1
        with wave.open(os.environ['FAKE_MIC_WAV']) as wav:
            assert wav.getframerate() == samplerate
            self._data = wav.readframes(wav.getnframes())
        self._block, self._rate, self._callback = blocksize, samplerate, callback
        self._running = False

    def _run(self):
        step = self._block * 2
        loop = os.environ.get('FAKE_MIC_LOOP') == '1'
        data = self._data + b'\0' * (2 * self._rate) if loop else self._data
        while True:
            for i in range(0, len(data), step):
                if not self._running:
                    return
                block = data[i:i + step].ljust(step, b'\0')
                self._callback(block, self._block, None, 0)
                time.sleep(self._block / self._rate)
            if not loop:
                break
        while self._running:  # silence after the recording, like a quiet room
            self._callback(b'\0' * step, self._block, None, 0)
            time.sleep(self._block / self._rate)

    def start(self):
        self._running = True
        threading.Thread(target=self._run, daemon=True).start()

    def stop(self):
        self._running = False

    def close(self):
        self._running = False
