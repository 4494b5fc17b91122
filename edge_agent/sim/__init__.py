"""Simulation assets: the scenario scene, defined once for training renders and the simulator."""
