# Sourced by init.sh: puts the project share (mounted at $SHARE) at its own path under /newroot, where
# any user can reach it, whatever that path is on the host: below /tmp or /run (fresh tmpfs in the
# guest, which would hide it), or below a directory others cannot enter (/root, mktemp -d's 0700),
# which the delegated user could not pass.
SHARE=/newroot/run/pybox-vm/project
SHIMS=/newroot/run/pybox-vm/shims
shims=0

# open_to_all DIR [SOURCE]: DIR becomes a tmpfs anyone can enter, showing SOURCE's entries (DIR as it
# was, by default): each directory and file a bind mount of the original, each symlink a copy.
open_to_all() {
  dir=$1 src=$2
  if [ -z "$src" ]; then
    shims=$((shims + 1))
    src=$SHIMS/$shims
    mkdir -p "$src" && mount --bind "$dir" "$src" || return 1
  fi
  mount -t tmpfs -o mode=755 shim "$dir" || return 1
  for e in "$src"/* "$src"/.[!.]* "$src"/..?*; do
    name=${e##*/}
    if [ -L "$e" ]; then ln -s "$(readlink "$e")" "$dir/$name"
    elif [ -d "$e" ]; then mkdir "$dir/$name" && mount --bind "$e" "$dir/$name"
    elif [ -f "$e" ]; then touch "$dir/$name" && mount --bind "$e" "$dir/$name"
    fi || return 1
  done
}

# expose_project PATH: the share at PATH, every directory above it enterable by others.
expose_project() {
  path=/newroot rest=${1#/}
  while [ "${rest#*/}" != "$rest" ]; do
    path=$path/${rest%%/*} rest=${rest#*/}
    if [ ! -d "$path" ]; then mkdir "$path" || return 1
    else case $(stat -c %a "$path") in *[1357]) ;; *) open_to_all "$path" || return 1 ;; esac
    fi
  done
  path=$path/$rest
  [ -d "$path" ] || mkdir "$path" || return 1
  case $(stat -c %a "$SHARE") in
    *[57]) mount --bind "$SHARE" "$path" ;;
    *) open_to_all "$path" "$SHARE" ;; # its own entries are bind mounts: they stay writable
  esac
}
