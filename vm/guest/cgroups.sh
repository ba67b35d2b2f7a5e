# Sourced by stage2.sh: mounts the cgroup hierarchy a modern (v2) or older (v1) host has, and makes the
# cgroup the chosen host kind runs the command in.

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

# The cgroup.procs files of one cgroup: one on v2, one per hierarchy on v1.
cgroup_procs() { # $1: v1|v2, $2: name
  if [ "$1" = v2 ]; then echo "/sys/fs/cgroup/$2/cgroup.procs"
  else for c in memory pids cpu,cpuacct; do echo "/sys/fs/cgroup/$c/$2/cgroup.procs"; done; fi
}

# A child cgroup that already holds a process (a service's other process, a container's init), with
# the controllers enabled for it. $3: how to run that process (e.g. as the delegated user).
make_child() { # $1: v1|v2, $2: name, $3...: command prefix
  cg=$1 name=$2
  shift 2
  [ "$cg" = v2 ] && echo '+memory +pids +cpu' >/sys/fs/cgroup/cgroup.subtree_control
  "$@" sleep 1000000 &
  for f in $(cgroup_procs "$cg" "$name"); do
    mkdir -p "${f%/*}"
    echo $! >"$f"
  done
}

# Hands the child over to an unprivileged user as systemd's Delegate=yes does: the directory and its
# cgroup.procs, cgroup.threads and cgroup.subtree_control belong to the user.
delegate_child() { # $1: v1|v2, $2: name, $3: uid
  for f in $(cgroup_procs "$1" "$2"); do
    d=${f%/*}
    chown "$3:$3" "$d" "$f"
    for g in cgroup.threads cgroup.subtree_control tasks; do [ -e "$d/$g" ] && chown "$3:$3" "$d/$g"; done
  done
}
