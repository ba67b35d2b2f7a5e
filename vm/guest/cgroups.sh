# Sourced by stage2.sh: mounts the cgroup hierarchy a modern (v2) or older (v1) host has, and puts the
# command where the chosen host kind would run it.

mount_cgroups() { # $1: v1|v2
  if [ "$1" = v2 ]; then
    mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
  else
    mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
    for c in memory pids cpu,cpuacct; do
      mkdir -p "/sys/fs/cgroup/$c"
      mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c"
    done
  fi
}

# The cgroup directories one host kind's processes live in: one on v2, one per hierarchy on v1.
cgroup_dirs() { # $1: v1|v2, $2: name
  if [ "$1" = v2 ]; then echo "/sys/fs/cgroup/$2"; else for c in memory pids cpu,cpuacct; do echo "/sys/fs/cgroup/$c/$2"; done; fi
}

# A child cgroup that already holds a process (as a systemd service or a container's init does), with
# the controllers enabled for it; then this shell joins it too.
enter_child() { # $1: v1|v2, $2: name
  [ "$1" = v2 ] && echo '+memory +pids +cpu' >/sys/fs/cgroup/cgroup.subtree_control
  sleep 1000000 &
  for d in $(cgroup_dirs "$1" "$2"); do
    mkdir -p "$d"
    echo $! >"$d/cgroup.procs"
    echo $$ >"$d/cgroup.procs"
  done
}

# Hands the child over to an unprivileged user as systemd's Delegate=yes does: the directory and its
# cgroup.procs, cgroup.threads and cgroup.subtree_control belong to the user.
delegate_child() { # $1: v1|v2, $2: name, $3: uid
  for d in $(cgroup_dirs "$1" "$2"); do
    chown "$3:$3" "$d" "$d/cgroup.procs"
    for f in cgroup.threads cgroup.subtree_control tasks; do [ -e "$d/$f" ] && chown "$3:$3" "$d/$f"; done
  done
}
