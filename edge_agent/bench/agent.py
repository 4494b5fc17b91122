"""Benchmark the active-inference agent against a fixed-threshold baseline on generated
scenarios (python -m edge_agent.bench agent [--scenarios N] [--seed S] [-v]).

Each scenario is a spoken command about an object (its words heard with noise, sometimes
misheard), a scene (the object or not, distractors of other colours, a twin of the same colour,
spurious detections) and a world that answers requests: more frames, a repetition, an answer,
a look at another place. The world's sensors are drawn from distributions *other* than the
agent's own sensor model (different hit rates and score distributions), so the agent is not
graded on its own assumptions. Both agents see the same scenarios. Reported: task success (the
meant action on the meant object, or a correct refusal when the object is nowhere), wrong
physical actions (acting on a misheard command, the wrong object or one that is not there),
requests made, and the time until the first physical action.

The baseline acts when the transcript's overall confidence and the best matching detection's
score both reach a threshold; otherwise it asks to repeat (up to the same budget), then gives
up. The agent side is the agent node's own loop object (``CommandLoop``), with the node's
configuration (no look at another place unless ``--look-elsewhere``); only the world is
simulated.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import random
import statistics

from edge_agent.core.inference import (
    Budget,
    Candidate,
    Deliberation,
    Heard,
)
from edge_agent.core.inference.command import ACTED, CommandLoop
from edge_agent.core.planning.skills import SkillCatalog

LABELS = ('cup', 'ball', 'box', 'bottle')
COLOURS = ('red', 'blue', 'green', 'yellow')
VERBS = ('pick up the', 'grab the', 'bring me the', 'take the')
INITIAL_FRAMES = 3   # the detections of the last moments before the command ended
KINDS = ('clear', 'weak', 'twin', 'distractor', 'noisy', 'absent', 'elsewhere', 'spurious')


@dataclasses.dataclass
class Scene:
    """The truth of one scenario."""

    kind: str
    said: str
    label: str
    colour: str
    noise: float                    # 0 clean .. 1 very noisy speech
    objects: list[dict]             # in view: label, colour, real, weak, x, meant
    elsewhere: bool                 # the meant object is at another place


class World:
    """Answers the agent's requests for one scene with its own randomness."""

    P_HIT, P_RECUR = 0.85, 0.25     # differ from the agent's DetectorModel on purpose

    def __init__(self, scene: Scene, rng: random.Random) -> None:
        self.scene, self.rng = scene, rng

    def hear(self, noise: float) -> Heard:
        """The command as Whisper might hear it: sometimes the colour word is misheard."""
        s, rng = self.scene, self.rng
        misheard = rng.random() < 0.6 * noise
        colour = s.colour
        if misheard:
            colour = rng.choice([c for c in COLOURS if c != s.colour])
        text = s.said.replace(s.colour, colour)
        # Word probabilities as whisper gives them on the speech test set: right words 0.54-1.0
        # (the first word lowest), a misheard word low.
        words = []
        for i, word in enumerate(text.split()):
            if misheard and word == colour:
                p = rng.uniform(0.1, 0.45)
            else:
                p = rng.uniform(0.5, 0.95) if i == 0 else rng.uniform(0.85, 0.999)
                p = max(0.5, p - noise * rng.uniform(0.0, 0.3))
            words.append((word, p))
        overall = math.exp(sum(math.log(p) for _, p in words) / len(words))
        return Heard(text, tuple(words), no_speech_prob=0.05, confidence=overall)

    def frames(self, count: int) -> list[Candidate]:
        """What ``count`` frames show: each object's scores in the frames it was seen."""
        out = []
        for obj in self.scene.objects:
            p = self.P_HIT if obj['real'] else self.P_RECUR
            a, b = ((2.5, 3.0) if obj['weak'] else (6.0, 2.0)) if obj['real'] else (2.0, 4.5)
            scores = [max(0.26, self.rng.betavariate(a, b)) for _ in range(count)
                      if self.rng.random() < p]
            if scores:
                out.append(Candidate(obj['label'], obj['colour'], 0.8, scores, 0, obj['x']))
        return out

    def answer(self) -> str:
        """The user names the meant object (by colour, or side for twins); 10 % say something
        unclear."""
        meant = [o for o in self.scene.objects if o['meant']]
        if not meant or self.rng.random() < 0.1:
            return 'hmm, that one'
        obj = meant[0]
        twins = [o for o in self.scene.objects if o['colour'] == obj['colour']
                 and o['label'] == obj['label']]
        if len(twins) > 1:
            return f"the one on the {'left' if obj['x'] < 0.5 else 'right'}"
        return f"the {obj['colour']} one"

    def look_elsewhere(self) -> list[Candidate]:
        s = self.scene
        if s.elsewhere and self.rng.random() < 0.8:
            return [Candidate(s.label, s.colour, 0.8,
                              [self.rng.betavariate(6, 2) for _ in range(3)], 0, 0.5)]
        return []


