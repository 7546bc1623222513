// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IConsortiumRegistry} from "./IConsortiumRegistry.sol";

/// @title CheckpointAnchor: members anchor their transparency-log checkpoints on the ledger.
/// @notice A checkpoint (C2SP tlog-checkpoint) names a log origin, a tree size and a root hash
///         (RFC 9162 §2.1). Once anchored, a member can neither shrink its log nor show a different
///         tree of the same size without the ledger refusing it, so a rewritten history is caught.
/// @dev Consistency between two anchored sizes (RFC 9162 §2.1.4) is not checked on chain: witnesses
///      check the consistency proof before they cosign the note whose hash is anchored here.
contract CheckpointAnchor {
    struct Checkpoint {
        uint64 treeSize;
        bytes32 rootHash;
        /// sha256 of the full cosigned note text, so anyone holding the note can match it.
        bytes32 noteHash;
        uint64 anchoredAt;
        uint64 blockNumber;
    }

    error NotOriginOwner(string origin, address sender);
    error TreeSizeDecreased(uint64 lastTreeSize, uint64 treeSize);
    error ConflictingRoot(uint64 treeSize);
    error AlreadyAnchored(uint64 treeSize);
    error CheckpointNotFound(string origin, uint256 index);

    event CheckpointAnchored(
        bytes32 indexed originHash,
        string origin,
        uint64 treeSize,
        bytes32 rootHash,
        bytes32 noteHash,
        address indexed member,
        uint64 anchoredAt
    );

    IConsortiumRegistry public immutable registry;

    mapping(bytes32 => Checkpoint[]) private _history;

    constructor(IConsortiumRegistry registry_) {
        registry = registry_;
    }

    /// @notice Anchors a checkpoint of `origin`; only the active member owning the origin may.
    /// @dev Same size, different root: that is equivocation (two different trees of one size) and
    ///      reverts ConflictingRoot; the evidence is the two signed notes, which witnesses keep.
    ///      Same size, same root: reverts AlreadyAnchored rather than silently succeeding, so a
    ///      relayer's outbox learns the checkpoint is already on chain and no duplicate event is
    ///      indexed. The tree may not shrink (TreeSizeDecreased): logs are append-only.
    function anchor(string calldata origin, uint64 treeSize, bytes32 rootHash, bytes32 noteHash) external {
        if (registry.memberOfOrigin(origin) != msg.sender || !registry.isActiveMember(msg.sender)) {
            revert NotOriginOwner(origin, msg.sender);
        }
        bytes32 originHash = keccak256(bytes(origin));
        Checkpoint[] storage history = _history[originHash];
        if (history.length > 0) {
            Checkpoint storage last = history[history.length - 1];
            if (treeSize < last.treeSize) revert TreeSizeDecreased(last.treeSize, treeSize);
            if (treeSize == last.treeSize) {
                if (rootHash != last.rootHash) revert ConflictingRoot(treeSize);
                revert AlreadyAnchored(treeSize);
            }
        }
        history.push(
            Checkpoint({
                treeSize: treeSize,
                rootHash: rootHash,
                noteHash: noteHash,
                anchoredAt: uint64(block.timestamp),
                blockNumber: uint64(block.number)
            })
        );
        emit CheckpointAnchored(originHash, origin, treeSize, rootHash, noteHash, msg.sender, uint64(block.timestamp));
    }

    /// @notice The latest anchored checkpoint of `origin`, or all zeros if none.
    function latest(string calldata origin)
        external
        view
        returns (uint64 treeSize, bytes32 rootHash, bytes32 noteHash, uint64 anchoredAt, uint64 blockNumber)
    {
        Checkpoint[] storage history = _history[keccak256(bytes(origin))];
        if (history.length == 0) return (0, bytes32(0), bytes32(0), 0, 0);
        Checkpoint storage c = history[history.length - 1];
        return (c.treeSize, c.rootHash, c.noteHash, c.anchoredAt, c.blockNumber);
    }

    function anchorCount(string calldata origin) external view returns (uint256) {
        return _history[keccak256(bytes(origin))].length;
    }

    /// @notice The `index`-th checkpoint ever anchored for `origin` (0 = first).
    function checkpointAt(string calldata origin, uint256 index) external view returns (Checkpoint memory) {
        Checkpoint[] storage history = _history[keccak256(bytes(origin))];
        if (index >= history.length) revert CheckpointNotFound(origin, index);
        return history[index];
    }
}
