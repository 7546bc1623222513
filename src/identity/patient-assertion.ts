/** The patient's RFC 7523 assertion, signed in the browser or the CLI with the patient's ledger key. */
export { createPatientAssertion, type PatientAssertionOptions } from '../smart/address-jwt.js';
