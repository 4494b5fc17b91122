"""Benchmark model swaps: how long each model node takes to load each tier's model (what a
governor step costs before the new tier serves), measured the way the nodes do it.
Usage: python -m edge_agent.bench swap [--repeats N]
"""
import argparse
import statistics
import sys
import time

from edge_agent.core.config.tiers import TierCatalog
from edge_agent.core.models import ModelCatalog
from edge_agent.core.planning.planner import build_backend
from edge_agent.core.planning.skills import SkillCatalog
from edge_agent.core.speech import WhisperEngine
from edge_agent.core.vision.detector import Detector


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args()
    tiers, models, skills = TierCatalog(), ModelCatalog(), SkillCatalog()
    print(f'{"node":<8}{"tier":<6}{"model":<26}{"load p50 [s]":>13}{"max [s]":>9}')
    for tier in tiers.tiers:
        stt = tier.model('stt')
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            engine = WhisperEngine(str(models.path(stt)), stt, device='cpu')
            times.append(time.perf_counter() - start)
            engine.close()
        print(f'{"speech":<8}{tier.index:<6}{stt:<26}{statistics.median(times):>13.2f}'
              f'{max(times):>9.2f}')
    for tier in tiers.tiers:
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            backend = build_backend(tier.index, skills, tiers, models)
            times.append(time.perf_counter() - start)
            backend.close()
        name = tier.model('llm') or 'rules (no model)'
        print(f'{"planner":<8}{tier.index:<6}{name:<26}{statistics.median(times):>13.3f}'
              f'{max(times):>9.3f}')
    for tier in tiers.tiers:
        name = tier.model('vision')
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            Detector(models.path(name))
            times.append(time.perf_counter() - start)
        print(f'{"vision":<8}{tier.index:<6}{name:<26}{statistics.median(times):>13.3f}'
              f'{max(times):>9.3f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
