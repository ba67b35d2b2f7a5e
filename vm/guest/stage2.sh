# Second stage, PID 1 on the host's / (run by the initramfs' busybox, whose applets come first here;
# the command runs with the host's /bin/sh and tools): cgroups as the host kind asks, then the command; its status goes back over the "pybox.status" port as a marker line, then power off.
IO=/run/pybox-vm/io
BUSYBOX=/run/pybox-vm/busybox
. "$IO/config.sh" # PROJECT CGROUP AS RUN_UID; the command is $IO/command.sh
. "$PROJECT/vm/guest/cgroups.sh"
. "$PROJECT/vm/guest/ports.sh"

STATUS=$(port pybox.status)
finish() { echo "PYBOX_VM_EXIT $1" >"$STATUS"; sync; echo o >/proc/sysrq-trigger; $BUSYBOX sleep 60; }

export PATH="$HOST_PATH" HOME=/tmp/home
mkdir -p "$HOME" && chmod 1777 "$HOME"
$BUSYBOX hostname pybox-vm
$BUSYBOX ip link set lo up
mount_cgroups "$CGROUP"
case "$AS" in
  root) ;;
  service) enter_child "$CGROUP" pybox-vm.service ;;
  delegated) enter_child "$CGROUP" user-delegated; delegate_child "$CGROUP" user-delegated "$RUN_UID" ;;
esac

cd "$RUN_CWD" 2>/dev/null || cd "$PROJECT"
if [ "$AS" = delegated ]; then
  /usr/bin/setpriv --reuid="$RUN_UID" --regid="$RUN_UID" --clear-groups /bin/sh "$IO/command.sh" >"$(port pybox.stdout)" 2>"$(port pybox.stderr)" </dev/null
else
  /bin/sh "$IO/command.sh" >"$(port pybox.stdout)" 2>"$(port pybox.stderr)" </dev/null
fi
finish $?
