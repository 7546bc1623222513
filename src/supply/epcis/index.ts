export { canonicalNumber, canonicalTimestamp, canonicalValue, cbvUrnToWebUri } from './canonical-value.js';
export { epcToDigitalLink } from './epc-to-digital-link.js';
export { computeEpcisEventHash, createEpcisPreHash, type EpcisHashOptions } from './event-hash.js';
export {
  type BizTransaction,
  type EpcisAction,
  type EpcisEvent,
  type EpcisEventType,
  parseEpcisEvent,
  type QuantityElement,
  type SourceOrDestination,
} from './parse-epcis-event.js';
