/**
 * The OpenAPI document's components.schemas (openapi.ts); enumerations read from the modules that define them.
 */
import { ERROR_CODES } from '../errors/index.js';
import { ISSUE_TYPES } from '../fhir/fhir-issue.js';
import { ERROR_CODE_SYSTEM } from '../fhir/operation-outcome.js';
import {
  ALL_DATA_CATEGORIES,
  ALL_PURPOSES_OF_USE,
  consentTypes,
  DATA_CATEGORIES,
  MEMBER_ROLES,
  PURPOSES_OF_USE,
} from '../ledger/index.js';
import {
  bitTable,
  DECISION_VIA,
  DENIAL_REASONS,
  eip712Description,
  eip712Extension,
  HEX,
  nullable,
  OUTBOX_STATUSES,
  schema,
  uint,
} from './openapi-helpers.js';
import type { JsonSchema } from './openapi-types.js';

export const schemas: Record<string, JsonSchema> = {
  Address: {
    description: 'A 20-byte Ethereum address, hex (any case; answers use the EIP-55 checksum).',
    type: 'string',
    pattern: HEX(20),
    examples: ['0x70997970C51812dc3A010C7d01b50e0d17dc79C8'],
  },
  Bytes32: { type: 'string', pattern: HEX(32) },
  Hex: { type: 'string', pattern: '^0x([0-9a-fA-F]{2})*$' },
  Signature: {
    description: 'A 65-byte secp256k1 signature (r ‖ s ‖ v), as signTypedData returns it.',
    type: 'string',
    pattern: HEX(65),
  },
  DataCategory: {
    description: `A data category; on chain it is one bit of a uint256 mask: ${bitTable(DATA_CATEGORIES)}.`,
    type: 'string',
    enum: ALL_DATA_CATEGORIES,
  },
  PurposeOfUse: {
    description: `An HL7 v3 ActReason purpose of use; on chain one bit of a uint256 mask: ${bitTable(PURPOSES_OF_USE)}. Bits are independent: TREAT does not imply ETREAT.`,
    type: 'string',
    enum: ALL_PURPOSES_OF_USE,
  },
  MemberRole: { type: 'string', enum: Object.keys(MEMBER_ROLES) },
  Grant: {
    description: eip712Description(
      'Grant',
      'A patient’s consent grant, as ConsentRegistry defines it. The body is flat; the signed message nests categories, purposes and salt as `terms`, and the ledger receives only their EIP-712 hash (a salted commitment, decision 0013).',
    ),
    type: 'object',
    required: ['patient', 'grantee', 'categories', 'purposes', 'salt', 'notBefore', 'notAfter', 'nonce'],
    properties: {
      patient: { ...schema('Address'), description: 'The patient; the signature must recover to it.' },
      grantee: { ...schema('Address'), description: 'A member organization or a practitioner.' },
      categories: uint(
        `Bitmask of data categories (at least one, known bits only): ${bitTable(DATA_CATEGORIES)}.`,
      ),
      purposes: uint(
        `Bitmask of purposes of use (at least one, known bits only): ${bitTable(PURPOSES_OF_USE)}.`,
      ),
      salt: {
        ...schema('Bytes32'),
        description: '32 random bytes, fresh for every grant: the salt of the terms’ commitment.',
      },
      notBefore: uint('Unix seconds, inclusive (uint64).', 16),
      notAfter: uint('Unix seconds, exclusive (uint64); later than notBefore.', 16),
      nonce: uint('The patient’s next nonce.'),
    },
    'x-eip712': eip712Extension('Grant'),
  },
  Revoke: {
    description: eip712Description('Revoke', 'A patient’s revocation of one of their grants.'),
    type: 'object',
    required: consentTypes.Revoke.map((f) => f.name),
    properties: {
      patient: schema('Address'),
      grantId: { ...schema('Bytes32'), description: 'The id of the grant to revoke.' },
      nonce: uint('The patient’s next nonce.'),
    },
    'x-eip712': eip712Extension('Revoke'),
  },
  SignedGrant: {
    type: 'object',
    required: ['grant', 'signature'],
    properties: { grant: schema('Grant'), signature: schema('Signature') },
  },
  SignedRevoke: {
    type: 'object',
    required: ['revoke', 'signature'],
    properties: { revoke: schema('Revoke'), signature: schema('Signature') },
  },
  MemberCandidate: {
    description: 'An organization proposed for admission to the consortium.',
    type: 'object',
    required: ['account', 'name', 'role', 'fhirBaseUrl', 'logOrigin', 'logVerifierKey'],
    properties: {
      account: schema('Address'),
      name: { type: 'string', minLength: 1 },
      role: schema('MemberRole'),
      fhirBaseUrl: { type: 'string', minLength: 1, format: 'uri' },
      logOrigin: { type: 'string', minLength: 1, description: 'The C2SP checkpoint origin of its log.' },
      logVerifierKey: {
        type: 'string',
        minLength: 1,
        description: 'The signed-note verifier key of its log.',
      },
      encryptionPublicKey: { ...schema('Hex'), description: 'Default 0x.' },
    },
  },
  PractitionerAttestation: {
    description:
      'This member attests that a practitioner key belongs to one of its staff. With `credential` (their licence, a vc+jwt verified on the ledger) the hash, qualification and expiry come from it; without it the other fields are required, and a node that requires licences refuses (decision 0028).',
    type: 'object',
    required: ['practitioner'],
    properties: {
      practitioner: schema('Address'),
      credential: { type: 'string', description: 'The licence as vc+jwt.' },
      credentialHash: {
        ...schema('Bytes32'),
        description: 'A keyed hash of the credential, never the credential.',
      },
      qualificationCode: { type: 'string', minLength: 1 },
      expiresAt: {
        description: 'Unix seconds.',
        type: ['integer', 'string'],
        pattern: '^[1-9][0-9]*$',
        minimum: 1,
      },
    },
  },
  OperationOutcome: {
    description:
      'FHIR R4 OperationOutcome (http://hl7.org/fhir/R4/operationoutcome.html), the shape of every error. issue[0] reports the error; further issues (e.g. FHIR validation findings) may follow.',
    type: 'object',
    required: ['resourceType', 'issue'],
    properties: {
      resourceType: { const: 'OperationOutcome' },
      issue: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          required: ['severity', 'code'],
          properties: {
            severity: { enum: ['fatal', 'error', 'warning', 'information'] },
            code: { enum: ISSUE_TYPES, description: 'R4 IssueType.' },
            diagnostics: { type: 'string', description: 'A sentence for people; never PHI.' },
            details: {
              type: 'object',
              description: 'On issue[0]: the CareLedger error code, to switch on.',
              properties: {
                coding: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: ['system', 'code'],
                    properties: { system: { const: ERROR_CODE_SYSTEM }, code: { enum: ERROR_CODES } },
                  },
                },
                text: { enum: ERROR_CODES },
              },
            },
            expression: { type: 'array', items: { type: 'string' }, description: 'FHIRPath of the element.' },
          },
        },
      },
    },
  },
  SyncStatus: {
    description: 'How far this node’s ledger index has followed the chain.',
    type: 'object',
    required: ['headBlock', 'indexedBlock', 'lagBlocks', 'lagSeconds', 'lastError', 'reorgs', 'events'],
    properties: {
      headBlock: { type: nullable('integer') },
      indexedBlock: { type: nullable('integer') },
      lagBlocks: { type: nullable('integer') },
      lagSeconds: { type: nullable('number'), description: 'Age of the newest indexed block.' },
      lastError: { type: nullable('string') },
      reorgs: { type: 'integer' },
      events: { type: 'integer' },
    },
  },
  LogStatus: {
    type: 'object',
    required: [
      'origin',
      'size',
      'checkpointSize',
      'cosignedSize',
      'witnesses',
      'anchoredSize',
      'lastAnchorError',
    ],
    properties: {
      origin: { type: 'string' },
      size: { type: 'integer' },
      checkpointSize: { type: nullable('integer') },
      cosignedSize: { type: nullable('integer') },
      witnesses: {
        type: 'object',
        required: ['total', 'quorum'],
        properties: { total: { type: 'integer' }, quorum: { type: 'integer' } },
      },
      anchoredSize: { type: nullable('integer') },
      lastAnchorError: { type: nullable('string') },
    },
  },
  NodeStatus: {
    type: 'object',
    required: [
      'name',
      'organization',
      'role',
      'address',
      'publicUrl',
      'logOrigin',
      'chain',
      'sync',
      'outbox',
      'log',
    ],
    properties: {
      name: { type: 'string' },
      organization: { type: 'string' },
      role: schema('MemberRole'),
      address: { ...schema('Address'), description: 'The node’s ledger account (it relays and pays gas).' },
      publicUrl: { type: 'string' },
      logOrigin: { type: 'string' },
      chain: {
        type: 'object',
        required: ['rpcUrl', 'chainId', 'contracts'],
        properties: {
          rpcUrl: { type: 'string' },
          chainId: { type: 'integer', description: 'The EIP-712 domain chainId.' },
          contracts: {
            type: 'object',
            required: ['consortiumRegistry', 'consentRegistry', 'checkpointAnchor'],
            properties: {
              consortiumRegistry: schema('Address'),
              consentRegistry: { ...schema('Address'), description: 'The EIP-712 domain verifyingContract.' },
              checkpointAnchor: schema('Address'),
              recordLocator: {
                ...schema('Address'),
                description: 'Absent for deployments made before RecordLocator existed.',
              },
            },
          },
        },
      },
      sync: schema('SyncStatus'),
      outbox: {
        type: 'object',
        description: 'Transactions this node sent, by status.',
        required: Object.keys(OUTBOX_STATUSES),
        properties: Object.fromEntries(Object.keys(OUTBOX_STATUSES).map((s) => [s, { type: 'integer' }])),
      },
      log: schema('LogStatus'),
    },
  },
  OutboxTransaction: {
    description: 'A transaction this node signed and stored in its outbox (stored = acknowledged).',
    type: 'object',
    required: ['outboxId', 'txHash', 'status'],
    properties: {
      outboxId: { type: 'integer' },
      txHash: schema('Bytes32'),
      status: { enum: Object.keys(OUTBOX_STATUSES) },
      blockNumber: { type: nullable('integer') },
      receiptStatus: { enum: ['success', 'reverted', null] },
    },
  },
  RelayReceipt: {
    allOf: [
      schema('OutboxTransaction'),
      {
        type: 'object',
        required: ['grantId', 'logIndex', 'logProof'],
        properties: {
          grantId: schema('Bytes32'),
          logIndex: {
            type: 'integer',
            minimum: 0,
            description: "The relay's entry in this node's transparency log.",
          },
          logProof: {
            type: 'string',
            description: 'Path of the C2SP tlog-proof of that entry, e.g. /log/proof/12.',
          },
        },
      },
    ],
  },
  ProposalReceipt: {
    allOf: [
      schema('OutboxTransaction'),
      {
        type: 'object',
        required: ['proposalId', 'executed'],
        properties: {
          proposalId: { type: nullable('string'), pattern: '^[0-9]+$' },
          executed: {
            type: 'boolean',
            description: 'True when this proposal already reached its threshold.',
          },
        },
      },
    ],
  },
  GrantRecord: {
    description:
      'A grant as this node’s ledger index holds it: its terms only as their salted commitment (decision 0013).',
    type: 'object',
    required: [
      'grantId',
      'patient',
      'grantee',
      'termsHash',
      'notBefore',
      'notAfter',
      'nonce',
      'revokedAt',
      'blockNumber',
      'txHash',
    ],
    properties: {
      grantId: schema('Bytes32'),
      patient: schema('Address'),
      grantee: schema('Address'),
      termsHash: {
        ...schema('Bytes32'),
        description: 'EIP-712 hashStruct(Terms(categories, purposes, salt)).',
      },
      notBefore: { type: 'integer' },
      notAfter: { type: 'integer' },
      nonce: { type: 'string', pattern: '^[0-9]+$' },
      revokedAt: { type: nullable('integer') },
      blockNumber: { type: 'integer' },
      txHash: schema('Bytes32'),
    },
  },
  Member: {
    type: 'object',
    required: [
      'address',
      'name',
      'role',
      'fhirBaseUrl',
      'logOrigin',
      'logVerifierKey',
      'encryptionPublicKey',
      'status',
      'admittedBlock',
    ],
    properties: {
      address: schema('Address'),
      name: { type: 'string' },
      role: {
        type: 'string',
        enum: Object.keys(MEMBER_ROLES),
        description: 'The member role by name (on chain a uint8 of ConsortiumRegistry).',
      },
      fhirBaseUrl: { type: 'string' },
      logOrigin: { type: 'string' },
      logVerifierKey: { type: 'string' },
      encryptionPublicKey: schema('Hex'),
      status: { enum: ['active', 'removed'] },
      admittedBlock: { type: 'integer' },
    },
  },
  ConsentDecision: {
    description:
      'Decided from this node’s ledger index as of indexedBlock (the rule of ConsentRegistry.isPermitted).',
    oneOf: [
      {
        type: 'object',
        required: ['allowed', 'grantId', 'via', 'indexedBlock'],
        properties: {
          allowed: { const: true },
          grantId: schema('Bytes32'),
          via: {
            enum: Object.keys(DECISION_VIA),
            description:
              'organization: a grant to the organization that attests the grantee as its practitioner.',
          },
          indexedBlock: { type: nullable('integer') },
        },
      },
      {
        type: 'object',
        required: ['allowed', 'reason', 'indexedBlock'],
        properties: {
          allowed: { const: false },
          reason: { enum: Object.keys(DENIAL_REASONS) },
          indexedBlock: { type: nullable('integer') },
        },
      },
    ],
  },
};
