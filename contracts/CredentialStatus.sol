// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IMemberDirectory} from "./IMemberDirectory.sol";

/// @title CredentialStatus: licensing boards' credential-signing keys and licence status bits.
/// @notice An issuer is a member the consortium admitted by vote with role licensing-board (8). It
///         registers its issuer id (the `issuer` of its credentials), the P-256 public key it signs
///         vc+jwt credentials with (x || y, 64 bytes) and that key's JWK thumbprint (RFC 7638, the
///         `kid`). It revokes (final) and suspends or reinstates (reversible) credentials by their
///         status-list index, one transaction each, effective in the block that includes it.
///         A board that stops being an active licensing-board member stops being an issuer at once:
///         `issuerOf` reads its standing from ConsortiumRegistry on every call. Decision 0018.
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

    error NotLicensingBoard(address account);
    error InvalidIssuerKey();
    error IssuerIdTaken(string issuerId);
    error UnknownPurpose(uint8 purpose);
    error RevocationIsFinal(uint256 index);

    event IssuerKeyRegistered(address indexed board, string issuerId, bytes32 keyThumbprint, bytes publicKey);
    event CredentialStatusChanged(address indexed board, uint256 indexed index, uint8 purpose, bool set);

    IMemberDirectory public immutable registry;

    mapping(address => Issuer) private _issuers;
    mapping(bytes32 => address) private _boardOfIssuerId;
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

    /// @notice Registers (or rotates) the caller's issuer id and signing key.
    function registerIssuerKey(string calldata issuerId, bytes32 keyThumbprint, bytes calldata publicKey)
        external
        onlyBoard
    {
        if (publicKey.length != 64 || keyThumbprint == bytes32(0) || bytes(issuerId).length == 0) {
            revert InvalidIssuerKey();
        }
        bytes32 idHash = keccak256(bytes(issuerId));
        address holder = _boardOfIssuerId[idHash];
        if (holder != address(0) && holder != msg.sender) revert IssuerIdTaken(issuerId);
        Issuer storage current = _issuers[msg.sender];
        if (bytes(current.issuerId).length != 0) delete _boardOfIssuerId[keccak256(bytes(current.issuerId))];
        _boardOfIssuerId[idHash] = msg.sender;
        _issuers[msg.sender] = Issuer(issuerId, keyThumbprint, publicKey, uint64(block.timestamp));
        emit IssuerKeyRegistered(msg.sender, issuerId, keyThumbprint, publicKey);
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
    function statusOf(address board, uint256 index) external view returns (bool revoked, bool suspended) {
        uint256 mask = uint256(1) << (index % 256);
        revoked = (_bits[board][PURPOSE_REVOCATION][index / 256] & mask) != 0;
        suspended = (_bits[board][PURPOSE_SUSPENSION][index / 256] & mask) != 0;
    }
}
