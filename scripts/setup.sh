#!/usr/bin/env bash
# Set up edge_agent on a machine without a ROS distro: a virtual environment in .venv holding
# ROS 2 Kilted from its PyPI wheels, the project's Python libraries, the package itself (built
# from the same CMakeLists.txt that colcon uses) and the verified model files.
# Re-running is fast and harmless: each step skips what is already done.
#
#   scripts/setup.sh            # everything
#   EDGE_AGENT_VENV=/path ...   # another environment folder (default: <repo>/.venv)
#   EDGE_AGENT_SKIP_MODELS=1    # do not install the ~800 MB of models
#   EDGE_AGENT_ROS_DISTRO=jazzy # ROS 2 Jazzy's wheels instead of Kilted's
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${EDGE_AGENT_VENV:-$ROOT/.venv}"
DISTRO_TAG="${EDGE_AGENT_ROS_DISTRO:+-$EDGE_AGENT_ROS_DISTRO}"   # one build folder per distro
BUILD="$ROOT/build/venv$DISTRO_TAG"
STEPS=5
step() { printf '\n\033[1m[%s/%s] %s\033[0m\n' "$1" "$STEPS" "$2"; }
die() { printf 'setup.sh: error: %s\n' "$*" >&2; exit 1; }
SECONDS=0

# pip's output is cut to one line per package (and every error) so CI logs stay readable;
# warnings about absent local mirror folders that some machines configure are dropped.
pip_filter() { { grep --line-buffered -v "is ignored: it is neither a file nor a directory" \
  | grep --line-buffered -E "^(Collecting|Building|Successfully|ERROR|error)" | sed -u -e 's/ (from .*//'; true; }; }

step 1 "Python virtual environment ($VENV)"
if [ ! -x "$VENV/bin/python" ]; then
  PY=""
  # The ROS 2 wheels exist for CPython 3.11-3.13 on x86_64 only.
  for cand in python3.11 python3.12 python3.13 python3; do
    if command -v "$cand" >/dev/null 2>&1 &&
       "$cand" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))'; then
      PY="$cand"; break
    fi
  done
  [ -n "$PY" ] || die "need CPython 3.11, 3.12 or 3.13 (the ROS 2 PyPI wheels exist only for those)"
  [ "$(uname -m)" = x86_64 ] || die "the ROS 2 PyPI wheels are x86_64 only; on a Jetson build with colcon against the apt-installed ROS 2 (see README)"
  "$PY" -m venv "$VENV"
  echo "created with $("$VENV/bin/python" --version)"
else
  echo "exists ($("$VENV/bin/python" --version))"
fi

step 2 "Python packages: ROS 2 wheels, runtime and test libraries (llama-cpp-python compiles once, minutes)"
# EDGE_AGENT_ROS_DISTRO=jazzy takes ROS 2 Jazzy's wheels instead of Kilted's (CI runs both)
case "${EDGE_AGENT_ROS_DISTRO:-kilted}" in
  kilted) ROS_REQS="$ROOT/requirements/ros-wheels.txt" ;;
  jazzy) ROS_REQS="$ROOT/requirements/ros-wheels-jazzy.txt" ;;
  *) die "EDGE_AGENT_ROS_DISTRO=${EDGE_AGENT_ROS_DISTRO}: PyPI has wheels for kilted and jazzy only" ;;
esac
# llama.cpp is built for this CPU (-march=native), but without its AMX kernels: on Intel Xeons
# with AMX, llama-cpp-python 0.3.36's AMX path crashes (SIGSEGV in decode of any prompt longer
# than one token; AVX-512 and the other paths are fine). CMAKE_ARGS set by the caller win.
NO_AMX="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
export CMAKE_ARGS="${CMAKE_ARGS:--DCMAKE_C_FLAGS='$NO_AMX' -DCMAKE_CXX_FLAGS='$NO_AMX'}"
REQS=("$ROS_REQS" "$ROOT/requirements/runtime.txt" "$ROOT/requirements/test.txt")
STAMP="$VENV/.edge_agent-requirements.sha256"
WANT="$(cat "${REQS[@]}" | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
  echo "requirements unchanged since the last run; skipping pip"
else
  args=()
  for r in "${REQS[@]}"; do args+=(-r "$r"); done
  if ! "$VENV/bin/python" -m pip install --progress-bar off "${args[@]}" 2>&1 | pip_filter; then
    die "pip install failed (see the output above)"
  fi
  echo "$WANT" > "$STAMP"
