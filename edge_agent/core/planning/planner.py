"""Planner engine: command text + world state -> validated plan, through a chain of backends.

Every command first passes the rule layer's guard (stop wins, injection attempts and objects
that are not there are answered without a model). Then the active tier plans: a local GGUF
model through llama-cpp-python with a grammar generated from the skill catalog and the world
state, an OpenAI-compatible server (llama.cpp server, vLLM) with the equivalent JSON schema, or
the rule parser alone. A tier that fails (unreachable, too slow, invalid output) falls back to
the next cheaper one; the rule parser is the floor and needs no model at all.
"""
from __future__ import annotations

import dataclasses
import re
import time

from edge_agent.core.errors import EdgeAgentError
from edge_agent.core.planning.backends.base import (
    BackendFailure,
    Interrupted,
    PlannerBackend,
    PlanningCancelled,
    never,
)
from edge_agent.core.planning.backends.llama import LlamaBackend
from edge_agent.core.planning.backends.rules import RulesBackend
from edge_agent.core.planning.backends.server import ServerBackend
from edge_agent.core.planning.rules import RuleParser
from edge_agent.core.planning.skills import Plan, PlanError, SkillCatalog, WorldState
from edge_agent.core.planning.world import respect_held

__all__ = ['PlanResult', 'Planner', 'backend_chain', 'build_backend']


@dataclasses.dataclass
class PlanResult:
    """A plan and how it was made: the backend used, the backends that failed and why."""

    plan: Plan
    backend: str
    fallbacks: list[str]
    guarded: bool = False


def build_backend(tier_index: int, catalog: SkillCatalog, tiers, models,
                  n_threads: int | None = None) -> PlannerBackend:
    """The planner backend of the tier catalog's entry ``tier_index`` (llm.model None = rules)."""
    entry = tiers[tier_index].entry('llm')
    if entry is None or not entry.model:
        return RulesBackend(catalog)
    return LlamaBackend(entry.model, catalog, str(models.path(entry.model)),
                        n_ctx=entry.n_ctx, max_tokens=entry.max_tokens,
                        timeout_s=entry.timeout_s, n_threads=n_threads)


def backend_chain(tier_index: int, catalog: SkillCatalog, tiers, models,
                  n_threads: int | None = None, server_url: str = '',
                  server_timeout_s: float = 10.0
                  ) -> tuple[list[PlannerBackend], list[str], float]:
    """The backends a planner tier tries, in order: the OpenAI-compatible server when
    ``server_url`` is set, then the tier's own (the rules when its model cannot load), each
    warmed up (its prompt cached) before it serves; (the backends, what went wrong, the
    longest warm-up [s])."""
    chain, problems, warm_s = [], [], 0.0
    if server_url:
        chain.append(ServerBackend('server', catalog, server_url, timeout_s=server_timeout_s))
    try:
        chain.append(build_backend(tier_index, catalog, tiers, models, n_threads))
    except (EdgeAgentError, RuntimeError, ValueError) as exc:
        problems.append(f'planner tier {tier_index} model unavailable ({exc}); using rules')
    for backend in chain:   # before the switch: the first command finds a warm cache
        try:
            warm_s = max(warm_s, backend.warm() or 0.0)
        except Exception as exc:  # noqa: BLE001 - a cold cache is slower, not broken
            problems.append(f'{backend.name}: prompt warm-up failed: {exc}')
    return chain, problems, warm_s


