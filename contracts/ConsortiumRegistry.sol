// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IConsortiumRegistry} from "./IConsortiumRegistry.sol";

/// @title ConsortiumRegistry: who belongs to the CareLedger consortium.
/// @notice Members are admitted and removed by a k-of-n vote of the active members. Each member
///         registers the origin of its transparency log (C2SP tlog-checkpoint), which must be unique,
///         so CheckpointAnchor can tell who may anchor which log. Members attest their practitioners.
/// @dev Every revert is a named custom error; src/ledger/contract-errors.ts describes each one.
contract ConsortiumRegistry is IConsortiumRegistry {
    // Roles; the TypeScript mirror is MEMBER_ROLES in src/ledger/codes.ts. 0 is not a role.
    uint8 internal constant ROLE_PROVIDER = 1;
    /// @dev The highest role: a licensing board (issues practitioner credentials, decision 0018).
    uint8 internal constant ROLE_LICENSING_BOARD = 8;

    /// @notice Proposals not executed within this period can no longer be voted on.
    uint64 public constant PROPOSAL_LIFETIME = 7 days;

    enum MemberStatus {
        None,
        Active,
        Removed
    }

    enum ProposalKind {
        None,
        Admission,
        Removal
    }

    struct MemberInput {
        address account;
        string name;
        uint8 role;
        string fhirBaseUrl;
        string logOrigin;
        /// C2SP signed-note verifier key text, e.g. "example.org/log+a1b2c3d4+AbCd...".
        string logVerifierKey;
        bytes encryptionPublicKey;
    }

    struct Member {
        address account;
        string name;
        uint8 role;
        string fhirBaseUrl;
        string logOrigin;
        string logVerifierKey;
        bytes encryptionPublicKey;
        MemberStatus status;
        uint64 admittedAt;
        uint64 removedAt;
    }

    struct Proposal {
        uint256 id;
        ProposalKind kind;
        address proposer;
        /// The account to admit or remove.
        address subject;
        uint64 createdAt;
        uint64 expiresAt;
        uint32 votes;
        bool executed;
        /// Filled for admissions only.
        MemberInput candidate;
    }

    struct PractitionerAttestation {
        address organization;
        bytes32 credentialHash;
        string qualificationCode;
        uint64 attestedAt;
        uint64 expiresAt;
        bool revoked;
    }

    error NotActiveMember(address account);
    error AlreadyMember(address account);
    error AlreadyVoted(uint256 proposalId, address voter);
    error ProposalNotFound(uint256 proposalId);
    error ProposalExpired(uint256 proposalId, uint64 expiresAt);
    error ProposalAlreadyExecuted(uint256 proposalId);
    error OriginTaken(string origin, address owner);
    error InvalidThreshold(uint256 threshold, uint256 memberCount);
    error EmptyName();
    error EmptyOrigin();
    error InvalidRole(uint8 role);
    error ZeroAddress();
    error CannotRemoveLastMember(address account);
    error PractitionerNotFound(address practitioner);
    error PractitionerAlreadyRevoked(address practitioner);
    error PractitionerAttestedByOther(address practitioner, address organization);
    error NotAttestingOrganization(address practitioner, address caller);
    error InvalidExpiry(uint64 expiresAt, uint64 nowTimestamp);

    event MemberAdmitted(address indexed account, uint8 role, string name, string logOrigin, uint256 proposalId);
    event MemberRemoved(address indexed account, uint256 proposalId);
    event MemberUpdated(address indexed account, string fhirBaseUrl, string logVerifierKey, bytes encryptionPublicKey);
    event ProposalCreated(
        uint256 indexed proposalId,
        ProposalKind kind,
        address indexed proposer,
        address indexed subject,
        uint64 expiresAt
    );
    event VoteCast(uint256 indexed proposalId, address indexed voter, uint32 votes, uint256 threshold, bool executed);
    event PractitionerAttested(
        address indexed practitioner,
        address indexed organization,
        bytes32 credentialHash,
        string qualificationCode,
        uint64 expiresAt
    );
    event PractitionerRevoked(address indexed practitioner, address indexed organization);

    /// @notice The k of k-of-n, fixed at genesis. See effectiveThreshold().
    uint8 public immutable threshold;

    mapping(address => Member) private _members;
    address[] private _memberAddresses;
    uint256 private _activeCount;
    mapping(bytes32 => address) private _originOwner;

    mapping(uint256 => Proposal) private _proposals;
    mapping(uint256 => mapping(address => bool)) private _hasVoted;
    uint256 private _proposalCount;

    mapping(address => PractitionerAttestation) private _practitioners;

    modifier onlyActiveMember() {
        if (_members[msg.sender].status != MemberStatus.Active) revert NotActiveMember(msg.sender);
        _;
    }

    constructor(MemberInput[] memory genesisMembers, uint8 threshold_) {
        // k may exceed the genesis count: it is the quorum the consortium grows into. Until n reaches k,
        // effectiveThreshold() = n, i.e. every member must agree (so a lone founder admits the second).
        if (threshold_ == 0 || genesisMembers.length == 0) {
            revert InvalidThreshold(threshold_, genesisMembers.length);
        }
        threshold = threshold_;
        for (uint256 i = 0; i < genesisMembers.length; i++) {
            _validateCandidate(genesisMembers[i]);
            _admit(genesisMembers[i], 0);
        }
    }

    // ------------------------------------------------------------------ governance

    /// @notice Proposes admitting a new member; the proposer's vote counts at once.
    function proposeAdmission(MemberInput calldata candidate) external onlyActiveMember returns (uint256 proposalId) {
        _validateCandidate(candidate);
        proposalId = _createProposal(ProposalKind.Admission, candidate.account);
        _proposals[proposalId].candidate = candidate;
        _castVote(proposalId);
    }

    /// @notice Proposes removing an active member; the proposer's vote counts at once.
    function proposeRemoval(address account) external onlyActiveMember returns (uint256 proposalId) {
        if (_members[account].status != MemberStatus.Active) revert NotActiveMember(account);
        proposalId = _createProposal(ProposalKind.Removal, account);
        _castVote(proposalId);
    }

    /// @notice Votes for a proposal; it executes in this transaction once votes reach the threshold.
    function vote(uint256 proposalId) external onlyActiveMember {
        Proposal storage p = _proposals[proposalId];
        if (p.kind == ProposalKind.None) revert ProposalNotFound(proposalId);
        if (p.executed) revert ProposalAlreadyExecuted(proposalId);
        if (block.timestamp >= p.expiresAt) revert ProposalExpired(proposalId, p.expiresAt);
        if (_hasVoted[proposalId][msg.sender]) revert AlreadyVoted(proposalId, msg.sender);
        _castVote(proposalId);
    }

    /// @notice min(k, active members).
    /// @dev Removals can drop the number of active members below k; without the min, a consortium
    ///      that shrank below k could never admit or remove anyone again. Votes already cast by
    ///      members removed since still count: the proposal records who agreed at the time.
    function effectiveThreshold() public view returns (uint256) {
        return _activeCount < threshold ? _activeCount : threshold;
    }

    // ------------------------------------------------------------------ member self-service

    /// @notice A member updates its own endpoint and keys (key rotation); name, role and origin stay.
    function updateMember(string calldata fhirBaseUrl, string calldata logVerifierKey, bytes calldata encryptionPublicKey)
        external
        onlyActiveMember
    {
        Member storage m = _members[msg.sender];
        m.fhirBaseUrl = fhirBaseUrl;
        m.logVerifierKey = logVerifierKey;
        m.encryptionPublicKey = encryptionPublicKey;
        emit MemberUpdated(msg.sender, fhirBaseUrl, logVerifierKey, encryptionPublicKey);
    }

    // ------------------------------------------------------------------ practitioners

    /// @notice An organization vouches for a practitioner's credential until `expiresAt`.
    /// @param credentialHash Keyed hash (HMAC) of the credential: never the credential itself.
    /// @param qualificationCode A code such as a v2-0360 degree or a SNOMED CT occupation code.
    /// @dev One organization per practitioner at a time; the same organization may re-attest
    ///      (renewal), another one only once the current attestation no longer holds.
    function attestPractitioner(
        address practitioner,
        bytes32 credentialHash,
        string calldata qualificationCode,
        uint64 expiresAt
    ) external onlyActiveMember {
        if (practitioner == address(0)) revert ZeroAddress();
        if (expiresAt <= block.timestamp) revert InvalidExpiry(expiresAt, uint64(block.timestamp));
        PractitionerAttestation storage a = _practitioners[practitioner];
        if (a.organization != address(0) && a.organization != msg.sender) {
            (bool valid,) = practitionerStatus(practitioner, uint64(block.timestamp));
            if (valid) revert PractitionerAttestedByOther(practitioner, a.organization);
        }
        _practitioners[practitioner] = PractitionerAttestation({
            organization: msg.sender,
            credentialHash: credentialHash,
            qualificationCode: qualificationCode,
            attestedAt: uint64(block.timestamp),
            expiresAt: expiresAt,
            revoked: false
        });
        emit PractitionerAttested(practitioner, msg.sender, credentialHash, qualificationCode, expiresAt);
    }

    /// @notice Only the attesting organization may revoke; it need not still be a member.
    function revokePractitioner(address practitioner) external {
        PractitionerAttestation storage a = _practitioners[practitioner];
        if (a.organization == address(0)) revert PractitionerNotFound(practitioner);
        if (a.organization != msg.sender) revert NotAttestingOrganization(practitioner, msg.sender);
        if (a.revoked) revert PractitionerAlreadyRevoked(practitioner);
        a.revoked = true;
        emit PractitionerRevoked(practitioner, msg.sender);
    }

    /// @inheritdoc IConsortiumRegistry
    /// @dev Revocation and membership are read as they are now, not as they were at `timestamp`.
    function practitionerStatus(address practitioner, uint64 timestamp)
        public
        view
        returns (bool valid, address organization)
    {
        PractitionerAttestation storage a = _practitioners[practitioner];
        organization = a.organization;
        valid = organization != address(0) && !a.revoked && timestamp < a.expiresAt
            && _members[organization].status == MemberStatus.Active;
    }

    function getPractitioner(address practitioner) external view returns (PractitionerAttestation memory) {
        PractitionerAttestation memory a = _practitioners[practitioner];
        if (a.organization == address(0)) revert PractitionerNotFound(practitioner);
        return a;
    }

    // ------------------------------------------------------------------ views

    function isActiveMember(address account) external view returns (bool) {
        return _members[account].status == MemberStatus.Active;
    }

    /// @notice Returns an empty Member (status None) for an address never admitted.
    function getMember(address account) external view returns (Member memory) {
        return _members[account];
    }

    /// @inheritdoc IConsortiumRegistry
    /// @dev An origin stays bound to its member after removal, so no one else can take over a log.
    function memberOfOrigin(string calldata origin) external view returns (address) {
        return _originOwner[keccak256(bytes(origin))];
    }

    /// @notice Number of accounts ever admitted, including removed ones.
    function memberCount() external view returns (uint256) {
        return _memberAddresses.length;
    }

    /// @notice Every account ever admitted, including removed ones, in admission order.
    function memberAddresses() external view returns (address[] memory) {
        return _memberAddresses;
    }

    function activeMemberCount() external view returns (uint256) {
        return _activeCount;
    }

    function proposalCount() external view returns (uint256) {
        return _proposalCount;
    }

    function getProposal(uint256 proposalId) external view returns (Proposal memory) {
        if (_proposals[proposalId].kind == ProposalKind.None) revert ProposalNotFound(proposalId);
        return _proposals[proposalId];
    }

    function hasVoted(uint256 proposalId, address voter) external view returns (bool) {
        return _hasVoted[proposalId][voter];
    }

    // ------------------------------------------------------------------ internals

    function _validateCandidate(MemberInput memory c) private view {
        if (c.account == address(0)) revert ZeroAddress();
        if (bytes(c.name).length == 0) revert EmptyName();
        if (bytes(c.logOrigin).length == 0) revert EmptyOrigin();
        if (c.role < ROLE_PROVIDER || c.role > ROLE_LICENSING_BOARD) revert InvalidRole(c.role);
        if (_members[c.account].status == MemberStatus.Active) revert AlreadyMember(c.account);
        address owner = _originOwner[keccak256(bytes(c.logOrigin))];
        if (owner != address(0) && owner != c.account) revert OriginTaken(c.logOrigin, owner);
    }

    function _createProposal(ProposalKind kind, address subject) private returns (uint256 proposalId) {
        proposalId = ++_proposalCount;
        Proposal storage p = _proposals[proposalId];
        p.id = proposalId;
        p.kind = kind;
        p.proposer = msg.sender;
        p.subject = subject;
        p.createdAt = uint64(block.timestamp);
        p.expiresAt = uint64(block.timestamp) + PROPOSAL_LIFETIME;
        emit ProposalCreated(proposalId, kind, msg.sender, subject, p.expiresAt);
    }

    function _castVote(uint256 proposalId) private {
        Proposal storage p = _proposals[proposalId];
        _hasVoted[proposalId][msg.sender] = true;
        p.votes += 1;
        uint256 needed = effectiveThreshold();
        bool execute = p.votes >= needed;
        if (execute) {
            p.executed = true;
            if (p.kind == ProposalKind.Admission) {
                // State may have changed since the proposal (a competing admission for the same
                // account or origin); re-check so the registry never holds two owners of an origin.
                _validateCandidate(p.candidate);
                _admit(p.candidate, proposalId);
            } else {
                _remove(p.subject, proposalId);
            }
        }
        emit VoteCast(proposalId, msg.sender, p.votes, needed, execute);
    }

    function _admit(MemberInput memory c, uint256 proposalId) private {
        Member storage m = _members[c.account];
        if (m.status == MemberStatus.Active) revert AlreadyMember(c.account);
        if (m.status == MemberStatus.None) _memberAddresses.push(c.account);
        m.account = c.account;
        m.name = c.name;
        m.role = c.role;
        m.fhirBaseUrl = c.fhirBaseUrl;
        m.logOrigin = c.logOrigin;
        m.logVerifierKey = c.logVerifierKey;
        m.encryptionPublicKey = c.encryptionPublicKey;
        m.status = MemberStatus.Active;
        m.admittedAt = uint64(block.timestamp);
        m.removedAt = 0;
        bytes32 originHash = keccak256(bytes(c.logOrigin));
        address owner = _originOwner[originHash];
        if (owner != address(0) && owner != c.account) revert OriginTaken(c.logOrigin, owner);
        _originOwner[originHash] = c.account;
        _activeCount += 1;
        emit MemberAdmitted(c.account, c.role, c.name, c.logOrigin, proposalId);
        // The endpoints and keys travel in an event too, so an indexer rebuilds a member from events alone
        // (historical state reads are unavailable on pruned nodes).
        emit MemberUpdated(c.account, c.fhirBaseUrl, c.logVerifierKey, c.encryptionPublicKey);
    }

    function _remove(address account, uint256 proposalId) private {
        Member storage m = _members[account];
        if (m.status != MemberStatus.Active) revert NotActiveMember(account);
        // A consortium with no active member could never vote anyone in again.
        if (_activeCount == 1) revert CannotRemoveLastMember(account);
        m.status = MemberStatus.Removed;
        m.removedAt = uint64(block.timestamp);
        _activeCount -= 1;
        emit MemberRemoved(account, proposalId);
    }
}
