// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IConsortiumRegistry} from "./IConsortiumRegistry.sol";

/// @title ConsentRegistry: patient-signed consent grants and revocations.
/// @notice A patient signs a Grant or a Revoke as EIP-712 typed data; any active consortium member
///         may relay it. No member can forge or alter a consent: the contract checks the patient's
///         signature. The grant's terms (data categories, purposes of use) never reach the chain: the
///         patient signs them as the nested EIP-712 struct
///         Terms(uint256 categories,uint256 purposes,bytes32 salt), and the relayer sends only its
///         struct hash, a salted commitment (decision 0013). The opening (terms, salt, signature) goes
///         off chain to the members that enforce the grant, who check it against this commitment.
/// @dev No PHI and nothing that reveals a condition: a pseudonymous patient address, a grantee, a
///      validity window, a nonce and a 32-byte commitment, the same size for every grant.
///      A proxy or guardian acts for a ward only through a delegate key of that ward's own (decision
///      0021): the key signs DelegateKey(ward, delegate) to be registered, is bound to that one ward for
///      good, and may never have been, nor later become, a patient, a ward, a member or a practitioner.
///      So the chain shows the ward beside an address used for nothing else: never the guardian's own
///      account, and a guardian's two wards beside two addresses with nothing in common.
contract ConsentRegistry {
    /// @notice What is relayed and stored: the patient's signed Grant with its Terms replaced by their
    ///         EIP-712 struct hash (termsHash = hashStruct(Terms)), which is exactly how EIP-712 encodes
    ///         a nested struct, so the patient's signature over the full terms verifies against it.
    struct Grant {
        address patient;
        address grantee;
        bytes32 termsHash;
        uint64 notBefore;
        uint64 notAfter;
        uint256 nonce;
    }

    struct Revoke {
        address patient;
        bytes32 grantId;
        uint256 nonce;
    }

    /// @notice A patient's signed appointment of someone who may sign consent for them (a healthcare
    ///         proxy). Guardians of minors are attested by a member instead (attestGuardian).
    struct Delegation {
        address patient;
        address delegate;
        uint64 notBefore;
        uint64 notAfter;
        uint256 nonce;
    }

    struct DelegationRecord {
        address patient;
        address delegate;
        /// 1: healthcare proxy, signed by the patient; 2: guardian of a minor, attested by a member.
        uint8 kind;
        uint64 notBefore;
        uint64 notAfter;
        /// The member that attested a guardian (zero for a proxy).
        address attestedBy;
        bool revoked;
    }

    struct GrantRecord {
        Grant grant;
        address relayer;
        uint64 grantedAt;
        bool revoked;
        uint64 revokedAt;
        /// The ward's delegate key that signed the grant (zero when the patient did). The grant is in
        /// force only while that key's delegation is (decision 0021).
        address signedBy;
    }

    error NotActiveMember(address account);
    error InvalidSignature();
    error NonceAlreadyUsed(uint256 expected, uint256 got);
    error NonceOutOfOrder(uint256 expected, uint256 got);
    error InvalidValidity(uint64 notBefore, uint64 notAfter);
    error EmptyTerms();
    error InvalidGrantee(address grantee);
    error GrantNotFound(bytes32 grantId);
    error NotGrantPatient(bytes32 grantId, address patient);
    error AlreadyRevoked(bytes32 grantId);
    error InvalidDelegate(address delegate);
    error DelegationNotFound(bytes32 delegationId);
    error DelegationExists(bytes32 delegationId);
    error NotDelegationAttester(bytes32 delegationId, address account);
    /// The delegate key's own DelegateKey(ward, delegate) signature is missing, malformed or by another key.
    error InvalidDelegateSignature(address delegate);
    /// The address already has another role: a delegate key of another ward, a patient or ward, a member
    /// or a practitioner (a delegate key is single-use, decision 0021); or a delegate key acting as a patient.
    error DelegateKeyInUse(address account);

    event ConsentGranted(
        bytes32 indexed grantId,
        address indexed patient,
        address indexed grantee,
        bytes32 termsHash,
        uint64 notBefore,
        uint64 notAfter,
        uint256 nonce,
        address relayer
    );
    event ConsentRevoked(
        bytes32 indexed grantId, address indexed patient, uint64 revokedAt, uint256 nonce, address relayer
    );

    event DelegationRegistered(
        bytes32 indexed delegationId,
        address indexed patient,
        address indexed delegate,
        uint8 kind,
        uint64 notBefore,
        uint64 notAfter,
        address attestedBy
    );
    event DelegationRevoked(bytes32 indexed delegationId, address indexed patient, address indexed delegate);
    /// @notice Emitted beside ConsentGranted / ConsentRevoked when a delegate, not the patient, signed.
    event SignedByDelegate(bytes32 indexed consentId, address indexed patient, address indexed delegate);

    // EIP-712 §"Definition of hashStruct": typeHash = keccak256(encodeType(T)); §"Definition of
    // encodeType": referenced struct types are appended, sorted by name.
    bytes32 public constant GRANT_TYPEHASH = keccak256(
        "Grant(address patient,address grantee,Terms terms,uint64 notBefore,uint64 notAfter,uint256 nonce)Terms(uint256 categories,uint256 purposes,bytes32 salt)"
    );
    bytes32 public constant REVOKE_TYPEHASH = keccak256("Revoke(address patient,bytes32 grantId,uint256 nonce)");
    bytes32 public constant DELEGATION_TYPEHASH =
        keccak256("Delegation(address patient,address delegate,uint64 notBefore,uint64 notAfter,uint256 nonce)");
    /// @notice Signed by the delegate key itself: it accepts to act for `ward`, and for no one else.
    bytes32 public constant DELEGATE_KEY_TYPEHASH = keccak256("DelegateKey(address ward,address delegate)");
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    string private constant NAME = "CareLedger ConsentRegistry";
    string private constant VERSION = "1";

    // secp256k1n / 2: signatures with a larger s are the malleable twin of a valid one (EIP-2).
    uint256 private constant HALF_CURVE_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    IConsortiumRegistry public immutable registry;

    uint256 private immutable _cachedChainId;
    bytes32 private immutable _cachedDomainSeparator;

    /// @notice The next nonce the patient must use; grants and revocations share the sequence.
    mapping(address => uint256) public nonces;

    mapping(bytes32 => GrantRecord) private _grants;
    mapping(address => bytes32[]) private _grantsOf;

    mapping(bytes32 => DelegationRecord) private _delegations;
    /// @notice The latest delegation of `patient` to `delegate` (a new one replaces the old).
    mapping(address => mapping(address => bytes32)) public delegationOf;

    /// @notice The one ward a delegate key acts for, for good (decision 0021); zero if it is none.
    mapping(address => address) public wardOf;
    /// @notice Whether the address has ever had a delegation registered for it (as the ward).
    mapping(address => bool) public isWard;

    modifier onlyActiveMember() {
        if (!registry.isActiveMember(msg.sender)) revert NotActiveMember(msg.sender);
        _;
    }

    constructor(IConsortiumRegistry registry_) {
        registry = registry_;
        _cachedChainId = block.chainid;
        _cachedDomainSeparator = _buildDomainSeparator();
    }

    // ------------------------------------------------------------------ writes

    /// @notice Records a patient-signed grant.
    /// @return grantId The EIP-712 digest of the grant, keccak256("\x19\x01" ‖ domainSeparator ‖
    ///         hashStruct(grant)): exactly what the patient signed. It is unique because the nonce is
    ///         consumed, and anyone can recompute it off chain (src/ledger/eip712.ts computeGrantId).
    function relayGrant(Grant calldata g, bytes calldata signature) external onlyActiveMember returns (bytes32 grantId) {
        if (g.notAfter <= g.notBefore) revert InvalidValidity(g.notBefore, g.notAfter);
        if (g.termsHash == bytes32(0)) revert EmptyTerms();
        if (g.grantee == address(0) || g.grantee == g.patient) revert InvalidGrantee(g.grantee);
        _useNonce(g.patient, g.nonce);
        grantId = hashGrant(g);
        address signer = _verifyPatientOrDelegate(grantId, signature, g.patient);

        GrantRecord storage rec = _grants[grantId];
        rec.grant = g;
        rec.relayer = msg.sender;
        if (signer != g.patient) rec.signedBy = signer;
        rec.grantedAt = uint64(block.timestamp);
        _grantsOf[g.patient].push(grantId);
        emit ConsentGranted(grantId, g.patient, g.grantee, g.termsHash, g.notBefore, g.notAfter, g.nonce, msg.sender);
    }

    /// @notice Records a patient-signed revocation; it takes effect from this block on.
    function relayRevoke(Revoke calldata r, bytes calldata signature) external onlyActiveMember {
        GrantRecord storage rec = _grants[r.grantId];
        if (rec.grant.patient == address(0)) revert GrantNotFound(r.grantId);
        if (rec.grant.patient != r.patient) revert NotGrantPatient(r.grantId, r.patient);
        if (rec.revoked) revert AlreadyRevoked(r.grantId);
        _useNonce(r.patient, r.nonce);
        _verifyPatientOrDelegate(r.grantId, _recover(hashRevoke(r), signature), r.patient);

        rec.revoked = true;
        rec.revokedAt = uint64(block.timestamp);
        emit ConsentRevoked(r.grantId, r.patient, uint64(block.timestamp), r.nonce, msg.sender);
    }

    /// @notice Records a patient-signed appointment of a healthcare proxy, who may then sign grants and
    ///         revocations for the patient within [notBefore, notAfter). Uses the patient's nonce.
    ///         `delegateSignature` is the delegate key's DelegateKey(patient, delegate) signature.
    function relayDelegation(Delegation calldata d, bytes calldata signature, bytes calldata delegateSignature)
        external
        onlyActiveMember
        returns (bytes32 delegationId)
    {
        if (d.notAfter <= d.notBefore) revert InvalidValidity(d.notBefore, d.notAfter);
        if (d.delegate == address(0) || d.delegate == d.patient) revert InvalidDelegate(d.delegate);
        _useNonce(d.patient, d.nonce);
        delegationId = hashDelegation(d);
        _verifySignature(delegationId, signature, d.patient);
        _bindDelegateKey(d.patient, d.delegate, delegateSignature);
        _storeDelegation(delegationId, d.patient, d.delegate, 1, d.notBefore, d.notAfter, address(0));
    }

    /// @notice A member attests that the holder of `guardian`, a delegate key for this ward only, is the
    ///         legal guardian of the minor `patient` (who cannot sign), valid within [notBefore, notAfter)
    ///         and while the member stays active. `guardianSignature` is the key's DelegateKey(patient,
    ///         guardian) signature.
    function attestGuardian(
        address patient,
        address guardian,
        uint64 notBefore,
        uint64 notAfter,
        bytes calldata guardianSignature
    ) external onlyActiveMember returns (bytes32 delegationId) {
        if (notAfter <= notBefore) revert InvalidValidity(notBefore, notAfter);
        if (guardian == address(0) || guardian == patient || patient == address(0)) revert InvalidDelegate(guardian);
        if (wardOf[patient] != address(0)) revert DelegateKeyInUse(patient);
        delegationId = keccak256(abi.encode("guardian", patient, guardian, msg.sender, notBefore, notAfter));
        if (_delegations[delegationId].patient != address(0)) revert DelegationExists(delegationId);
        _bindDelegateKey(patient, guardian, guardianSignature);
        _storeDelegation(delegationId, patient, guardian, 2, notBefore, notAfter, msg.sender);
    }

    /// @notice Ends a delegation: a guardianship by the member that attested it; a proxy by the patient's
    ///         signed Revoke naming the delegation id (relayed by any member).
    function revokeDelegation(bytes32 delegationId, Revoke calldata r, bytes calldata signature) external onlyActiveMember {
        DelegationRecord storage rec = _delegations[delegationId];
        if (rec.patient == address(0)) revert DelegationNotFound(delegationId);
        if (rec.revoked) revert AlreadyRevoked(delegationId);
        if (rec.kind == 2) {
            if (rec.attestedBy != msg.sender) revert NotDelegationAttester(delegationId, msg.sender);
        } else {
            if (r.grantId != delegationId) revert DelegationNotFound(r.grantId);
            if (r.patient != rec.patient) revert NotGrantPatient(delegationId, r.patient);
            _useNonce(r.patient, r.nonce);
            _verifySignature(hashRevoke(r), signature, r.patient);
        }
        rec.revoked = true;
        emit DelegationRevoked(delegationId, rec.patient, rec.delegate);
    }

    // ------------------------------------------------------------------ views

    /// @notice Whether `delegate` may sign consent for `patient` at `timestamp`: a proxy appointed by the
    ///         patient, or a guardian attested by a member that is still active; not revoked, in its window.
    function isDelegate(address patient, address delegate, uint64 timestamp) public view returns (bool) {
        if (delegate == address(0)) return false;
        DelegationRecord storage rec = _delegations[delegationOf[patient][delegate]];
        if (rec.patient == address(0) || rec.revoked) return false;
        if (timestamp < rec.notBefore || timestamp >= rec.notAfter) return false;
        return rec.kind != 2 || registry.isActiveMember(rec.attestedBy);
    }

    function getDelegation(bytes32 delegationId) external view returns (DelegationRecord memory) {
        DelegationRecord memory rec = _delegations[delegationId];
        if (rec.patient == address(0)) revert DelegationNotFound(delegationId);
        return rec;
    }

    /// @notice True iff grant `grantId` is recorded, unrevoked, valid at `timestamp` (notBefore <= timestamp
    ///         < notAfter), and was given either to `grantee` itself or to the organization that attests
    ///         `grantee` as a practitioner valid at `timestamp`. What it covers is not on chain: the
    ///         enforcing member checks the request against the grant's opening (decision 0013).
    /// @dev Revocation is read as it is now (a revoked grant is never in force, whatever `timestamp`).
    function isGrantInForce(bytes32 grantId, address grantee, uint64 timestamp) external view returns (bool) {
        GrantRecord storage rec = _grants[grantId];
        Grant storage g = rec.grant;
        if (g.patient == address(0) || rec.revoked) return false;
        if (timestamp < g.notBefore || timestamp >= g.notAfter) return false;
        // A grant a delegate signed holds only while that delegate may sign for the patient (decision 0021).
        if (rec.signedBy != address(0) && !isDelegate(g.patient, rec.signedBy, timestamp)) return false;
        if (g.grantee == grantee) return true;
        (bool practitionerValid, address organization) = registry.practitionerStatus(grantee, timestamp);
        return practitionerValid && g.grantee == organization;
    }

    function getGrant(bytes32 grantId) external view returns (GrantRecord memory) {
        GrantRecord memory rec = _grants[grantId];
        if (rec.grant.patient == address(0)) revert GrantNotFound(grantId);
        return rec;
    }

    /// @notice Every grant id of `patient`, revoked ones included, in relay order.
    function grantsOf(address patient) external view returns (bytes32[] memory) {
        return _grantsOf[patient];
    }

    /// @notice The EIP-712 digest of a grant, which is also its grantId. The nested Terms struct is
    ///         encoded as its hashStruct (EIP-712 §"Definition of encodeData"), i.e. g.termsHash.
    function hashGrant(Grant calldata g) public view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(GRANT_TYPEHASH, g.patient, g.grantee, g.termsHash, g.notBefore, g.notAfter, g.nonce)
        );
        return _toTypedDataHash(structHash);
    }

    function hashDelegation(Delegation calldata d) public view returns (bytes32) {
        return _toTypedDataHash(
            keccak256(abi.encode(DELEGATION_TYPEHASH, d.patient, d.delegate, d.notBefore, d.notAfter, d.nonce))
        );
    }

    function hashDelegateKey(address ward, address delegate) public view returns (bytes32) {
        return _toTypedDataHash(keccak256(abi.encode(DELEGATE_KEY_TYPEHASH, ward, delegate)));
    }

    function hashRevoke(Revoke calldata r) public view returns (bytes32) {
        return _toTypedDataHash(keccak256(abi.encode(REVOKE_TYPEHASH, r.patient, r.grantId, r.nonce)));
    }

    function domainSeparator() public view returns (bytes32) {
        // Recompute after a chain split so signatures for one chain are not valid on the other.
        return block.chainid == _cachedChainId ? _cachedDomainSeparator : _buildDomainSeparator();
    }

    /// @notice EIP-5267: lets wallets and viem's getEip712Domain discover the signing domain.
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        return (hex"0f", NAME, VERSION, block.chainid, address(this), bytes32(0), new uint256[](0));
    }

    // ------------------------------------------------------------------ internals

    function _useNonce(address patient, uint256 got) private {
        // A delegate key acts for its ward only: it never signs as a patient (decision 0021).
        if (wardOf[patient] != address(0)) revert DelegateKeyInUse(patient);
        uint256 expected = nonces[patient];
        if (got < expected) revert NonceAlreadyUsed(expected, got);
        if (got > expected) revert NonceOutOfOrder(expected, got);
        nonces[patient] = expected + 1;
    }

    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256(bytes(NAME)), keccak256(bytes(VERSION)), block.chainid, address(this))
        );
    }

    function _toTypedDataHash(bytes32 structHash) private view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(), structHash));
    }

    function _storeDelegation(
        bytes32 id,
        address patient,
        address delegate,
        uint8 kind,
        uint64 notBefore,
        uint64 notAfter,
        address attestedBy
    ) private {
        _delegations[id] = DelegationRecord(patient, delegate, kind, notBefore, notAfter, attestedBy, false);
        delegationOf[patient][delegate] = id;
        isWard[patient] = true;
        emit DelegationRegistered(id, patient, delegate, kind, notBefore, notAfter, attestedBy);
    }

    /// @dev Decision 0021. The delegate key proves possession by signing DelegateKey(ward, delegate), and is
    ///      single-use: bound to this ward for good, and never a patient (no nonce used), a ward, a member
    ///      or a practitioner. A renewal for the same ward is allowed.
    function _bindDelegateKey(address ward, address delegate, bytes calldata signature) private {
        if (signature.length != 65 || _tryRecover(hashDelegateKey(ward, delegate), signature) != delegate) {
            revert InvalidDelegateSignature(delegate);
        }
        address bound = wardOf[delegate];
        if (bound == ward) return;
        if (bound != address(0) || nonces[delegate] != 0 || isWard[delegate] || registry.isActiveMember(delegate)) {
            revert DelegateKeyInUse(delegate);
        }
        (bool practitioner,) = registry.practitionerStatus(delegate, uint64(block.timestamp));
        if (practitioner) revert DelegateKeyInUse(delegate);
        wardOf[delegate] = ward;
    }

    /// @dev The signer of a consent change must be the patient, or someone who may sign for them now.
    function _verifyPatientOrDelegate(bytes32 digest, bytes calldata signature, address patient)
        private
        returns (address signer)
    {
        return _verifyPatientOrDelegate(digest, _recover(digest, signature), patient);
    }

    function _verifyPatientOrDelegate(bytes32 consentId, address signer, address patient) private returns (address) {
        if (signer == patient) return signer;
        if (!isDelegate(patient, signer, uint64(block.timestamp))) revert InvalidSignature();
        emit SignedByDelegate(consentId, patient, signer);
        return signer;
    }

    function _verifySignature(bytes32 digest, bytes calldata signature, address expectedSigner) private pure {
        if (_recover(digest, signature) != expectedSigner) revert InvalidSignature();
    }

    /// @dev ecrecover with the checks OpenZeppelin's ECDSA.tryRecover makes: 65-byte r‖s‖v, v in
    ///      {27, 28}, s in the lower half of the curve order (EIP-2), and a non-zero signer.
    function _recover(bytes32 digest, bytes calldata signature) private pure returns (address signer) {
        if (signature.length != 65) revert InvalidSignature();
        signer = _tryRecover(digest, signature);
        if (signer == address(0)) revert InvalidSignature();
    }

    /// @dev As _recover, but zero instead of a revert for a bad signature. `signature` is 65 bytes.
    function _tryRecover(bytes32 digest, bytes calldata signature) private pure returns (address) {
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (uint256(s) > HALF_CURVE_ORDER || (v != 27 && v != 28)) return address(0);
        return ecrecover(digest, v, r, s);
    }
}
