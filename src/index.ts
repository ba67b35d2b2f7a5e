// pybox: run untrusted Python in a Linux jail. The public API.
export * from './sandbox/index.js';
