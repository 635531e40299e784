import fc from 'fast-check';

// Property tests run with a fixed seed so any failure can be replayed; set FC_SEED to explore.
const seed = Number(process.env.FC_SEED ?? 20261129);
fc.configureGlobal({ seed, numRuns: Number(process.env.FC_RUNS ?? 30) });
