/**
 * Host-wide /proc entries hidden in every jail: the OCI runtime's default masked paths
 * (what Docker, Podman and containerd hide) plus kallsyms and cmdline. Other host-wide
 * statistics (meminfo, stat, loadavg, diskstats, ...) stay readable, as in those
 * runtimes: they hold no secret. bwrap's --proc already makes sys, sysrq-trigger, irq
 * and bus read-only. Each mask costs bwrap a mount-table reread (~0.15 ms) on the cold path.
 */
export const PROC_MASK_FILES = [
  'kcore', 'keys', 'kallsyms', 'timer_list', 'sched_debug', 'sysrq-trigger', 'cmdline',
  'latency_stats', 'timer_stats',
] as const;
/**
 * Masked even where the sandbox user could not read them anyway. The other file masks are
 * applied only to entries others may read: a host-root file with mode 0400 stays unreadable
 * in the jail (host root is unmapped there).
 */
export const PROC_MASK_ALWAYS: readonly string[] = ['kcore', 'keys', 'kallsyms', 'timer_list', 'sched_debug', 'sysrq-trigger', 'cmdline'];
export const PROC_MASK_DIRS = ['acpi', 'asound', 'scsi'] as const;
