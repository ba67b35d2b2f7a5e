// Warm run paths: the bwrap pool and the zygote (fork-server), and how a Sandbox picks one.
export { RunPaths, DEFAULT_POOL, idleWarmJails, type SandboxMode, type PoolOptions, type PathCounts } from './pool.js';
export { describeRunPaths, type RunPathReport, type RunPathsReport } from './describe.js';
