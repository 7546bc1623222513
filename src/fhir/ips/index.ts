export {
  type CreateIpsDocumentInput,
  createIpsDocument,
  escapeXml,
  type IpsAuthor,
} from './create-ips-document.js';
export {
  AUTHOR_SIGNATURE_TYPE,
  DOCUMENT_SIGNATURE_FAILURE_REASONS,
  type DocumentSignatureFailureReason,
  type DocumentSigner,
  SIGNATURE_FORMAT,
  SIGNATURE_TARGET_FORMAT,
  signDocument,
  type VerifiedDocumentSignature,
  type VerifyDocumentSignatureOptions,
  verifyDocumentSignature,
} from './sign-document.js';
