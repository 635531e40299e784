// Comparison of a WebGPU result (read asynchronously) with the reference backend's: the
// conformance suite's.
export { expectMatches, type Tol } from '../../../core/test/conformance/compare.js';
