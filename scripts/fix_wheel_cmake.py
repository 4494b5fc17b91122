"""Rewrite the ROS 2 wheels' CMake exports that hard-code the wheel build box's include dirs.

The exported targets of some wheels (service_msgs, rmw_dds_common, ...) name
``/opt/python/cpXY-cpXY/include/pythonX.Y`` and that interpreter's numpy include dir; CMake
refuses such targets ("includes non-existent path"). This points them at the running
interpreter's own dirs. Idempotent: a second run finds nothing to change.
"""
import argparse
import pathlib
import re
import sys
import sysconfig

PY_INCLUDE = re.compile(r'/opt/python/cp\d+-cp\d+t?/include/python3\.\d+t?')
NUMPY_INCLUDE = re.compile(
    r'/opt/python/cp\d+-cp\d+t?/lib/python3\.\d+t?/site-packages/numpy/(?:_?core)/include')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('prefix', type=pathlib.Path, help='install prefix holding share/*/cmake')
    args = parser.parse_args(argv)
    import numpy

    py_include = sysconfig.get_paths()['include']
    np_include = numpy.get_include()
    changed = 0
    for path in sorted(args.prefix.glob('share/*/cmake/*.cmake')):
        text = path.read_text()
        if '/opt/python/' not in text:
            continue
        new = NUMPY_INCLUDE.sub(np_include, text)
        new = PY_INCLUDE.sub(py_include, new)
        if new != text:
            path.write_text(new)
            changed += 1
    print(f'fix_wheel_cmake: rewrote {changed} CMake export file(s) under {args.prefix}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
