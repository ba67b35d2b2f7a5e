export { BOOTSTRAP_SOURCE, LANGUAGE_POLICY_SOURCE } from './bootstrap-source.js';
export * from './protocol.js';
