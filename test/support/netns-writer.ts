/**
 * A clinic workstation on a member's own network: run inside the member's namespace (`ip netns exec`),
 * it writes MedicationDispense records to the member's node over HTTPS (trusting the consortium CA
 * through NODE_EXTRA_CA_CERTS), two at a time, and prints one JSON line per write the node
 * acknowledged (201): `{"id": …}`. A write that fails is not acknowledged and is only counted.
 *
 * With NETNS_WRITER_GRANT (a patient's signed grant, the JSON body of POST /ledger/consent/grants),
 * the patient at the desk also asks this node to relay it, without waiting for the chain; the
 * node's answer (status, Retry-After, body) is printed as `{"relay": …}`.
 *
 * Environment: NETNS_WRITER_FHIR (the FHIR base URL), NETNS_WRITER_TOKEN (a bearer token),
 * NETNS_WRITER_PATIENT (a Patient id at that node), NETNS_WRITER_COUNT (how many writes).
 */
const base = process.env.NETNS_WRITER_FHIR ?? '';
const token = process.env.NETNS_WRITER_TOKEN ?? '';
const patient = process.env.NETNS_WRITER_PATIENT ?? '';
const count = Number(process.env.NETNS_WRITER_COUNT ?? '0');

let next = 0;
let failed = 0;

async function writeOne(i: number): Promise<void> {
  const response = await fetch(`${base}/MedicationDispense`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/fhir+json',
      accept: 'application/fhir+json',
    },
    body: JSON.stringify({
      resourceType: 'MedicationDispense',
      status: 'completed',
      medicationCodeableConcept: {
        coding: [
          {
            system: 'http://www.nlm.nih.gov/research/umls/rxnorm',
            code: '197361',
            display: 'Amlodipine 5 MG',
          },
        ],
      },
      subject: { reference: `Patient/${patient}` },
      quantity: { value: 30 + i, unit: 'tablet' },
    }),
    signal: AbortSignal.timeout(20_000),
  });
  const body = (await response.json().catch(() => ({}))) as { id?: string };
  if (response.status !== 201 || body.id === undefined) {
    failed++;
    process.stderr.write(`write ${i}: ${response.status} ${JSON.stringify(body).slice(0, 300)}\n`);
    return;
  }
  process.stdout.write(`${JSON.stringify({ id: body.id })}\n`);
}

async function lane(): Promise<void> {
  for (let i = next++; i < count; i = next++) {
    await writeOne(i).catch((error: Error) => {
      failed++;
      process.stderr.write(
        `write ${i}: ${error.message} ${String((error.cause as Error | undefined)?.message ?? '')}\n`,
      );
    });
  }
}

async function relay(body: string): Promise<void> {
  const response = await fetch(`${base.replace(/\/fhir$/, '')}/ledger/consent/grants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(20_000),
  });
  const retryAfter = response.headers.get('retry-after');
  process.stdout.write(
    `${JSON.stringify({ relay: { http: response.status, retryAfter, body: await response.json() } })}\n`,
  );
}

const grant = process.env.NETNS_WRITER_GRANT;
await Promise.all([lane(), lane(), ...(grant === undefined ? [] : [relay(grant)])]);
process.stderr.write(`failed: ${failed}\n`);
