export {
  computeGs1CheckDigit,
  isGs1CheckDigitValid,
  parseGtin,
  parseSscc,
} from './gs1-check-digit.js';
export {
  formatGs1DigitalLink,
  formatSgtinUri,
  GS1_RESOLVER,
  parseGs1DigitalLink,
} from './gs1-digital-link.js';
export {
  GROUP_SEPARATOR,
  type Gs1Element,
  type Gs1ElementString,
  parseGs1Date,
  parseGs1ElementString,
} from './parse-gs1-element-string.js';
