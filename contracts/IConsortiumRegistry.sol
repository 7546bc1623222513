// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title The part of ConsortiumRegistry that the other CareLedger contracts rely on.
interface IConsortiumRegistry {
    function isActiveMember(address account) external view returns (bool);

    /// @return The member that registered `origin` as its transparency-log origin, or address(0).
    function memberOfOrigin(string calldata origin) external view returns (address);

    /// @return valid True iff `practitioner` is attested, not revoked, not expired at `timestamp`, and its
    ///         attesting organization is an active member now.
    /// @return organization The attesting organization (even when not valid), or address(0).
    function practitionerStatus(address practitioner, uint64 timestamp)
        external
        view
        returns (bool valid, address organization);
}
