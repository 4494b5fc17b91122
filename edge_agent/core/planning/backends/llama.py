"""A local GGUF model through llama-cpp-python, decoding under a grammar made from the skills.
"""
from __future__ import annotations

import os
import threading
import time

from edge_agent.core.planning.backends.base import (
    BackendFailure,
    Interrupted,
    PlannerBackend,
    PlanningCancelled,
    never,
)
from edge_agent.core.planning.grammar import plan_gbnf
from edge_agent.core.planning.prompt import system_prompt, world_prompt
from edge_agent.core.planning.skills import Plan, PlanError, SkillCatalog, WorldState

__all__ = ['LlamaBackend', 'interruptible_llama']

_INTERRUPTIBLE = None


def interruptible_llama():
    """``llama_cpp.Llama`` with ``eval`` split into pieces and an ``interrupted()`` check
    between them (a subclass, not a patched instance). It relies on ``Llama.generate``
    evaluating the prompt through ``self.eval`` (llama-cpp-python 0.2 and 0.3 do; a test pins
    it) and keeps everything else, the reuse of the longest cached token prefix included."""
    global _INTERRUPTIBLE
    if _INTERRUPTIBLE is None:
        from llama_cpp import Llama

        class InterruptibleLlama(Llama):
            check_every = 64
            interrupted: Interrupted = staticmethod(never)   # set per request
            owner = 'llama'

            def eval(self, tokens) -> None:
                for i in range(0, len(tokens), self.check_every):
                    if self.interrupted():
                        raise PlanningCancelled(
                            f'{self.owner}: planning interrupted in the prompt')
                    super().eval(tokens[i:i + self.check_every])

        _INTERRUPTIBLE = InterruptibleLlama
    return _INTERRUPTIBLE


class LlamaBackend(PlannerBackend):
    """A local GGUF model, grammar-constrained; the static prompt prefix is kept in the KV cache.

    llama-cpp-python reuses the longest common token prefix with the previous evaluation, so
    putting the static system prompt first means only the world state and the command are
    evaluated per command. ``reuse_prefix=False`` resets the cache each time (for measuring).

    Generation checks ``interrupted()`` after every token and stops there (a stop, a cancel, a
    newer command): the model is free again within one token's time. The prompt itself is
    evaluated in pieces of ``check_every`` tokens with the check between them, so even a cold
    prompt (the whole system prompt, seconds on a small CPU) stops within one piece.
    """

    needs_model = True

    def __init__(self, name: str, catalog: SkillCatalog, model_path: str, n_ctx: int = 2048,
                 max_tokens: int = 256, timeout_s: float = 20.0, n_threads: int | None = None,
                 reuse_prefix: bool = True, n_gpu_layers: int = 0,
                 check_every: int = 64) -> None:
        from llama_cpp import LlamaGrammar

        self.name = name
        self._catalog = catalog
        self._grammar_cls = LlamaGrammar
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s
        self.reuse_prefix = reuse_prefix
        self._system = system_prompt(catalog)
        self._grammars: dict[WorldState, object] = {}
        self._lock = threading.Lock()
        try:
            self.llm = interruptible_llama()(str(model_path), n_ctx=n_ctx,
                                             n_threads=n_threads or os.cpu_count(),
                                             n_gpu_layers=n_gpu_layers, verbose=False)
        except (ValueError, RuntimeError, OSError) as exc:
            raise BackendFailure(f'{name}: cannot load {model_path}: {exc}') from exc
        self.last_stats: dict = {}
        self.llm.check_every, self.llm.owner = max(1, int(check_every)), name

    def warm(self) -> float:
        """Evaluate the static prompt into the KV cache now (when the model is loaded or
        swapped in), so the first command pays only for its world state and words, like every
        later one. Returns the seconds it took."""
        world = self._catalog.world((), labels=())
        messages = [{'role': 'system', 'content': self._system + world_prompt(world)},
                    {'role': 'user', 'content': 'stop'}]
        start = time.monotonic()
        with self._lock:
            self.llm.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0)
        return time.monotonic() - start

    @property
    def generating(self) -> bool:
        """True while a plan is being generated (for tests and diagnostics)."""
        return self.llm.interrupted is not never

    def _grammar(self, world: WorldState):
        if world not in self._grammars:
            if len(self._grammars) > 16:
                self._grammars.clear()
            self._grammars[world] = self._grammar_cls.from_string(
                plan_gbnf(self._catalog, world), verbose=False)
        return self._grammars[world]

    def raw(self, command: str, world: WorldState, interrupted: Interrupted = never) -> str:
        """The model's constrained output for ``command`` (stops at the token or time limit;
        PlanningCancelled when ``interrupted()``)."""
        messages = [{'role': 'system', 'content': self._system + world_prompt(world)},
                    {'role': 'user', 'content': command}]
        with self._lock:
            if interrupted():
                raise PlanningCancelled(f'{self.name}: planning interrupted before it began')
            self.llm.interrupted = interrupted
            try:
                if not self.reuse_prefix:
                    self.llm.reset()
                start = time.monotonic()
                chunks, tokens = [], 0
                stream = self.llm.create_chat_completion(
                    messages=messages, grammar=self._grammar(world),
                    max_tokens=self.max_tokens, temperature=0.0, stream=True)
                first = None
                for chunk in stream:
                    if first is None:
                        first = time.monotonic()
                    delta = chunk['choices'][0].get('delta', {}).get('content') or ''
                    chunks.append(delta)
                    tokens += 1
                    if interrupted():
                        stream.close()
                        raise PlanningCancelled(f'{self.name}: planning interrupted after '
                                                f'{tokens} tokens')
                    if time.monotonic() - start > self.timeout_s:
                        stream.close()
                        raise BackendFailure(f'{self.name}: no plan within '
                                             f'{self.timeout_s:.0f} s ({tokens} tokens so far)')
            finally:
                self.llm.interrupted = never
            end = time.monotonic()
        self.last_stats = {'tokens': tokens, 'prompt_s': (first or end) - start,
                           'decode_s': end - (first or end), 'total_s': end - start}
        return ''.join(chunks)

    def plan(self, command: str, world: WorldState, interrupted: Interrupted = never) -> Plan:
        text = self.raw(command, world, interrupted)
        try:
            return self._catalog.parse_json(text, command, world)
        except PlanError as exc:
            raise BackendFailure(f'{self.name}: invalid plan ({exc})') from exc

    def close(self) -> None:
        llm = getattr(self, 'llm', None)
        if llm is not None:
            llm.close()
            self.llm = None
