"""An OpenAI-compatible chat server on the network edge (llama.cpp server, vLLM).
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request

from edge_agent.core.planning.backends.base import (
    BackendFailure,
    Interrupted,
    PlannerBackend,
    PlanningCancelled,
    never,
)
from edge_agent.core.planning.grammar import plan_json_schema
from edge_agent.core.planning.prompt import system_prompt, world_prompt
from edge_agent.core.planning.skills import Plan, PlanError, SkillCatalog, WorldState

__all__ = ['ServerBackend']


class ServerBackend(PlannerBackend):
    """An OpenAI-compatible chat server on the network edge (llama.cpp server, vLLM)."""

    needs_model = False

    def __init__(self, name: str, catalog: SkillCatalog, url: str, model: str = '',
                 timeout_s: float = 10.0, max_tokens: int = 256, api_key: str = '') -> None:
        self.name = name
        self._catalog = catalog
        self.url = url.rstrip('/')
        self.model = model
        self.timeout_s = timeout_s
        self.max_tokens = max_tokens
        self._api_key = api_key
        self._system = system_prompt(catalog)

    def plan(self, command: str, world: WorldState, interrupted: Interrupted = never) -> Plan:
        # One HTTP request cannot be interrupted halfway; its answer is dropped if it came late.
        body = {
            'model': self.model or 'default',
            'messages': [{'role': 'system', 'content': self._system + world_prompt(world)},
                         {'role': 'user', 'content': command}],
            'temperature': 0.0, 'max_tokens': self.max_tokens,
            # llama.cpp's server form; vLLM accepts the same schema under guided decoding
            'response_format': {'type': 'json_object',
                                'schema': plan_json_schema(self._catalog, world)},
        }
        request = urllib.request.Request(
            f'{self.url}/v1/chat/completions', data=json.dumps(body).encode(),
            headers={'Content-Type': 'application/json',
                     **({'Authorization': f'Bearer {self._api_key}'} if self._api_key else {})})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                payload = json.loads(response.read())
            text = payload['choices'][0]['message']['content']
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise BackendFailure(f'{self.name}: server {self.url} unreachable: {exc}') from exc
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise BackendFailure(f'{self.name}: unexpected server answer: {exc!r}') from exc
        if interrupted():
            raise PlanningCancelled(f'{self.name}: planning interrupted')
        try:
            return self._catalog.parse_json(text, command, world)
        except PlanError as exc:
            raise BackendFailure(f'{self.name}: invalid plan ({exc})') from exc