def make_scene(index: int, rng: random.Random) -> Scene:
    kind = KINDS[index % len(KINDS)]
    label, colour = rng.choice(LABELS), rng.choice(COLOURS)
    said = f'{rng.choice(VERBS)} {colour} {label}'
    noise = rng.uniform(0.0, 0.25)
    meant = {'label': label, 'colour': colour, 'real': True, 'weak': False, 'x': 0.3,
             'meant': True}
    others = [c for c in COLOURS if c != colour]
    objects, elsewhere = [meant], False
    if kind == 'weak':
        meant['weak'] = True
    elif kind == 'twin':
        objects.append({**meant, 'x': 0.75, 'meant': False})
    elif kind == 'distractor':
        objects.append({**meant, 'colour': rng.choice(others), 'x': 0.7, 'meant': False})
    elif kind == 'noisy':
        noise = rng.uniform(0.6, 1.0)
        objects.append({**meant, 'colour': rng.choice(others), 'x': 0.7, 'meant': False})
    elif kind == 'absent':
        objects = [{**meant, 'colour': rng.choice(others), 'meant': False}]
    elif kind == 'elsewhere':
        objects = [{**meant, 'label': rng.choice([x for x in LABELS if x != label]),
                    'meant': False}]
        elsewhere = True
    elif kind == 'spurious':
        meant.update(real=False, meant=False)  # a false detection of exactly that phrase
    return Scene(kind, said, label, colour, noise, objects, elsewhere)


@dataclasses.dataclass
class Outcome:
    success: bool
    wrong_action: bool
    requests: int
    time_to_act_s: float | None


def _grade(scene: Scene, heard: Heard, acted_on: Candidate | None) -> tuple[bool, bool]:
    """(task success, wrong physical action) for acting on ``acted_on`` (None: gave up)."""
    reachable = any(o['meant'] for o in scene.objects) or scene.elsewhere
    if acted_on is None:
        return not reachable, False
    right_words = heard.text == scene.said
    right_object = (acted_on.label == scene.label and acted_on.colour == scene.colour
                    and any(o['meant'] and o['x'] == acted_on.x_centre
                            for o in scene.objects + ([{'meant': True, 'x': 0.5}]
                                                      if scene.elsewhere else [])))
    ok = right_words and right_object
    return ok, not ok


_STOPS = SkillCatalog().stops   # the package catalog's stop predicate, as the node's


class SimulatedActions:
    """The world's side of the shared ``CommandLoop``: each request takes the time the agent
    planned for it, on a simulated clock."""

    def __init__(self, scene: Scene, world: World) -> None:
        self.scene, self.world = scene, world
        self.now = 0.0
        self.acted: list[tuple[str, float]] = []
        self._decision = None

    def clock(self) -> float:
        return self.now

    def _spend(self) -> None:
        self.now += self._decision.policy.duration_s

    def say(self, text: str) -> None:
        pass

    def decided(self, decision, loop) -> None:
        self._decision = decision

    def observe(self, frames: int):
        self._spend()
        return self.world.frames(frames), frames

    def ask(self, decision) -> Heard:
        self._spend()
        if decision.kind == 'repeat':
            return self.world.hear(self.scene.noise * 0.5)   # said again, more clearly
        return Heard(self.world.answer())

    def look_elsewhere(self):
        self._spend()
        return self.world.look_elsewhere()

    def act(self, command: str, confidence: float) -> None:
        self.acted.append((command, confidence))