class Planner:
    """Guard, then the backends from ``start`` down to the rule floor."""

    def __init__(self, catalog: SkillCatalog, backends: list[PlannerBackend]) -> None:
        self.catalog = catalog
        self.rules = RuleParser(catalog)
        self.backends = list(backends)
        if not any(isinstance(t, RulesBackend) for t in self.backends):
            self.backends.append(RulesBackend(catalog))

    def quick(self, command: str, world: WorldState, start: int = 0) -> PlanResult | None:
        """The plan when no model is needed (the guard: a stop, an injection attempt, an
        unseen object; a simple command the rules parse, when the tier has a model), else None.
        Takes microseconds and touches no model, so it may run while a model plans."""
        began = time.monotonic()
        command = self.catalog.canonical(command, (*world.labels, *world.known_objects))
        guarded = self.rules.guard(command, world)
        if guarded is not None:
            self.catalog.validate(guarded, world)
            guarded.backend, guarded.planning_time = 'guard', time.monotonic() - began
            return PlanResult(guarded, 'guard', [], guarded=True)
        first = self.backends[min(max(start, 0), len(self.backends) - 1)]
        if first.needs_model or isinstance(first, ServerBackend):
            # Simple commands never need a model: exact, instant, and the same at every tier.
            parsed = self.rules.parse(command, world)
            if parsed is not None:
                parsed = self._held(parsed, world)
                parsed.backend, parsed.planning_time = 'rules', time.monotonic() - began
                parsed.notes.append(f'parsed by rules before {first.name}')
                return PlanResult(parsed, 'rules', [])
        return None

    def plan(self, command: str, world: WorldState, start: int = 0,
             interrupted: Interrupted = never) -> PlanResult:
        """Plan ``command``; never raises for bad input, always returns a valid plan, unless
        ``interrupted()`` says stop: then PlanningCancelled, and no fallback runs."""
        began = time.monotonic()
        quick = self.quick(command, world, start)
        if quick is not None:
            return quick
        command = self.catalog.canonical(command, (*world.labels, *world.known_objects))
        fallbacks = []
        for backend in self.backends[min(max(start, 0), len(self.backends) - 1):]:
            if interrupted():
                raise PlanningCancelled('planning interrupted')
            try:
                planned = backend.plan(command, world, interrupted)
                if not isinstance(backend, RulesBackend):
                    planned = keep_sides(planned, command)
                plan = self._held(planned, world)
                self.catalog.validate(plan, world)
                if not isinstance(backend, RulesBackend):
                    # what the model wrote (before held-object completion) must name every
                    # action of the command and only places and objects the command names
                    wrong = self.rules.grounded(plan) or self.rules.dropped(planned)
                    if wrong:
                        raise BackendFailure(f'{backend.name}: {wrong}')
            except PlanningCancelled:
                raise
            except (BackendFailure, PlanError) as exc:
                fallbacks.append(str(exc))
                continue
            except Exception as exc:  # noqa: BLE001 - a broken model must not stop the robot
                fallbacks.append(f'{backend.name}: {type(exc).__name__}: {exc}')
                continue
            plan.backend, plan.planning_time = backend.name, time.monotonic() - began
            return PlanResult(plan, backend.name, fallbacks)
        raise AssertionError('the rules backend always returns a plan')  # pragma: no cover

    def _held(self, plan: Plan, world: WorldState) -> Plan:
        """The plan made consistent with what the robot holds (and still within max_steps)."""
        completed = respect_held(plan, world)
        return completed if len(completed.steps) <= self.catalog.max_steps else plan

    def close(self) -> None:
        for backend in self.backends:
            backend.close()


_SIDED = re.compile(r'\b((?:[a-z]+\s+)?[a-z]+) on the (left|right)\b')


def keep_sides(plan: Plan, command: str) -> Plan:
    """``plan`` with the side the command names an object by ("the green cup on the right",
    as the agent names one of two look-alikes) put back where a model dropped it: the robot
    must pick the one the user meant, not either."""
    sides = {m[1]: m[2] for m in _SIDED.finditer(command.lower())}
    if not sides:
        return plan
    steps = []
    for step in plan.steps:
        args = {key: f'{value} on the {sides[value]}'
                if key in ('object', 'target') and isinstance(value, str) and value in sides
                else value for key, value in step.args.items()}
        steps.append(dataclasses.replace(step, args=args))
    return dataclasses.replace(plan, steps=steps)

