// Boots the VM once: the guest's stdout and stderr come back on two virtio serial ports, its exit
// status as a marker line on a third (each a unix socket QEMU connects to), the kernel's console into
// a log file.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ACCEL = {
  kvm: ['-accel', 'kvm', '-cpu', 'host'],
  // Software emulation: ~40-50x slower, but boots where nested KVM cannot.
  tcg: ['-accel', 'tcg,thread=multi', '-cpu', 'max'],
};
const PORTS = ['stdout', 'stderr', 'status'];

const share = (tag, path, readonly) =>
  ['-virtfs', `local,path=${path},mount_tag=${tag},security_model=passthrough,multidevs=remap${readonly ? ',readonly=on' : ''}`];

const port = (name, socket) => [
  '-chardev', `socket,id=${name},path=${socket}`,
  '-device', `virtserialport,chardev=${name},name=pybox.${name}`,
];

function qemuArgs({ accel, kernel, initrd, cmdline, io, project, memoryMiB, cpus }, sockets) {
  return [
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    ...ACCEL[accel], '-smp', String(cpus), '-m', String(memoryMiB),
    '-kernel', kernel, '-initrd', initrd, '-append', cmdline,
    '-serial', `file:${join(io, 'console.log')}`,
    '-device', 'virtio-serial-pci',
    ...PORTS.flatMap((name) => port(name, sockets[name])),
    ...share('root', '/', true), ...share('project', project, false), ...share('io', io, true),
  ];
}

/** Unix sockets under dir, one per port, each handing its first connection to onConnection(name, socket). */
async function listen(dir, onConnection) {
  const servers = [];
  const paths = {};
  for (const name of PORTS) {
    paths[name] = join(dir, `${name}.sock`);
    const server = createServer((socket) => onConnection(name, socket));
    await new Promise((resolve, reject) => server.once('error', reject).listen(paths[name], resolve));
    servers.push(server);
  }
  return { paths, close: () => servers.forEach((s) => s.close()) };
}

/**
 * Resolves with { booted, exitCode (null: no status came back), qemuStderr }. Not booted within
 * bootTimeoutMs (the guest's PYBOX_VM_BOOTED line): QEMU is killed and booted is false.
 */
export async function bootOnce(options, { stdout, stderr, bootTimeoutMs }) {
  let status = '';
  let booted = false;
  let onBoot = () => {};
  const open = [];
  const sockets = await listen(options.io, (name, socket) => {
    open.push(new Promise((resolve) => socket.on('close', resolve)));
    if (name === 'stdout') socket.pipe(stdout, { end: false });
    else if (name === 'stderr') socket.pipe(stderr, { end: false });
    else socket.on('data', (d) => {
      status += d;
      if (!booted && status.includes('PYBOX_VM_BOOTED\n')) (booted = true), onBoot();
    });
  });
  try {
    const child = spawn('qemu-system-x86_64', qemuArgs(options, sockets.paths), { stdio: ['ignore', 'ignore', 'pipe'] });
    let qemuStderr = '';
    child.stderr.on('data', (d) => (qemuStderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), bootTimeoutMs);
    onBoot = () => clearTimeout(timer);
    const onSignal = () => child.kill('SIGKILL');
    process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
    await new Promise((resolve, reject) => child.on('error', reject).on('close', resolve));
    clearTimeout(timer);
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    await Promise.all(open); // every port drained
    const code = /^PYBOX_VM_EXIT (\d+)$/m.exec(status);
    return { booted, exitCode: code ? Number(code[1]) : null, qemuStderr };
  } finally {
    sockets.close();
  }
}
