# Source me: `source env.sh` — the DawnPatrol environment for an interactive shell.
# venv (or a sourced system ROS 2 Jazzy), the colcon install space, and DDS kept on this machine.
# `--no-install` skips the install space (used by the build itself).
_dp_root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The colcon and venv scripts read unset variables: relax `set -u` while sourcing them.
case $- in *u*) _dp_nounset=1; set +u ;; *) _dp_nounset=0 ;; esac
if [ -f "$_dp_root/.venv/bin/activate" ]; then
  # shellcheck disable=SC1091
  VIRTUAL_ENV_DISABLE_PROMPT=1 source "$_dp_root/.venv/bin/activate"
fi
if [ "${ROS_DISTRO:-}" != "jazzy" ]; then
  # ROS 2 from the wheels: the venv is the underlay.
  export AMENT_PREFIX_PATH="${AMENT_PREFIX_PATH:+$AMENT_PREFIX_PATH:}$VIRTUAL_ENV"
  export CMAKE_PREFIX_PATH="${CMAKE_PREFIX_PATH:+$CMAKE_PREFIX_PATH:}$VIRTUAL_ENV"
fi
if [ "${1:-}" != "--no-install" ] && [ -f "$_dp_root/install/setup.bash" ]; then
  # shellcheck disable=SC1091
  source "$_dp_root/install/setup.bash"
  if [ "${ROS_DISTRO:-}" != "jazzy" ]; then
    export AMENT_PREFIX_PATH="$AMENT_PREFIX_PATH:$VIRTUAL_ENV"
  fi
  for _p in dawnpatrol_launch dawnpatrol_fleet; do
    export PATH="$_dp_root/install/$_p/lib/$_p:$PATH"
  done
fi
# Hard rule: DDS discovery never leaves this machine; a default domain unless one is set.
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-42}"
export RMW_IMPLEMENTATION="${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}"
[ "$_dp_nounset" = 1 ] && set -u
unset _dp_root _p _dp_nounset
