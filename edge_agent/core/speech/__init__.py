"""Streaming speech-to-text (no ROS): PCM, VAD + segmenter, Whisper, wake word, stream pipeline;
and the robot's voice (Piper text to speech, optional)."""
from edge_agent.core.speech.pcm import (  # noqa: F401
    ENCODINGS,
    AudioFormatError,
    decode_pcm,
    resample,
    to_int16_bytes,
)
from edge_agent.core.speech.stream import (  # noqa: F401
    SpeechStream,
)
from edge_agent.core.speech.tts import (  # noqa: F401
    PiperVoiceEngine,
    Speech,
    TtsError,
)
from edge_agent.core.speech.vad import (  # noqa: F401
    CONTEXT,
    SAMPLE_RATE,
    WINDOW,
    Segmenter,
    SegmentEvent,
    SpeechConfig,
    StreamingVad,
)
from edge_agent.core.speech.wakeword import (  # noqa: F401
    WakeWordDetector,
)
from edge_agent.core.speech.whisper import (  # noqa: F401
    TranscriptResult,
    WhisperEngine,
    WordResult,
)

__all__ = [
    'AudioFormatError',
    'PiperVoiceEngine',
    'Speech',
    'TtsError',
    'CONTEXT',
    'ENCODINGS',
    'SAMPLE_RATE',
    'SegmentEvent',
    'Segmenter',
    'SpeechConfig',
    'SpeechStream',
    'StreamingVad',
    'TranscriptResult',
    'WINDOW',
    'WakeWordDetector',
    'WhisperEngine',
    'WordResult',
    'decode_pcm',
    'resample',
    'to_int16_bytes',
]
