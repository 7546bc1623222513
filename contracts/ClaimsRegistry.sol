// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IMemberDirectory} from "./IMemberDirectory.sol";

/// @title ClaimsRegistry: published benefit policies and claim decisions between members.
/// @notice A payer member publishes versions of its benefit policy (the SHA-256 of the canonical
///         policy JSON, and the calendar days it is in force); old versions stay valid for services
///         dated within them. The payer anchors each claim decision: the claim's keyed commitment,
///         the policy version used, the decision's keyed commitment and the amount the payer owes the
///         provider. Settlement (amounts only), a provider's dispute and the payer's resolution are
///         events. No PHI: commitments are HMACs under a key the payer and provider share.
/// @dev Every revert is a named custom error; src/ledger/contract-errors.ts describes each one.
contract ClaimsRegistry {
    // Roles of ConsortiumRegistry (MEMBER_ROLES in src/ledger/codes.ts).
    uint8 internal constant ROLE_PROVIDER = 1;
    uint8 internal constant ROLE_LAB = 2;
    uint8 internal constant ROLE_PHARMACY = 3;
    uint8 internal constant ROLE_PAYER = 4;
    uint8 internal constant STATUS_ACTIVE = 1;

    enum DecisionStatus {
        None,
        Anchored,
        Disputed,
        Resolved
    }

    struct Policy {
        bytes32 policyHash;
        /// Days since 1970-01-01 (UTC calendar dates), inclusive.
        uint32 validFrom;
        uint32 validTo;
        uint64 publishedAt;
    }

    struct Decision {
        address payer;
        address provider;
        bytes32 decisionCommitment;
        /// keccak256 of the policy version string (the version text is in the DecisionAnchored event).
        bytes32 policyVersion;
        uint128 amountDueCents;
        uint128 paidCents;
        bytes3 currency;
        DecisionStatus status;
        uint64 anchoredAt;
    }

    error NotActiveMember(address account);
    error NotPayer(address account);
    error NotClaimant(address account);
    error ZeroValue();
    error InvalidPeriod(uint32 validFrom, uint32 validTo);
    error PolicyVersionExists(address payer, string version);
    error UnknownPolicyVersion(address payer, string version);
    error DecisionExists(bytes32 claimCommitment);
    error UnknownDecision(bytes32 claimCommitment);
    error NotDecisionParty(address account, bytes32 claimCommitment);
    error DisputeNotOpen(bytes32 claimCommitment);
    error AlreadyDisputed(bytes32 claimCommitment);

    event PolicyPublished(
        address indexed payer, string version, bytes32 policyHash, uint32 validFrom, uint32 validTo
    );
    event DecisionAnchored(
        bytes32 indexed claimCommitment,
        address indexed payer,
        address indexed provider,
        string policyVersion,
        bytes32 decisionCommitment,
        uint128 amountDueCents,
        bytes3 currency
    );
    event SettlementRecorded(bytes32 indexed claimCommitment, address indexed payer, uint128 amountCents);
    event DecisionDisputed(bytes32 indexed claimCommitment, address indexed provider, bytes32 reasonHash);
    event DisputeResolved(
        bytes32 indexed claimCommitment, address indexed payer, bytes32 resolutionHash, uint128 amountDueCents
    );

    IMemberDirectory public immutable registry;

    mapping(address => mapping(bytes32 => Policy)) private _policies;
    mapping(address => string[]) private _versions;
    mapping(bytes32 => Decision) private _decisions;

    constructor(IMemberDirectory registry_) {
        registry = registry_;
    }

    function _activeRole(address account) private view returns (uint8) {
        IMemberDirectory.Member memory member = registry.getMember(account);
        if (member.status != STATUS_ACTIVE) revert NotActiveMember(account);
        return member.role;
    }

    modifier onlyPayer() {
        if (_activeRole(msg.sender) != ROLE_PAYER) revert NotPayer(msg.sender);
        _;
    }

    /// @notice The calling payer publishes a version of its benefit policy, in force from `validFrom`
    ///         to `validTo` (days since 1970-01-01, inclusive). A version is published once and never
    ///         replaced: claims dated within it are judged by it even after newer versions.
    function publishPolicy(string calldata version, bytes32 policyHash, uint32 validFrom, uint32 validTo)
        external
        onlyPayer
    {
        if (bytes(version).length == 0 || policyHash == bytes32(0)) revert ZeroValue();
        if (validTo < validFrom) revert InvalidPeriod(validFrom, validTo);
        bytes32 key = keccak256(bytes(version));
        if (_policies[msg.sender][key].policyHash != bytes32(0)) revert PolicyVersionExists(msg.sender, version);
        _policies[msg.sender][key] = Policy(policyHash, validFrom, validTo, uint64(block.timestamp));
        _versions[msg.sender].push(version);
        emit PolicyPublished(msg.sender, version, policyHash, validFrom, validTo);
    }

    /// @notice Anchors the payer's decision on a claim. `provider` must be an active member that bills
    ///         (provider, lab or pharmacy); the policy version must be one this payer published. A claim
    ///         commitment is anchored once: a resubmitted claim is a duplicate.
    function anchorDecision(
        bytes32 claimCommitment,
        address provider,
        string calldata policyVersion,
        bytes32 decisionCommitment,
        uint128 amountDueCents,
        bytes3 currency
    ) external onlyPayer {
        if (claimCommitment == bytes32(0) || decisionCommitment == bytes32(0)) revert ZeroValue();
        uint8 role = _activeRole(provider);
        if (role != ROLE_PROVIDER && role != ROLE_LAB && role != ROLE_PHARMACY) revert NotClaimant(provider);
        bytes32 version = keccak256(bytes(policyVersion));
        if (_policies[msg.sender][version].policyHash == bytes32(0)) {
            revert UnknownPolicyVersion(msg.sender, policyVersion);
        }
        if (_decisions[claimCommitment].status != DecisionStatus.None) revert DecisionExists(claimCommitment);
        _decisions[claimCommitment] = Decision({
            payer: msg.sender,
            provider: provider,
            decisionCommitment: decisionCommitment,
            policyVersion: version,
            amountDueCents: amountDueCents,
            paidCents: 0,
            currency: currency,
            status: DecisionStatus.Anchored,
            anchoredAt: uint64(block.timestamp)
        });
        emit DecisionAnchored(
            claimCommitment, msg.sender, provider, policyVersion, decisionCommitment, amountDueCents, currency
        );
    }

    /// @notice The payer of a decision records a payment to the provider (amounts only).
    function recordSettlement(bytes32 claimCommitment, uint128 amountCents) external {
        Decision storage decision = _existing(claimCommitment);
        if (decision.payer != msg.sender) revert NotDecisionParty(msg.sender, claimCommitment);
        if (amountCents == 0) revert ZeroValue();
        decision.paidCents += amountCents;
        emit SettlementRecorded(claimCommitment, msg.sender, amountCents);
    }

    /// @notice The provider of a decision disputes it; `reasonHash` commits to its reasons off chain.
    function dispute(bytes32 claimCommitment, bytes32 reasonHash) external {
        Decision storage decision = _existing(claimCommitment);
        if (decision.provider != msg.sender) revert NotDecisionParty(msg.sender, claimCommitment);
        if (decision.status == DecisionStatus.Disputed) revert AlreadyDisputed(claimCommitment);
        decision.status = DecisionStatus.Disputed;
        emit DecisionDisputed(claimCommitment, msg.sender, reasonHash);
    }

    /// @notice The payer closes an open dispute, with the amount now due (unchanged or corrected).
    function resolveDispute(bytes32 claimCommitment, bytes32 resolutionHash, uint128 amountDueCents) external {
        Decision storage decision = _existing(claimCommitment);
        if (decision.payer != msg.sender) revert NotDecisionParty(msg.sender, claimCommitment);
        if (decision.status != DecisionStatus.Disputed) revert DisputeNotOpen(claimCommitment);
        decision.status = DecisionStatus.Resolved;
        decision.amountDueCents = amountDueCents;
        emit DisputeResolved(claimCommitment, msg.sender, resolutionHash, amountDueCents);
    }

    function _existing(bytes32 claimCommitment) private view returns (Decision storage decision) {
        decision = _decisions[claimCommitment];
        if (decision.status == DecisionStatus.None) revert UnknownDecision(claimCommitment);
    }

    // ------------------------------------------------------------------ views

    /// @notice A payer's policy version; an empty Policy (zero hash) if never published.
    function policyOf(address payer, string calldata version) external view returns (Policy memory) {
        return _policies[payer][keccak256(bytes(version))];
    }

    /// @notice The versions a payer published, oldest first.
    function policyVersions(address payer) external view returns (string[] memory) {
        return _versions[payer];
    }

    /// @notice The newest version of `payer` whose period contains `day` (days since 1970-01-01), or "".
    function policyInForce(address payer, uint32 day) external view returns (string memory version, bytes32 policyHash) {
        string[] storage versions = _versions[payer];
        for (uint256 i = versions.length; i > 0; i--) {
            Policy storage policy = _policies[payer][keccak256(bytes(versions[i - 1]))];
            if (policy.validFrom <= day && day <= policy.validTo) return (versions[i - 1], policy.policyHash);
        }
        return ("", bytes32(0));
    }

    /// @notice The decision anchored for a claim commitment; status None if there is none.
    function decisionOf(bytes32 claimCommitment) external view returns (Decision memory) {
        return _decisions[claimCommitment];
    }
}
