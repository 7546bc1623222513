/**
 * Synthea-shaped patients for the research benchmark at scale: a Patient with what Safe Harbor must
 * take out (names, SSN and record number, phone, street address, exact birth date, mother's maiden
 * name), US Core race and birth sex, then Conditions (SNOMED CT) and vital-sign and laboratory
 * Observations (LOINC, UCUM) referring to it, as Synthea writes them. Generated from a seeded
 * generator, so a run is repeatable; about 1,000 times faster to produce than cloning the bulk set,
 * and small enough (6 resources a patient on average) that 10^4 patients seed in minutes.
 */
import type { Resource } from '@medplum/fhirtypes';
import { createRandom } from '../../test/support/seeded-random.js';

export { createRandom };

const GIVEN = ['Ana', 'Ben', 'Chloe', 'Dev', 'Elif', 'Femi', 'Grace', 'Hugo', 'Ines', 'Jon', 'Kaia', 'Liam'];
const FAMILY = ['Okafor', 'Lindqvist', 'Moreau', 'Tanaka', 'Silva', 'Novak', 'Haddad', 'Byrne', 'Keller'];
/** ZIP codes of five 3-digit areas, one a prefix HHS lists as under 20,000 people (036 → 000). */
const ZIPS = ['02139', '02140', '02143', '01002', '01060', '03601', '02301', '02302', '02720', '02724'];
const CONDITIONS = [
  ['44054006', 'Diabetes mellitus type 2 (disorder)'],
  ['38341003', 'Hypertensive disorder, systemic arterial (disorder)'],
  ['195967001', 'Asthma (disorder)'],
  ['15777000', 'Prediabetes (finding)'],
  ['162864005', 'Body mass index 30+ - obesity (finding)'],
] as const;
const OBSERVATIONS = [
  ['vital-signs', '39156-5', 'Body mass index (BMI) [Ratio]', 'kg/m2', 18, 42],
  ['vital-signs', '29463-7', 'Body weight', 'kg', 45, 130],
  ['vital-signs', '8480-6', 'Systolic blood pressure', 'mm[Hg]', 95, 175],
  ['laboratory', '4548-4', 'Hemoglobin A1c/Hemoglobin.total in Blood', '%', 4.5, 11],
  ['laboratory', '2339-0', 'Glucose [Mass/volume] in Blood', 'mg/dL', 65, 260],
] as const;

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

function isoDate(year: number, random: () => number): string {
  const month = String(1 + Math.floor(random() * 12)).padStart(2, '0');
  const day = String(1 + Math.floor(random() * 28)).padStart(2, '0');
  return `${year}-${month}-${day}`;
}

/** Patient number `n` and their records; ids are `syn-<n>` and `syn-<n>-<kind><i>`. */
export function syntheticPatient(n: number, random: () => number): Resource[] {
  const id = `syn-${n}`;
  const subject = { reference: `Patient/${id}` };
  const sex = random() < 0.5 ? 'female' : 'male';
  const birthYear = 1930 + Math.floor(random() * 78);
  const given = pick(random, GIVEN);
  const family = pick(random, FAMILY);
  const patient = {
    resourceType: 'Patient',
    id,
    extension: [
      {
        url: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-race',
        extension: [
          {
            url: 'ombCategory',
            valueCoding: { system: 'urn:oid:2.16.840.1.113883.6.238', code: '2106-3', display: 'White' },
          },
          { url: 'text', valueString: 'White' },
        ],
      },
      {
        url: 'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName',
        valueString: `${pick(random, GIVEN)} ${pick(random, FAMILY)}`,
      },
      {
        url: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex',
        valueCode: sex === 'female' ? 'F' : 'M',
      },
    ],
    identifier: [
      { system: 'http://hospital.smarthealthit.org', value: `mrn-${n}` },
      {
        system: 'http://hl7.org/fhir/sid/us-ssn',
        value: `999-${String(n % 100).padStart(2, '0')}-${String(n % 10_000).padStart(4, '0')}`,
      },
    ],
    name: [{ use: 'official', family, given: [given], prefix: [sex === 'female' ? 'Ms.' : 'Mr.'] }],
    telecom: [{ system: 'phone', value: `555-${String(n % 10_000).padStart(4, '0')}`, use: 'home' }],
    gender: sex,
    birthDate: isoDate(birthYear, random),
    address: [
      {
        line: [`${1 + Math.floor(random() * 900)} ${family} Street`],
        city: 'Springfield',
        state: 'MA',
        postalCode: pick(random, ZIPS),
        country: 'US',
      },
    ],
  } as Resource;
  const resources: Resource[] = [patient];
  const conditions = 1 + Math.floor(random() * 2);
  for (let i = 0; i < conditions; i++) {
    const [code, display] = pick(random, CONDITIONS);
    const onset = `${isoDate(Math.max(birthYear + 18, 1990 + Math.floor(random() * 35)), random)}T09:30:00-05:00`;
    resources.push({
      resourceType: 'Condition',
      id: `${id}-c${i}`,
      clinicalStatus: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
      },
      verificationStatus: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }],
      },
      category: [
        {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/condition-category',
              code: 'encounter-diagnosis',
            },
          ],
        },
      ],
      code: { coding: [{ system: 'http://snomed.info/sct', code, display }], text: display },
      subject,
      onsetDateTime: onset,
      recordedDate: onset,
    } as Resource);
  }
  const observations = 2 + Math.floor(random() * 4);
  for (let i = 0; i < observations; i++) {
    const [category, code, display, unit, low, high] = pick(random, OBSERVATIONS);
    resources.push({
      resourceType: 'Observation',
      id: `${id}-o${i}`,
      status: 'final',
      category: [
        {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: category }],
        },
      ],
      code: { coding: [{ system: 'http://loinc.org', code, display }], text: display },
      subject,
      effectiveDateTime: `${isoDate(2000 + Math.floor(random() * 26), random)}T10:15:00-05:00`,
      valueQuantity: {
        value: Math.round((low + random() * (high - low)) * 10) / 10,
        unit,
        system: 'http://unitsofmeasure.org',
        code: unit,
      },
    } as Resource);
  }
  return resources;
}
