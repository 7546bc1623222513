import { formatDuration } from '../progress-bar.js';

/** Why a resource was not sent; the only reason today. */
export const SKIPPED_NOT_SERVED = 'type not served by this node';
/** An OperationOutcome issue as reported: what the node said and where, never resource content. */
export interface ImportIssue {
  readonly severity?: string;
  readonly code?: string;
  readonly diagnostics?: string;
  readonly expression?: readonly string[];
}

export interface ImportFailure {
  readonly file: string;
  /** NDJSON: 1-based line. */
  readonly line?: number;
  /** Bundle: 0-based entry index. */
  readonly entry?: number;
  readonly resourceType?: string;
  readonly id?: string;
  /** HTTP status; 0 when no answer was had (connection error) or the input was not sent at all. */
  readonly status: number;
  readonly issues: readonly ImportIssue[];
}

export interface ImportSummary {
  readonly node: string;
  readonly files: number;
  /** Files of a folder that were left out as not FHIR (a bulk export's log.ndjson). */
  readonly ignoredFiles: readonly string[];
  /** Items in all the files. */
  readonly resources: number;
  /** Done by an earlier run (from the state file): not read, not sent. */
  readonly alreadyDone: number;
  /** Answered 201 or 200. */
  readonly loaded: number;
  readonly created: number;
  /** Answered 200: the resource existed, the node stored a new version. */
  readonly updated: number;
  readonly skipped: {
    readonly reason: string;
    readonly total: number;
    readonly byType: Record<string, number>;
  };
  readonly failed: number;
  /** HTTP requests sent (transaction Bundles and single PUTs), retries included. */
  readonly requests: number;
  readonly retries: number;
  /** Conditional references (`Type?identifier=…`) rewritten to `Type/id` before sending. */
  readonly resolvedConditionalReferences: number;
  /** Conditional references that matched no resource or several: sent as they are. */
  readonly conditionalReferences: number;
  /** `urn:uuid:` references to no entry of their bundle, sent as they are. */
  readonly unresolvedReferences: number;
  /** True when the run was interrupted; `remaining` resources were not processed. */
  readonly interrupted: boolean;
  readonly remaining: number;
  readonly elapsedMs: number;
  /** Loaded resources per second of elapsed time. */
  readonly resourcesPerSecond: number;
  readonly reportFile: string;
  readonly stateFile: string;
}

export interface ImportResult {
  readonly summary: ImportSummary;
  readonly failures: readonly ImportFailure[];
}

export function sortKeys(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The human summary printed at the end of an import. */
export function formatImportSummary(summary: ImportSummary): string {
  const lines = [
    `${summary.interrupted ? 'Interrupted' : 'Imported'} ${summary.files} file(s) into ${summary.node}: ` +
      `${summary.loaded} loaded (${summary.created} created, ${summary.updated} updated), ` +
      `${summary.failed} failed, ${summary.skipped.total} skipped` +
      (summary.alreadyDone > 0 ? `, ${summary.alreadyDone} already done by an earlier run` : ''),
  ];
  const types = Object.entries(summary.skipped.byType);
  if (types.length > 0)
    lines.push(`skipped: ${summary.skipped.reason}: ${types.map(([t, n]) => `${t} ${n}`).join(', ')}`);
  if (summary.resolvedConditionalReferences > 0)
    lines.push(
      `${summary.resolvedConditionalReferences} conditional reference(s) (Type?identifier=…) resolved to Type/id`,
    );
  if (summary.conditionalReferences > 0)
    lines.push(
      `note: ${summary.conditionalReferences} conditional reference(s) (Type?identifier=…) matched no single resource and were sent as they are`,
    );
  if (summary.unresolvedReferences > 0)
    lines.push(
      `note: ${summary.unresolvedReferences} urn:uuid reference(s) to no bundle entry were sent as they are`,
    );
  for (const file of summary.ignoredFiles) lines.push(`ignored: ${file} (a bulk export log, not FHIR)`);
  lines.push(
    `${formatDuration(summary.elapsedMs / 1000)}, ${summary.resourcesPerSecond} resources/s, ` +
      `${summary.requests} requests (${summary.retries} retries)`,
  );
  if (summary.interrupted)
    lines.push(`${summary.remaining} resource(s) left: run the same command again to resume`);
  if (summary.failed > 0) lines.push(`failures are listed in ${summary.reportFile}`);
  return lines.join('\n');
}
