// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IMemberDirectory} from "./IMemberDirectory.sol";

/// @notice The consortium's vote threshold (ConsortiumRegistry.effectiveThreshold: min(k, active)).
interface IConsortiumThreshold {
    function effectiveThreshold() external view returns (uint256);
}

/// @title CredentialStatus: licensing boards' credential-signing keys and licence status bits.
/// @notice An issuer is a member the consortium admitted by vote with role licensing-board (8). It
///         registers its issuer id (the `issuer` of its credentials), the P-256 public key it signs
///         vc+jwt credentials with (x || y, 64 bytes) and that key's JWK thumbprint (RFC 7638, the
///         `kid`). It revokes (final) and suspends or reinstates (reversible) credentials by their
///         status-list index, one transaction each, effective in the block that includes it.
///         A board that stops being an active licensing-board member stops being an issuer at once:
///         `issuerOf` reads its standing from ConsortiumRegistry on every call. Decision 0018.
///         Decision 0028: a key the board proposes is its issuer key only once active members voted
///         for it (k of n, the board's own proposal counting as its vote, as in ConsortiumRegistry);
///         and a board records on the ledger what each credential it issues says (subject account,
///         qualification, licence number, validity, status index) under the credential's hash, so
///         every member checks a practitioner from the chain alone.
/// @dev Every revert is a named custom error.
contract CredentialStatus {
    uint8 internal constant ROLE_LICENSING_BOARD = 8;
    uint8 internal constant STATUS_ACTIVE = 1;
    uint8 public constant PURPOSE_REVOCATION = 0;
    uint8 public constant PURPOSE_SUSPENSION = 1;

    struct Issuer {
        string issuerId;
        bytes32 keyThumbprint;
        bytes publicKey;
        uint64 registeredAt;
    }

    struct KeyProposal {
        string issuerId;
        bytes32 keyThumbprint;
        bytes publicKey;
        uint32 votes;
        uint64 round;
    }

    /// What a licence credential says, recorded by its board under keccak256 of its vc+jwt.
    struct CredentialRecord {
        address board;
        address subject;
        uint64 index;
        uint64 validFrom;
        uint64 validUntil;
        /// `system|code`, e.g. http://terminology.hl7.org/CodeSystem/v2-0360|MD
        string qualification;
        string licenseNumber;
        string jurisdiction;
    }

    error NotLicensingBoard(address account);
    error NotActiveMember(address account);
    error NoKeyProposal(address board, bytes32 keyThumbprint);
    error AlreadyVotedForKey(address board, address voter);
    error IssuerKeyNotAdmitted(address board);
    error CredentialAlreadyRecorded(bytes32 credentialHash);
    error StatusIndexTaken(uint256 index);
    error InvalidCredentialRecord();
    error InvalidIssuerKey();
    error IssuerIdTaken(string issuerId);
    error UnknownPurpose(uint8 purpose);
    error RevocationIsFinal(uint256 index);

    event IssuerKeyRegistered(address indexed board, string issuerId, bytes32 keyThumbprint, bytes publicKey);
    event IssuerKeyProposed(address indexed board, string issuerId, bytes32 keyThumbprint, bytes publicKey);
    event IssuerKeyVote(address indexed board, bytes32 keyThumbprint, address indexed voter, uint32 votes, uint256 threshold);
    event CredentialRecorded(address indexed board, uint256 indexed index, bytes32 indexed credentialHash, address subject);
    event CredentialStatusChanged(address indexed board, uint256 indexed index, uint8 purpose, bool set);

    IMemberDirectory public immutable registry;

    mapping(address => Issuer) private _issuers;
    mapping(bytes32 => address) private _boardOfIssuerId;
    mapping(address => KeyProposal) private _keyProposals;
    /// board => proposal round => voter => voted
    mapping(address => mapping(uint64 => mapping(address => bool))) private _keyVoted;
    mapping(bytes32 => CredentialRecord) private _credentials;
    /// board => status index => the credential recorded at it
    mapping(address => mapping(uint256 => bytes32)) private _credentialAtIndex;
    /// board => purpose => word index => 256 status bits.
    mapping(address => mapping(uint8 => mapping(uint256 => uint256))) private _bits;

    constructor(IMemberDirectory registry_) {
        registry = registry_;
    }

    function _isActiveBoard(address account) private view returns (bool) {
        IMemberDirectory.Member memory member = registry.getMember(account);
        return member.status == STATUS_ACTIVE && member.role == ROLE_LICENSING_BOARD;
    }

    modifier onlyBoard() {
        if (!_isActiveBoard(msg.sender)) revert NotLicensingBoard(msg.sender);
        _;
    }

    modifier onlyActiveMember() {
        if (registry.getMember(msg.sender).status != STATUS_ACTIVE) revert NotActiveMember(msg.sender);
        _;
    }

    /// @notice Proposes the caller's issuer id and signing key (a first key or a rotation). The key
    ///         signs nothing the consortium accepts until active members voted for it; the board's
    ///         proposal is its own vote, so with k = 1 it takes effect at once.
    function registerIssuerKey(string calldata issuerId, bytes32 keyThumbprint, bytes calldata publicKey)
        external
        onlyBoard
    {
        if (publicKey.length != 64 || keyThumbprint == bytes32(0) || bytes(issuerId).length == 0) {
            revert InvalidIssuerKey();
        }
        address holder = _boardOfIssuerId[keccak256(bytes(issuerId))];
        if (holder != address(0) && holder != msg.sender) revert IssuerIdTaken(issuerId);
        KeyProposal storage p = _keyProposals[msg.sender];
        p.issuerId = issuerId;
        p.keyThumbprint = keyThumbprint;
        p.publicKey = publicKey;
        p.votes = 0;
        p.round += 1;
        emit IssuerKeyProposed(msg.sender, issuerId, keyThumbprint, publicKey);
        _castKeyVote(msg.sender);
    }

    /// @notice An active member's vote for the key `board` proposed (named by its thumbprint, so a
    ///         vote never lands on a key proposed after the voter looked).
    function voteIssuerKey(address board, bytes32 keyThumbprint) external onlyActiveMember {
        KeyProposal storage p = _keyProposals[board];
        if (p.round == 0 || p.keyThumbprint != keyThumbprint || p.publicKey.length == 0) {
            revert NoKeyProposal(board, keyThumbprint);
        }
        if (_keyVoted[board][p.round][msg.sender]) revert AlreadyVotedForKey(board, msg.sender);
        _castKeyVote(board);
    }

    /// @notice The key `board` proposed and its votes so far (empty when none is pending).
    function keyProposalOf(address board) external view returns (KeyProposal memory) {
        return _keyProposals[board];
    }

    function _castKeyVote(address board) private {
        KeyProposal storage p = _keyProposals[board];
        _keyVoted[board][p.round][msg.sender] = true;
        p.votes += 1;
        uint256 needed = IConsortiumThreshold(address(registry)).effectiveThreshold();
        emit IssuerKeyVote(board, p.keyThumbprint, msg.sender, p.votes, needed);
        if (p.votes < needed || !_isActiveBoard(board)) return;
        bytes32 idHash = keccak256(bytes(p.issuerId));
        address holder = _boardOfIssuerId[idHash];
        if (holder != address(0) && holder != board) revert IssuerIdTaken(p.issuerId);
        Issuer storage current = _issuers[board];
        if (bytes(current.issuerId).length != 0) delete _boardOfIssuerId[keccak256(bytes(current.issuerId))];
        _boardOfIssuerId[idHash] = board;
        _issuers[board] = Issuer(p.issuerId, p.keyThumbprint, p.publicKey, uint64(block.timestamp));
        emit IssuerKeyRegistered(board, p.issuerId, p.keyThumbprint, p.publicKey);
        delete p.issuerId;
        delete p.publicKey;
        p.keyThumbprint = bytes32(0);
        p.votes = 0;
    }

    /// @notice Whether `board` is an active licensing board whose issuer key the consortium admitted.
    function isAdmittedIssuer(address board) external view returns (bool) {
        return _isAdmittedIssuer(board);
    }

    function _isAdmittedIssuer(address board) private view returns (bool) {
        return _issuers[board].publicKey.length != 0 && _isActiveBoard(board);
    }

    /// @notice Records what a credential the caller issued says, under keccak256 of its vc+jwt. One
    ///         credential per status index: the index is the credential's place in the status list.
    function recordCredential(bytes32 credentialHash, CredentialRecord calldata record) external onlyBoard {
        if (_issuers[msg.sender].publicKey.length == 0) revert IssuerKeyNotAdmitted(msg.sender);
        if (
            credentialHash == bytes32(0) || record.subject == address(0) || record.validUntil <= record.validFrom
                || bytes(record.qualification).length == 0 || bytes(record.licenseNumber).length == 0
        ) revert InvalidCredentialRecord();
        if (_credentials[credentialHash].board != address(0)) revert CredentialAlreadyRecorded(credentialHash);
        if (_credentialAtIndex[msg.sender][record.index] != bytes32(0)) revert StatusIndexTaken(record.index);
        CredentialRecord memory stored = record;
        stored.board = msg.sender;
        _credentials[credentialHash] = stored;
        _credentialAtIndex[msg.sender][record.index] = credentialHash;
        emit CredentialRecorded(msg.sender, record.index, credentialHash, record.subject);
    }

    /// @notice A recorded credential, whether its board is an admitted issuer now, and its status bits.
    function credentialOf(bytes32 credentialHash)
        external
        view
        returns (CredentialRecord memory record, bool issuerAdmitted, bool revoked, bool suspended)
    {
        record = _credentials[credentialHash];
        if (record.board == address(0)) return (record, false, false, false);
        issuerAdmitted = _isAdmittedIssuer(record.board);
        (revoked, suspended) = statusOf(record.board, record.index);
    }

    /// @notice The board behind an issuer id and its key; `admitted` is false unless that board is an
    ///         active licensing-board member now.
    function issuerOf(string calldata issuerId)
        external
        view
        returns (address board, bool admitted, bytes32 keyThumbprint, bytes memory publicKey)
    {
        board = _boardOfIssuerId[keccak256(bytes(issuerId))];
        if (board == address(0)) return (board, false, bytes32(0), "");
        Issuer storage issuer = _issuers[board];
        return (board, _isActiveBoard(board), issuer.keyThumbprint, issuer.publicKey);
    }

    /// @notice Sets or clears one status bit of the caller's credentials. Revocation cannot be undone.
    function setStatus(uint256 index, uint8 purpose, bool set) external onlyBoard {
        if (purpose != PURPOSE_REVOCATION && purpose != PURPOSE_SUSPENSION) revert UnknownPurpose(purpose);
        uint256 mask = uint256(1) << (index % 256);
        uint256 word = _bits[msg.sender][purpose][index / 256];
        if (purpose == PURPOSE_REVOCATION && !set && (word & mask) != 0) revert RevocationIsFinal(index);
        _bits[msg.sender][purpose][index / 256] = set ? word | mask : word & ~mask;
        emit CredentialStatusChanged(msg.sender, index, purpose, set);
    }

    /// @notice The status of credential `index` of `board`.
    function statusOf(address board, uint256 index) public view returns (bool revoked, bool suspended) {
        uint256 mask = uint256(1) << (index % 256);
        revoked = (_bits[board][PURPOSE_REVOCATION][index / 256] & mask) != 0;
        suspended = (_bits[board][PURPOSE_SUSPENSION][index / 256] & mask) != 0;
    }
}
