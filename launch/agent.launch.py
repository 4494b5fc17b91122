"""Launch the edge_agent graph: `ros2 launch edge_agent agent.launch.py [namespace:=robot1]`.

Starts the supervisor, thermal governor, speech, vision, skill executor, planner, agent and
speaker nodes, and the microphone with mic:=true; every node is respawned when it dies. The
lifecycle nodes start with autostart false and the supervisor brings them up (configure,
activate, each checked) in bring-up order, and again after each respawn; it reports each
one's state and restarts on /diagnostics. robot:=nav2 drives a Nav2
robot (navigate_to as NavigateToPose goals, poses from config/places.yaml) instead of the dry run;
vision_model:=/path/model.onnx (or a TensorRT .engine) runs your own YOLO export instead of
the tiers; vision_backend:=tensorrt|onnxruntime|opencv picks the vision backend;
shm_profile:=false keeps the middleware's default transport settings.

The node list, the arguments and the parameters each node takes from them come from
edge_agent.app.graph, which `edge-agent up` reads too: both start the same graph.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from edge_agent.app.graph import (
    ARGUMENTS,
    DDS_PROFILE,
    NODES,
    RESPAWN_DELAY_S,
    dds_profile_env,
    node_parameters,
    ros_distro,
)


def generate_launch_description():
    share = FindPackageShare('edge_agent')
    defaults = {'params_file': PathJoinSubstitution([share, 'config', 'agent.yaml'])}
    arguments = [DeclareLaunchArgument(a.name, default_value=defaults.get(a.name, a.default),
                                       description=a.description) for a in ARGUMENTS]
    # Fast DDS reads its profile when a process creates its first participant, so the variables
    # are set before any node starts (which ones: graph.dds_profile_env).
    profile = PathJoinSubstitution([share, *DDS_PROFILE.split('/')])
    shm = [SetEnvironmentVariable(variable, value,
                                  condition=IfCondition(LaunchConfiguration('shm_profile')))
           for variable, value in dds_profile_env(profile, ros_distro()).items()]
    nodes = [
        Node(package='edge_agent', executable=spec.name, name=spec.name,
             namespace=LaunchConfiguration('namespace'), output='screen',
             parameters=[LaunchConfiguration('params_file'),
                         node_parameters(spec, LaunchConfiguration)],
             arguments=['--ros-args', '--log-level', LaunchConfiguration('log_level'),
                        '--enclave', spec.enclave],   # used with ROS_SECURITY_ENABLE=true
             # a node that dies comes back; the supervisor node reports it (and kills a hung
             # one so that it comes back too)
             respawn=True, respawn_delay=RESPAWN_DELAY_S,
             condition=IfCondition(LaunchConfiguration(spec.condition)) if spec.condition
             else None)
        for spec in NODES]
    return LaunchDescription([*arguments, *shm, *nodes])
