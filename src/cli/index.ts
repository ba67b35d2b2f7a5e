// The pybox command line: `pybox run`, `pybox doctor`, `pybox attack`.
export { main, buildProgram, pyboxVersion } from './main.js';
export { runDoctor, formatDoctorReport, doctorCommand, type DoctorReport, type DoctorCheck, type CheckStatus, type DoctorOptions } from './doctor.js';
export { runCommand, executeRun, exitCodeFor, statusLine, resultToJson, type CliContext, type RunFlags } from './run-command.js';
export { EXIT, UsageError, describeError } from './usage-error.js';
export { processIO, type CliIO } from './io.js';
