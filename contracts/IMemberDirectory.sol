// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice The part of ConsortiumRegistry the consortium's other contracts read: a member's record
///         (its role and status), laid out exactly as ConsortiumRegistry.Member so the ABI decoding of
///         getMember matches (the enum MemberStatus is a uint8 on the wire). Declared apart so
///         IConsortiumRegistry stays as it is.
interface IMemberDirectory {
    struct Member {
        address account;
        string name;
        uint8 role;
        string fhirBaseUrl;
        string logOrigin;
        string logVerifierKey;
        bytes encryptionPublicKey;
        uint8 status;
        uint64 admittedAt;
        uint64 removedAt;
    }

    function getMember(address account) external view returns (Member memory);
}
