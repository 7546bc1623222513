export { applyFhirPathPatch, parseFhirPathPatch } from './apply-fhirpath-patch.js';
export { applyJsonPatch, parseJsonPatch } from './apply-json-patch.js';
