// The shared conformance suite on the cpu backend (generated C against the reference).
import '@resgrad/backend-cpu';
import { describeConformance } from '../../core/test/conformance/suite.js';

describeConformance('cpu');
