#!/bin/busybox sh
# First stage, PID 1 in the initramfs (busybox): load the virtio + 9p drivers, mount the host's / (read-only)
# as the new root with the project tree (writable) at its own path, then switch_root into it. switch_root,
# not chroot: the kernel refuses new user namespaces to a chrooted process, and bwrap needs them.
/bin/busybox --install -s /bin
export PATH=/bin
fail() { echo "pybox-vm init: $*" >/dev/console; echo o >/proc/sysrq-trigger; sleep 60; }

mount -t devtmpfs dev /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
echo 1 >/proc/sys/kernel/sysrq
# In dependency order, as the host listed them (there is no modules.dep here).
for m in $(cat /modules/order); do
  insmod "/modules/$m.ko" || fail "insmod $m failed"
done

. /ports.sh
# The host waits for this line to tell a boot that works from one that hangs (e.g. a nested KVM).
echo PYBOX_VM_BOOTED >"$(port pybox.status)" || fail "no pybox.status port"

nine() { mount -t 9p -o "trans=virtio,version=9p2000.L,msize=512000,$3" "$1" "$2"; }
mkdir -p /io /newroot
nine io /io ro,cache=none || fail "cannot mount the io share"
. /io/config.sh   # PROJECT, set by the host

nine root /newroot ro,cache=loose || fail "cannot mount the host's /"
mount -t tmpfs -o mode=1777 tmp /newroot/tmp
mount -t tmpfs -o mode=755 run /newroot/run
mkdir -p /newroot/run/pybox-vm/io /newroot/run/pybox-vm/project
nine project /newroot/run/pybox-vm/project rw,cache=loose || fail "cannot mount the project tree"
. /expose.sh
expose_project "$PROJECT" || fail "cannot put the project tree at $PROJECT"
mount --move /io /newroot/run/pybox-vm/io
cp /bin/busybox /newroot/run/pybox-vm/busybox
for d in dev proc sys; do mount --move "/$d" "/newroot/$d"; done
exec switch_root /newroot /run/pybox-vm/busybox sh "$PROJECT/vm/guest/stage2.sh"
