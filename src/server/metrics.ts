import { Counter, Gauge, Histogram, Registry } from 'prom-client';

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The server's Prometheus metrics, on a registry of its own (no global state). */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly runs = new Counter({ name: 'pybox_runs_total', help: 'Runs finished, by status', labelNames: ['status'] as const, registers: [this.registry] });
  readonly runDuration = this.seconds('pybox_run_duration_seconds', "Wall time of a run in its jail (the run result's durationMs)", 'status');
  readonly requestDuration = this.seconds('pybox_request_duration_seconds', 'Time from a run request to its answer, queueing included', 'route');
  readonly rejected = new Counter({ name: 'pybox_requests_rejected_total', help: 'Requests refused, by error code', labelNames: ['code'] as const, registers: [this.registry] });

  private seconds<L extends string>(name: string, help: string, label: L): Histogram<L> {
    return new Histogram({ name, help, labelNames: [label], buckets: SECONDS_BUCKETS, registers: [this.registry] });
  }

  constructor(gauges: { queueDepth: () => number; running: () => number; warmJails: () => number; liveSessions: () => number; mcpSessions: () => number; cellsInFlight: () => number }) {
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
    gauge('pybox_queue_depth', 'Runs waiting for a slot', gauges.queueDepth);
    gauge('pybox_runs_in_flight', 'Runs in their jails now', gauges.running);
    gauge('pybox_warm_jails', 'Warm jails (pool or zygote spares) ready now', gauges.warmJails);
    gauge('pybox_live_sessions', 'Live sessions (interpreters of /v1/sessions and the MCP session tools)', gauges.liveSessions);
    gauge('pybox_cells_in_flight', 'Session cells running or waiting their turn in their session', gauges.cellsInFlight);
    gauge('pybox_mcp_sessions', 'MCP connections over streamable HTTP (each with its workspace)', gauges.mcpSessions);
  }
}
