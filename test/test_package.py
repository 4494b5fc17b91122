"""Package metadata: package.xml is valid format 3 and agrees with the build files."""
from __future__ import annotations

import pathlib
import shutil
import subprocess

from catkin_pkg.package import parse_package
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_package_xml_is_valid_format_3():
    package = parse_package(str(ROOT / 'package.xml'))  # validates; raises InvalidPackage
    assert package.package_format == 3
    assert package.name == 'edge_agent'
    assert package.get_build_type() == 'ament_cmake'
    assert package.licenses == ['Apache-2.0']
    depends = {d.name for d in package.build_depends + package.exec_depends}
    # actions need both; forgetting them breaks a distro build but not the wheel build
    assert {'action_msgs', 'service_msgs', 'rosidl_default_runtime', 'rclpy'} <= depends
    assert 'rosidl_interface_packages' in [g.name for g in package.member_of_groups]


@pytest.mark.skipif(shutil.which('xmllint') is None, reason='xmllint not installed')
def test_package_xml_is_well_formed_xml():
    result = subprocess.run(['xmllint', '--noout', str(ROOT / 'package.xml')],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_versions_agree():
    import edge_agent

    package = parse_package(str(ROOT / 'package.xml'))
    assert edge_agent.__version__ == package.version


def test_core_has_no_rclpy():
    """House style: core/ stays importable and testable without ROS."""
    for path in (ROOT / 'edge_agent' / 'core').rglob('*.py'):
        text = path.read_text()
        assert 'import rclpy' not in text and 'from rclpy' not in text, path
