"""Simulation: the scenario scene (detector training renders), the MuJoCo home and robot
(``world``), the simulator without ROS (``engine``) and the simulator node (``node``).

MuJoCo picks its OpenGL platform when it is first imported: without a display it must be
OSMesa (CPU) or EGL (GPU), so the default is set here, before anything of ours imports it.
``MUJOCO_GL=egl`` from the environment wins.
"""
import os

os.environ.setdefault('MUJOCO_GL', 'osmesa')
if os.environ['MUJOCO_GL'] == 'osmesa':
    os.environ.setdefault('PYOPENGL_PLATFORM', 'osmesa')
