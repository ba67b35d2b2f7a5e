# Sourced by init.sh and stage2.sh: the device of a named virtio serial port (no udev here to name it).
port() {
  for p in /sys/class/virtio-ports/*; do
    [ "$(cat "$p/name" 2>/dev/null)" = "$1" ] && { echo "/dev/${p##*/}"; return 0; }
  done
  return 1
}
