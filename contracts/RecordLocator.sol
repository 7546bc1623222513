// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IConsortiumRegistry} from "./IConsortiumRegistry.sol";

/// @title RecordLocator: which members hold records of a patient.
/// @notice When a member node stores a patient's first record it announces a pointer (patient → member)
///         here, so the patient's records can be found across the consortium. The patient is named only
///         by their pseudonymous ledger address (a secp256k1 address, the key that signs their consent):
///         nothing else about the patient is on chain.
/// @dev Both writes are idempotent and never revert on repetition (a second announce, a withdraw of an
///      absent pointer are no-ops without an event), so a node's outbox may simulate and retry them
///      freely. Every revert is a named custom error; src/ledger/contract-errors.ts describes each one.
contract RecordLocator {
    error NotActiveMember(address account);
    error ZeroAddress();

    event RecordsLocated(address indexed patient, address indexed member);
    event RecordsWithdrawn(address indexed patient, address indexed member);

    IConsortiumRegistry public immutable registry;

    /// Members holding records of each patient, in announcement order (a withdrawal moves the last one
    /// into the gap).
    mapping(address => address[]) private _locations;
    /// Position + 1 of a member in _locations[patient]; 0 = no pointer.
    mapping(address => mapping(address => uint256)) private _positions;

    modifier onlyActiveMember() {
        if (!registry.isActiveMember(msg.sender)) revert NotActiveMember(msg.sender);
        _;
    }

    constructor(IConsortiumRegistry registry_) {
        registry = registry_;
    }

    /// @notice The calling member announces that it holds records of `patient`.
    /// @dev A no-op (no event) if the pointer is already there.
    function announce(address patient) external onlyActiveMember {
        if (patient == address(0)) revert ZeroAddress();
        if (_positions[patient][msg.sender] != 0) return;
        _locations[patient].push(msg.sender);
        _positions[patient][msg.sender] = _locations[patient].length;
        emit RecordsLocated(patient, msg.sender);
    }

    /// @notice The calling member removes its pointer for `patient` (the patient was erased there).
    /// @dev Open to former members too: a member that left must still be able to take its pointers
    ///      down. A no-op (no event) if there is no pointer.
    function withdraw(address patient) external {
        uint256 position = _positions[patient][msg.sender];
        if (position == 0) return;
        address[] storage members = _locations[patient];
        uint256 last = members.length;
        if (position != last) {
            address moved = members[last - 1];
            members[position - 1] = moved;
            _positions[patient][moved] = position;
        }
        members.pop();
        delete _positions[patient][msg.sender];
        emit RecordsWithdrawn(patient, msg.sender);
    }

    /// @notice Members with a pointer for `patient` now. A member removed from the consortium keeps its
    ///         pointers until it withdraws them: check membership in ConsortiumRegistry when it matters.
    function locationsOf(address patient) external view returns (address[] memory) {
        return _locations[patient];
    }

    function isLocated(address patient, address member) external view returns (bool) {
        return _positions[patient][member] != 0;
    }
}
