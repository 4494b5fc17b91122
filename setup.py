"""edge_agent is an ament_cmake package: its interfaces need rosidl, so pip cannot build it.

Build it with `colcon build` in a ROS 2 workspace, or with `scripts/setup.sh` on a machine
without ROS (see README.md). This file only turns `pip install .` into a helpful message.
"""
import sys

sys.exit(
    'edge_agent is built with CMake (ament_cmake + rosidl), not setuptools:\n'
    '  in a ROS 2 workspace:  colcon build --packages-select edge_agent\n'
    '  without ROS:           scripts/setup.sh   (see README.md)'
)
