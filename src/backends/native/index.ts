// The native backend as the layers above see it: the Backend itself, and a narrow view of
// its host-side state for the attack lab (which jails are idle, the pty budget) and for
// `pybox doctor` (what the host offers). Everything else in this folder is internal.
export { NativeBackend, type NativeBackendOptions } from './native-backend.js';
export { idleWarmJails } from './pool/inventory.js';
export { PTYS_PER_RUN } from './jail/bwrap-argv.js';
export { sharedCgroups } from './jail/environment.js';
export { UID_LOCK_DIR } from './jail/uid-pool.js';
export { compileSeccompFilter, hostSeccompArch } from './seccomp/index.js';
export { DEFAULT_PYTHON, findBwrap, pythonSupported } from '../../host/probe.js';
export { hostProcesses, processStatus, procStat, statusField } from '../../host/processes.js';
