// Seeded test data, as the conformance suite draws it (same generator, so failures reproduce
// across backends).
export { randomData } from '../../../core/test/conformance/data.js';
