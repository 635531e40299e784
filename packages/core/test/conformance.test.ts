// The conformance suite run on the reference backend itself: it then checks the suite (and
// the scheduler + interpreter against the eager oracle) even where no other backend exists.
import { describeConformance } from './conformance/suite.js';

describeConformance('reference');
