export {
  isFhirId,
  type KeptReference,
  type RewrittenBundle,
  type RewrittenEntry,
  rewriteBundleReferences,
  type UnusableEntry,
} from './rewrite-bundle-references.js';
