export { type AccessDecision, type AccessScope, evaluateAccess } from './evaluate-access.js';
