"""Simulation: the scenario scene (detector training renders), the MuJoCo home and robot
(``world``), the simulator without ROS (``engine``) and the simulator node (``node``).

Importing this package changes nothing in the environment. MuJoCo picks its OpenGL platform
when it is first imported: without a display it must be OSMesa (CPU) or EGL (GPU), so
``import_mujoco`` sets the default (OSMesa) just before that first import, and every module of
ours imports MuJoCo through it. ``MUJOCO_GL=egl`` from the environment wins.
"""
import os


def import_mujoco():
    """The ``mujoco`` module; MissingDependency saying what to install when its OpenGL platform
    library is absent (PyOpenGL fails inside ``import mujoco`` with an AttributeError then)."""
    os.environ.setdefault('MUJOCO_GL', 'osmesa')
    if os.environ['MUJOCO_GL'] == 'osmesa':
        os.environ.setdefault('PYOPENGL_PLATFORM', 'osmesa')
    try:
        import mujoco
    except (ImportError, AttributeError) as exc:
        from edge_agent.core.errors import MissingDependency

        platform = os.environ.get('MUJOCO_GL')
        hint = ('install OSMesa (apt install libosmesa6) for rendering on the CPU, or set '
                'MUJOCO_GL=egl on a machine with a GPU' if platform == 'osmesa' else
                f'check that the OpenGL platform MUJOCO_GL={platform} is installed')
        raise MissingDependency(f'MuJoCo cannot load its OpenGL platform ({platform}): '
                                f'{type(exc).__name__}: {exc}; {hint}') from exc
    return mujoco
