// The attack lab: the corpus (attacks/), the talk's ladder, the runner and its matrix.
export { attackCommand } from './cli.js';
export { CATEGORIES, DETECTORS, loadCorpus, loadLadder, parseAttack, CorpusError, type Attack, type Category, type Detector } from './corpus.js';
export { countsMarkdown, updateDoc } from './docs.js';
export { excerpt, judgeLab, judgePybox, splitLabOutput, type Judgement, type Verdict } from './evidence.js';
export { buildMatrix, type Matrix, type MatrixAttack } from './matrix.js';
export { languagePolicySource, runAttacks, selectAttacks, type RunnerOptions } from './runner.js';
export { formatReport } from './table.js';
export { LAB_LIMITS, LADDER, LIMIT_CAPS, PYBOX_LIMITS, TARGETS, findTarget, type Target } from './targets.js';
