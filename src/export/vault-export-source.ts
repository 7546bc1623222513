import type { Group } from '@medplum/fhirtypes';
import type { FhirRepository } from '../vault/fhir-repository.js';
import type { ExportSource } from './export-source.js';

/**
 * The export's reads through the vault's gateway: pages, admission and per-patient audit from the
 * repository's bulk read gateway; the Group through an ordinary (access-checked, audited) read.
 */
export function createVaultExportSource(repository: FhirRepository): ExportSource {
  const gateway = repository.bulkReadGateway();
  return {
    admit: (context, types, entity) => gateway.admit(context, types, entity),
    inScope: (context, type) => gateway.inScope(context, type),
    readPage: (context, request) => gateway.readPage(context, request),
    recordExport: (context, entity, patients) => gateway.recordExport(context, entity, patients),
    withdrawn: (context, type, patientIds) => gateway.withdrawn(context, type, patientIds),
    readGroup: async (context, groupId) => (await repository.read('Group', groupId, context)) as Group,
  };
}
