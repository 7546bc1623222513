/** One finding of `careledger node doctor` (the file and the PostgreSQL checks both make them). */
export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  readonly check: string;
  readonly status: CheckStatus;
  readonly message: string;
  /** What to do, for a warning or a failure. */
  readonly fix?: string;
}