def run_agent(scene: Scene, seed: int, max_requests: int = 3,
              look_elsewhere: bool = False) -> Outcome:
    """The agent node's own loop (``CommandLoop``) on one scene. The node has no action to
    look at another place, so ``look_elsewhere`` is off unless asked for."""
    rng = random.Random(seed)
    world = World(scene, rng)
    heard = world.hear(scene.noise)
    actions = SimulatedActions(scene, world)
    loop = Deliberation(heard, world.frames(INITIAL_FRAMES), LABELS, budget=Budget(max_requests),
                        can_look_elsewhere=look_elsewhere)
    result = CommandLoop(actions, _STOPS.is_stop, clock=actions.clock).run(loop)
    acted = result.kind == ACTED
    ok, wrong = _grade(scene, loop.heard if acted else heard, result.target if acted else None)
    return Outcome(ok, wrong, result.requests, result.elapsed_s if acted else None)


def run_baseline(scene: Scene, seed: int, max_requests: int = 3,
                 threshold: float = 0.6) -> Outcome:
    rng = random.Random(seed)
    world = World(scene, rng)
    heard, seen = world.hear(scene.noise), world.frames(INITIAL_FRAMES)
    requests, elapsed = 0, 0.0
    while True:
        words = heard.text.split()
        matching = [c for c in seen if c.label in words and c.colour in words]
        best = max(matching, key=lambda c: max(c.scores), default=None)
        confident = heard.confidence >= threshold  # Whisper's overall exp(avg_logprob)
        if confident and best is not None and max(best.scores) >= threshold:
            ok, wrong = _grade(scene, heard, best)
            return Outcome(ok, wrong, requests, elapsed)
        if requests >= max_requests:
            return Outcome(*_grade(scene, heard, None), requests, None)
        requests += 1
        elapsed += 6.0
        heard, seen = world.hear(scene.noise * 0.5), world.frames(INITIAL_FRAMES)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--scenarios', type=int, default=80)
    parser.add_argument('--seed', type=int, default=7)
    parser.add_argument('--look-elsewhere', action='store_true',
                        help='let the agent look at another place (the node cannot yet)')
    parser.add_argument('-v', '--verbose', action='store_true')
    args = parser.parse_args()
    rng = random.Random(args.seed)
    scenes = [make_scene(i, rng) for i in range(args.scenarios)]
    results = {'active inference': [], 'fixed threshold': []}
    for i, scene in enumerate(scenes):
        seed = args.seed * 1000 + i
        agent = run_agent(scene, seed, look_elsewhere=args.look_elsewhere)
        base = run_baseline(scene, seed)
        results['active inference'].append((scene.kind, agent))
        results['fixed threshold'].append((scene.kind, base))
        if args.verbose:
            print(f'{i:>3} {scene.kind:<10} {scene.said!r:<28} agent {agent} | base {base}')
    print(f'{len(scenes)} scenarios ({", ".join(KINDS)}), seed {args.seed}; the agent '
          f'node\'s CommandLoop, look elsewhere {"on" if args.look_elsewhere else "off"}')
    print(f'{"agent":<18}{"success":>9}{"wrong acts":>12}{"requests":>10}'
          f'{"asks/cmd":>10}{"time to act p50 [s]":>21}')
    for name, rows in results.items():
        outcomes = [o for _, o in rows]
        times = [o.time_to_act_s for o in outcomes if o.time_to_act_s is not None]
        print(f'{name:<18}{sum(o.success for o in outcomes):>5}/{len(outcomes):<3}'
              f'{sum(o.wrong_action for o in outcomes):>12}'
              f'{sum(o.requests for o in outcomes):>10}'
              f'{statistics.mean(o.requests for o in outcomes):>10.2f}'
              f'{statistics.median(times) if times else float("nan"):>21.1f}')
    print('\nper scenario kind: success / wrong acts / requests')
    print(f'{"kind":<12}' + ''.join(f'{name:>24}' for name in results))
    for kind in KINDS:
        cells = []
        for rows in results.values():
            sel = [o for k, o in rows if k == kind]
            cells.append(f'{sum(o.success for o in sel)}/{len(sel)} / '
                         f'{sum(o.wrong_action for o in sel)} / {sum(o.requests for o in sel)}')
        print(f'{kind:<12}' + ''.join(f'{c:>24}' for c in cells))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
