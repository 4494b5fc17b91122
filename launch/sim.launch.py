"""Run the agent on the simulated home in Gazebo: `ros2 launch edge_agent sim.launch.py`.

Needs Gazebo Harmonic with ros_gz (on Jazzy: apt install ros-jazzy-ros-gz). Starts `gz sim`
on config/gazebo/world.sdf (the same rooms, furniture and objects as the MuJoCo node, generated
from config/sim/world.yaml), spawns config/gazebo/robot.sdf (the same robot, at the layout's
start place) with ros_gz_sim's `create`, the ros_gz_bridge with config/gazebo/bridge.yaml (/clock,
odom, cmd_vel, camera image and info, joint states under the same names and types as the MuJoCo
node), and the graph of agent.launch.py with use_sim_time:=true and robot:=sim. Under Gazebo the
sim adapter drives navigate_to over cmd_vel and odom; look_at, pick and place are served by the
MuJoCo node only (`sim/run_skill`), so under Gazebo they fail with "no sim/run_skill server".
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, IncludeLaunchDescription
from launch.conditions import IfCondition, UnlessCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    share = FindPackageShare('edge_agent')
    passed = ('namespace', 'params_file', 'log_level', 'shm_profile')
    return LaunchDescription([
        DeclareLaunchArgument('world', default_value=PathJoinSubstitution(
            [share, 'config', 'gazebo', 'world.sdf']),
            description='SDF world for gz sim (the simulated home by default).'),
        DeclareLaunchArgument('robot_sdf', default_value=PathJoinSubstitution(
            [share, 'config', 'gazebo', 'robot.sdf']),
            description='SDF of the robot spawned into the world.'),
        DeclareLaunchArgument('bridge_config', default_value=PathJoinSubstitution(
            [share, 'config', 'gazebo', 'bridge.yaml']),
            description='ros_gz_bridge config_file mapping the gz topics to ROS.'),
        DeclareLaunchArgument('gui', default_value='true',
                              description='Show the Gazebo window (false: server only, -s).'),
        DeclareLaunchArgument('namespace', default_value='',
                              description='Namespace of the bridge and the edge_agent nodes.'),
        DeclareLaunchArgument('params_file', default_value=PathJoinSubstitution(
            [share, 'config', 'agent.yaml']),
            description='Parameter YAML for all edge_agent nodes.'),
        DeclareLaunchArgument('log_level', default_value='info',
                              description='Logging level: debug, info, warn, error.'),
        DeclareLaunchArgument('shm_profile', default_value='true',
                              description='Fast DDS profile with a 10 MB shared-memory segment.'),
        ExecuteProcess(cmd=['gz', 'sim', '-r', LaunchConfiguration('world')], output='screen',
                       condition=IfCondition(LaunchConfiguration('gui'))),
        ExecuteProcess(cmd=['gz', 'sim', '-r', '-s', LaunchConfiguration('world')],
                       output='screen',
                       condition=UnlessCondition(LaunchConfiguration('gui'))),
        Node(package='ros_gz_sim', executable='create', output='screen',
             arguments=['-world', 'edge_agent_home', '-file', LaunchConfiguration('robot_sdf'),
                        '-name', 'edge_agent_robot']),
        Node(package='ros_gz_bridge', executable='parameter_bridge', name='gz_bridge',
             namespace=LaunchConfiguration('namespace'), output='screen',
             parameters=[{'config_file': LaunchConfiguration('bridge_config'),
                          'use_sim_time': True}]),
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(PathJoinSubstitution(
                [share, 'launch', 'agent.launch.py'])),
            launch_arguments={'use_sim_time': 'true', 'robot': 'sim', 'vision_world': 'synthetic',
                              **{name: LaunchConfiguration(name) for name in passed}}.items()),
    ])
