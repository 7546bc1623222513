/** A patient's HIPAA individual rights and portal requests (issue 22, decision 0029). */
export { AMENDMENT_EXTENSION, DISAGREEMENT_RIGHT, decideAmendment } from './amendment-decision.js';
export { accountDisclosures, disclosuresAsBundle, isDisclosure } from './disclosure-accounting.js';
export { createPatientRightsRoutes, type PatientRightsDeps } from './patient-rights-routes.js';
export { practitionerDisplayName } from './practitioner-names.js';
export { createRecipientNames, type RecipientDirectory } from './recipient-names.js';
