"""edge_agent: on-device spoken-command agent for ROS 2 robots.

The installed package holds both the hand-written modules and the interfaces generated from
msg/, srv/ and action/. When Python runs from the repository root, the source folder shadows the
installed package; extending ``__path__`` lets ``edge_agent.msg`` still import from the install.
"""
from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
__version__ = '0.1.0'
