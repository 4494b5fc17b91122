"""Replay a recorded bag through the agent: `ros2 launch edge_agent replay.launch.py bag:=PATH`.

Starts the graph of agent.launch.py with use_sim_time:=true and plays the bag (original timing,
/clock) with `edge-agent bag play`, which needs no ros2bag. To compare the outcome with an
expectation file, run `edge-agent replay PATH --expect FILE` instead (one process, a diff and
an exit status).
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import FindExecutable, LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    share = FindPackageShare('edge_agent')
    passed = ('namespace', 'params_file', 'log_level', 'robot', 'shm_profile')
    return LaunchDescription([
        DeclareLaunchArgument('bag', description='rosbag2 bag folder to play (MCAP or sqlite3), '
                              'e.g. a scenario of test/data/scenarios.'),
        DeclareLaunchArgument('rate', default_value='1.0',
                              description='Playback speed factor.'),
        DeclareLaunchArgument('namespace', default_value='',
                              description='Namespace of the nodes; the bag\'s topics are '
                              'played into it.'),
        DeclareLaunchArgument('params_file', default_value=PathJoinSubstitution(
            [share, 'config', 'agent.yaml']),
            description='Parameter YAML for all edge_agent nodes.'),
        DeclareLaunchArgument('log_level', default_value='info',
                              description='Logging level: debug, info, warn, error.'),
        DeclareLaunchArgument('robot', default_value='dry_run',
                              description='Skill adapter: dry_run, nav2 or sim.'),
        DeclareLaunchArgument('shm_profile', default_value='true',
                              description='Fast DDS profile with a 10 MB shared-memory segment.'),
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(PathJoinSubstitution(
                [share, 'launch', 'agent.launch.py'])),
            launch_arguments={'use_sim_time': 'true',
                              **{name: LaunchConfiguration(name) for name in passed}}.items()),
        ExecuteProcess(
            cmd=[FindExecutable(name='edge-agent'), 'bag', 'play', LaunchConfiguration('bag'),
                 '--rate', LaunchConfiguration('rate'),
                 '--namespace', LaunchConfiguration('namespace'),
                 # the nodes load their models first: play once they listen
                 '--wait-for-subscribers', '60'],
            output='screen'),
    ])
