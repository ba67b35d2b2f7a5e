# Second stage, PID 1 on the host's / (run by the initramfs' busybox, whose applets come first here;
# the command runs with the host's /bin/sh and tools): cgroups as the host kind asks, then the command;
# its status goes back over the "pybox.status" port as a marker line, then power off.
IO=/run/pybox-vm/io
BUSYBOX=/run/pybox-vm/busybox
. "$IO/config.sh" # PROJECT CGROUP AS RUN_UID RUN_CWD HOST_PATH; the command is $IO/command.sh
. "$PROJECT/vm/guest/cgroups.sh"
. "$PROJECT/vm/guest/ports.sh"

STATUS=$(port pybox.status)
finish() { echo "PYBOX_VM_EXIT $1" >"$STATUS"; sync; echo o >/proc/sysrq-trigger; $BUSYBOX sleep 60; }

export PATH="$HOST_PATH" HOME=/tmp/home
mkdir -p "$HOME" && chmod 1777 "$HOME"
$BUSYBOX hostname pybox-vm
$BUSYBOX ip link set lo up
mkdir -p /dev/shm && mount -t tmpfs -o mode=1777 shm /dev/shm # as on any host (devtmpfs has none)
mount_cgroups "$CGROUP"

# The command's cgroup (none: the root cgroup) and the user it runs as.
CHILD= AS_USER=
case "$AS" in
  service) CHILD=pybox-vm.service; make_child "$CGROUP" "$CHILD" ;;
  delegated)
    CHILD=user-delegated AS_USER="/usr/bin/setpriv --reuid=$RUN_UID --regid=$RUN_UID --clear-groups"
    make_child "$CGROUP" "$CHILD" $AS_USER
    delegate_child "$CGROUP" "$CHILD" "$RUN_UID" ;;
esac
PROCS=$([ -n "$CHILD" ] && cgroup_procs "$CGROUP" "$CHILD")

cd "$RUN_CWD" 2>/dev/null || cd "$PROJECT"
# The shell joins the command's cgroup as root (moving in needs write access where it comes from),
# then becomes the user.
/bin/sh -c 'for f in $0; do echo $$ >"$f"; done; exec "$@"' "$PROCS" $AS_USER /bin/sh "$IO/command.sh" \
  >"$(port pybox.stdout)" 2>"$(port pybox.stderr)" </dev/null
finish $?
