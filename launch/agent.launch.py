"""Launch the edge_agent graph: `ros2 launch edge_agent agent.launch.py [namespace:=robot1]`.

Starts the thermal governor, speech, vision, agent, planner, skill executor and speaker nodes,
and the microphone with mic:=true. robot:=nav2 drives a Nav2 robot (navigate_to as
NavigateToPose goals, poses from config/places.yaml) instead of the dry run;
vision_model:=/path/model.onnx (or a TensorRT .engine) runs your own YOLO export instead of
the tiers; vision_backend:=tensorrt|onnxruntime|opencv picks the vision backend.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    namespace = LaunchConfiguration('namespace')
    use_sim_time = LaunchConfiguration('use_sim_time')
    params_file = LaunchConfiguration('params_file')
    log_level = LaunchConfiguration('log_level')

    def edge_node(executable, extra=None, **kwargs):
        return Node(package='edge_agent', executable=executable, name=executable,
                    namespace=namespace, output='screen',
                    parameters=[params_file, {'use_sim_time': use_sim_time, **(extra or {})}],
                    arguments=['--ros-args', '--log-level', log_level], **kwargs)

    return LaunchDescription([
        DeclareLaunchArgument('namespace', default_value='',
                              description='Namespace of every node (e.g. the robot name).'),
        DeclareLaunchArgument('use_sim_time', default_value='false',
                              description='Use /clock from a simulator or a bag replay.'),
        DeclareLaunchArgument(
            'params_file',
            default_value=PathJoinSubstitution(
                [FindPackageShare('edge_agent'), 'config', 'agent.yaml']),
            description='Parameter YAML for all edge_agent nodes.'),
        DeclareLaunchArgument('log_level', default_value='info',
                              description='Logging level: debug, info, warn, error.'),
        DeclareLaunchArgument('mic', default_value='false',
                              description='Start the microphone capture node (sounddevice).'),
        DeclareLaunchArgument('robot', default_value='dry_run',
                              description='Skill adapter of the skill executor: dry_run (nothing '
                                          'moves) or nav2 (navigate_to via Nav2 NavigateToPose).'),
        DeclareLaunchArgument('vision_model', default_value='',
                              description='YOLO-family ONNX model (or TensorRT .engine) for the '
                                          "vision node; empty = the project's detector from the "
                                          'tier catalog.'),
        DeclareLaunchArgument('vision_backend', default_value='auto',
                              description='Vision backend: auto (TensorRT when available, else '
                                          'ONNX Runtime), tensorrt, onnxruntime or opencv.'),
        edge_node('thermal_governor'),
        edge_node('audio_capture', condition=IfCondition(LaunchConfiguration('mic'))),
        edge_node('speech'),
        edge_node('agent'),
        edge_node('planner'),
        edge_node('skill_executor', extra={'adapter': LaunchConfiguration('robot')}),
        edge_node('speaker'),
        edge_node('vision', extra={'model_path': LaunchConfiguration('vision_model'),
                                   'backend': LaunchConfiguration('vision_backend')}),
    ])