fi
# An environment (or pip's wheel cache) from before holds a build with the AMX kernels: on a
# CPU with AMX, rebuild it without them (the marker is the AMX weight-repacking log line).
GGML_CPU="$(ls "$VENV"/lib/python3*/site-packages/llama_cpp/lib/libggml-cpu.so 2>/dev/null | head -1)"
if [ -n "$GGML_CPU" ] && grep -qw amx_int8 /proc/cpuinfo 2>/dev/null \
   && grep -q "amx repack tensor" "$GGML_CPU"; then
  echo "llama-cpp-python was built with the AMX kernels, which crash on this CPU: rebuilding"
  LLAMA_REQ="$(grep -E '^llama-cpp-python==' "$ROOT/requirements/runtime.txt")"
  "$VENV/bin/python" -m pip cache remove llama_cpp_python >/dev/null 2>&1 || true
  "$VENV/bin/python" -m pip install --progress-bar off --force-reinstall --no-deps \
    "$LLAMA_REQ" 2>&1 | pip_filter || die "rebuilding llama-cpp-python failed"
fi
"$VENV/bin/python" "$ROOT/scripts/fix_wheel_cmake.py" "$VENV"

step 3 "Build and install the edge_agent package (interfaces + Python) with CMake"
mkdir -p "$BUILD"
# Configure every time (seconds with a cache): new folders and files are picked up.
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
  -DCMAKE_PREFIX_PATH="$VENV" -DCMAKE_INSTALL_PREFIX="$VENV" \
  -DPython3_EXECUTABLE="$VENV/bin/python" -DPython3_FIND_VIRTUALENV=ONLY \
  > "$BUILD/configure.log" 2>&1 || { tail -40 "$BUILD/configure.log"; die "cmake configure failed (log: $BUILD/configure.log)"; }
cmake --build "$BUILD" -j"$(nproc)" > "$BUILD/build.log" 2>&1 \
  || { tail -40 "$BUILD/build.log"; die "build failed (log: $BUILD/build.log)"; }
cmake --install "$BUILD" > "$BUILD/install.log" 2>&1 \
  || { tail -40 "$BUILD/install.log"; die "install failed (log: $BUILD/install.log)"; }
echo "installed into $VENV (executables: $VENV/lib/edge_agent, $VENV/bin/edge-agent)"
# The Nav2 adapter's tests need nav2_msgs' NavigateToPose, DriveOnHeading, BackUp and Spin,
# which no PyPI wheel has: without a real nav2_msgs, build the stand-in interface (the same
# definitions) from test/fakes/nav2_msgs.
if ! "$VENV/bin/python" -c 'from nav2_msgs.action import NavigateToPose, DriveOnHeading, BackUp, Spin' >/dev/null 2>&1; then
  NAV2_BUILD="$ROOT/build/nav2_msgs$DISTRO_TAG"
  mkdir -p "$NAV2_BUILD"
  { cmake -S "$ROOT/test/fakes/nav2_msgs" -B "$NAV2_BUILD" -DCMAKE_BUILD_TYPE=Release \
      -DBUILD_TESTING=OFF -DCMAKE_PREFIX_PATH="$VENV" -DCMAKE_INSTALL_PREFIX="$VENV" \
      -DPython3_EXECUTABLE="$VENV/bin/python" -DPython3_FIND_VIRTUALENV=ONLY \
    && cmake --build "$NAV2_BUILD" -j"$(nproc)" && cmake --install "$NAV2_BUILD"; } \
    > "$NAV2_BUILD/build.log" 2>&1 \
    || { tail -40 "$NAV2_BUILD/build.log"; die "stand-in nav2_msgs build failed (log: $NAV2_BUILD/build.log)"; }
  echo "stand-in nav2_msgs (NavigateToPose, DriveOnHeading, BackUp, Spin; for the Nav2 adapter's tests) installed"
fi

step 4 "Models: install from PyPI, join parts, verify SHA-256"
if [ "${EDGE_AGENT_SKIP_MODELS:-0}" = 1 ]; then
  echo "skipped (EDGE_AGENT_SKIP_MODELS=1)"
else
  "$VENV/bin/edge-agent" models install --all
fi

step 5 "Done in ${SECONDS}s; environment $(du -sh "$VENV" | cut -f1)"
echo "check it:   $VENV/bin/edge-agent doctor"
echo "run tests:  scripts/test.sh"
