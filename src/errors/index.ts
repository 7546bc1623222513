export { CareLedgerError, ERROR_CODES, type ErrorCode, isCareLedgerError } from './careledger-error.js';
