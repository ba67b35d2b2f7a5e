// config.sh, sourced by the guest's init and stage2: where the project is, the host kind, and the
// environment the command gets (the host's PATH, so node, python3 and bwrap are found as here, and
// pybox's own PYBOX_* settings).
export const shellQuote = (value) => `'${String(value).replaceAll("'", `'\\''`)}'`;

/** The unprivileged user of --as delegated: nobody, present in every Debian /etc/passwd. */
const DELEGATED_UID = 65534;

export function guestConfig({ project, cgroup, as }) {
  const vars = { PROJECT: project, CGROUP: cgroup, AS: as, RUN_UID: DELEGATED_UID, RUN_CWD: process.cwd(), HOST_PATH: process.env.PATH ?? '/usr/bin:/bin' };
  const lines = Object.entries(vars).map(([k, v]) => `${k}=${shellQuote(v)}`);
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('PYBOX_') && !k.startsWith('PYBOX_VM_') && /^\w+$/.test(k)) lines.push(`export ${k}=${shellQuote(v)}`);
  }
  return `${lines.join('\n')}\n`;
}
