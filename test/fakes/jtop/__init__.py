"""A stand-in for jetson-stats' jtop (this machine is no Jetson): the part of its interface the
governor uses (jtop().start/ok/close, .temperature, .nvpmodel), fed from $FAKE_JTOP_JSON."""
import json
import os


class _Mode:
    def __init__(self, name):
        self.name = name


class jtop:  # noqa: N801 - the real class has this name
    def start(self):
        self.started = True

    def ok(self):
        return True

    def close(self):
        self.started = False

    def _state(self):
        with open(os.environ['FAKE_JTOP_JSON']) as fh:
            return json.load(fh)

    @property
    def temperature(self):
        return self._state()['temperature']

    @property
    def nvpmodel(self):
        return _Mode(self._state()['nvpmodel'])
