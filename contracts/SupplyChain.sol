// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IConsortiumRegistry} from "./IConsortiumRegistry.sol";
import {IMemberDirectory} from "./IMemberDirectory.sol";

/// @title SupplyChain: serialized drug packs from commissioning to dispensing (issue 19, decision 0023).
/// @notice A pack is named only by a keyed hash of its SGTIN (HMAC under the consortium's supply key,
///         computed off chain), and its lot only by a keyed hash of GTIN + lot, so a reader of the chain
///         cannot tell which product or how many packs of it a member handles. No patient data is here:
///         a dispense records the pharmacy, never to whom.
/// @dev Unauthorised calls revert with named errors. A trading partner's *suspicious* action (a pack
///      shipped twice by its owner, received by a member it was not shipped to, dispensed twice, or
///      dispensed after a recall) does not revert: the pack is flagged suspect, with an event, and its
///      state is left as it was, so the flag survives as evidence.
contract SupplyChain {
    uint8 internal constant ROLE_MANUFACTURER = 6;

    enum Status {
        None,
        Owned,
        InTransit,
        Dispensed,
        Destroyed
    }

    /// Why a pack was flagged; the TypeScript mirror is SUSPECT_REASONS in src/supply/supply-ledger.ts.
    enum SuspectReason {
        None,
        ShippedTwice,
        ReceivedByOther,
        DispensedTwice,
        DispensedAfterRecall,
        Reported
    }

    struct Pack {
        Status status;
        bool suspect;
        bool recalled;
        /// YYMMDD as in GS1 AI (17).
        uint32 expiry;
        address manufacturer;
        address owner;
        /// The member a pack in transit was shipped to.
        address addressee;
        bytes32 lot;
    }

    error NotActiveMember(address account);
    error NotManufacturer(address account);
    error PackExists(bytes32 pack);
    error UnknownPack(bytes32 pack);
    error NotOwner(bytes32 pack, address caller);
    error NotLotManufacturer(bytes32 lot, address caller);
    error UnknownLot(bytes32 lot);
    error PackInactive(bytes32 pack, Status status);
    error ZeroAddress();
    error NotCaseHolder(bytes32 parent, address caller);
    error GlnTaken(uint64 gln, address owner);

    event PackCommissioned(bytes32 indexed pack, bytes32 indexed lot, address indexed manufacturer, uint32 expiry);
    event PackShipped(bytes32 indexed pack, address indexed from, address indexed to);
    event PackReceived(bytes32 indexed pack, address indexed from, address indexed by);
    event PackDispensed(bytes32 indexed pack, address indexed pharmacy);
    event PackDestroyed(bytes32 indexed pack, address indexed by);
    event PackRecalled(bytes32 indexed pack, bytes32 indexed lot, address indexed manufacturer);
    event LotRecalled(bytes32 indexed lot, address indexed manufacturer);
    event PackSuspect(bytes32 indexed pack, address indexed reporter, SuspectReason reason);
    /// A member tells how many of its patients a recall reached: a count, never who.
    event RecallReach(bytes32 indexed lot, address indexed member, uint32 patients);
    /// Packs put into (or taken out of) a case, a logistic unit named by the keyed hash of its SSCC.
    event PacksAggregated(bytes32 indexed parent, address indexed by, uint32 count);
    event PacksDisaggregated(bytes32 indexed parent, address indexed by, uint32 count);
    event CaseShipped(bytes32 indexed parent, address indexed from, address indexed to);
    event CaseReceived(bytes32 indexed parent, address indexed from, address indexed by);
    /// A member names a GLN (party or location, 13 digits) as its own: the consortium's GLN directory.
    event GlnClaimed(uint64 indexed gln, address indexed member);

    IConsortiumRegistry public immutable registry;

    mapping(bytes32 => Pack) private _packs;
    /// The manufacturer that first commissioned a pack of each lot; only it may recall the lot.
    mapping(bytes32 => address) public lotManufacturer;
    mapping(bytes32 => bool) public lotRecalled;
    /// The case a pack was packed into (EPCIS AggregationEvent ADD), until it leaves it.
    mapping(bytes32 => bytes32) public parentOf;
    mapping(bytes32 => bytes32[]) private _children;
    /// The member holding a case, and the one a case in transit was shipped to.
    mapping(bytes32 => address) public caseHolder;
    mapping(bytes32 => address) public caseAddressee;
    /// GLN directory: who a GLN belongs to (first claim wins; GLNs are public in GS1's registry).
    mapping(uint64 => address) public glnOwner;

    modifier onlyActiveMember() {
        if (!registry.isActiveMember(msg.sender)) revert NotActiveMember(msg.sender);
        _;
    }

    constructor(IConsortiumRegistry registry_) {
        registry = registry_;
    }

    /// @notice A manufacturer commissions a pack (EPCIS bizStep commissioning); it owns it.
    function commission(bytes32 pack, bytes32 lot, uint32 expiry) external onlyActiveMember {
        if (IMemberDirectory(address(registry)).getMember(msg.sender).role != ROLE_MANUFACTURER) {
            revert NotManufacturer(msg.sender);
        }
        Pack storage p = _packs[pack];
        if (p.status != Status.None) revert PackExists(pack);
        address maker = lotManufacturer[lot];
        if (maker == address(0)) lotManufacturer[lot] = msg.sender;
        else if (maker != msg.sender) revert NotLotManufacturer(lot, msg.sender);
        p.status = Status.Owned;
        p.expiry = expiry;
        p.manufacturer = msg.sender;
        p.owner = msg.sender;
        p.lot = lot;
        emit PackCommissioned(pack, lot, msg.sender, expiry);
    }

    /// @notice The owner ships a pack to another member. Shipping a pack already in transit flags it.
    ///         A pack shipped on its own leaves the case it was in.
    function ship(bytes32 pack, address to) external onlyActiveMember {
        _checkAddressee(to);
        Pack storage p = _known(pack);
        // A flagged second shipment leaves everything as it was, the case included.
        if (p.status == Status.Owned) delete parentOf[pack];
        _ship(pack, p, to);
    }

    /// @notice The addressee takes a pack in transit; anyone else trying is flagged.
    function receivePack(bytes32 pack) external onlyActiveMember {
        _receive(pack, _known(pack));
    }

    /// @notice The owner packs packs it owns into a case (EPCIS AggregationEvent ADD with an SSCC parent).
    function aggregate(bytes32 parent, bytes32[] calldata children) external onlyActiveMember {
        address holder = caseHolder[parent];
        if (holder != address(0) && holder != msg.sender) revert NotCaseHolder(parent, msg.sender);
        caseHolder[parent] = msg.sender;
        for (uint256 i = 0; i < children.length; i++) {
            Pack storage p = _known(children[i]);
            if (p.owner != msg.sender) revert NotOwner(children[i], msg.sender);
            if (p.status != Status.Owned) revert PackInactive(children[i], p.status);
            if (parentOf[children[i]] != parent) {
                parentOf[children[i]] = parent;
                _children[parent].push(children[i]);
            }
        }
        emit PacksAggregated(parent, msg.sender, uint32(children.length));
    }

    /// @notice The holder takes packs out of a case (AggregationEvent DELETE); none named: all of them.
    function disaggregate(bytes32 parent, bytes32[] calldata children) external onlyActiveMember {
        if (caseHolder[parent] != msg.sender) revert NotCaseHolder(parent, msg.sender);
        uint32 count;
        if (children.length == 0) {
            bytes32[] storage all = _children[parent];
            for (uint256 i = 0; i < all.length; i++) {
                if (parentOf[all[i]] == parent) {
                    delete parentOf[all[i]];
                    count++;
                }
            }
            delete _children[parent];
        } else {
            for (uint256 i = 0; i < children.length; i++) {
                if (parentOf[children[i]] == parent) {
                    delete parentOf[children[i]];
                    count++;
                }
            }
        }
        emit PacksDisaggregated(parent, msg.sender, count);
    }

    /// @notice The holder ships a case: every pack still in it is shipped. A case already in transit
    ///         shipped again flags its packs (ShippedTwice), as a pack would be.
    function shipCase(bytes32 parent, address to) external onlyActiveMember {
        _checkAddressee(to);
        if (caseHolder[parent] != msg.sender) revert NotCaseHolder(parent, msg.sender);
        bytes32[] storage all = _children[parent];
        caseAddressee[parent] = to;
        for (uint256 i = 0; i < all.length; i++) {
            if (parentOf[all[i]] == parent) _ship(all[i], _packs[all[i]], to);
        }
        emit CaseShipped(parent, msg.sender, to);
    }

    /// @notice The addressee receives a case and every pack in it; anyone else trying flags them.
    function receiveCase(bytes32 parent) external onlyActiveMember {
        bytes32[] storage all = _children[parent];
        address from = caseHolder[parent];
        if (caseAddressee[parent] == msg.sender) {
            caseHolder[parent] = msg.sender;
            caseAddressee[parent] = address(0);
            emit CaseReceived(parent, from, msg.sender);
        }
        for (uint256 i = 0; i < all.length; i++) {
            if (parentOf[all[i]] == parent) _receive(all[i], _packs[all[i]]);
        }
    }

    /// @notice The packs in a case now.
    function childrenOf(bytes32 parent) external view returns (bytes32[] memory live) {
        bytes32[] storage all = _children[parent];
        uint256 n;
        for (uint256 i = 0; i < all.length; i++) if (parentOf[all[i]] == parent) n++;
        live = new bytes32[](n);
        n = 0;
        for (uint256 i = 0; i < all.length; i++) if (parentOf[all[i]] == parent) live[n++] = all[i];
    }

    /// @notice A member names a GLN as its own (its legal entity, a site, a dock): the directory that
    ///         EPCIS source, destination, bizLocation and readPoint GLNs are checked against.
    function claimGln(uint64 gln) external onlyActiveMember {
        address owner = glnOwner[gln];
        if (owner != address(0) && owner != msg.sender) revert GlnTaken(gln, owner);
        glnOwner[gln] = msg.sender;
        emit GlnClaimed(gln, msg.sender);
    }

    /// @notice The owning pharmacy dispenses a pack, once. A second dispense, anywhere, or one after a
    ///         recall, flags the pack instead (a cloned serial).
    function dispense(bytes32 pack) external onlyActiveMember {
        Pack storage p = _known(pack);
        if (p.status == Status.Dispensed) return _flag(pack, p, SuspectReason.DispensedTwice);
        if (p.recalled || lotRecalled[p.lot]) return _flag(pack, p, SuspectReason.DispensedAfterRecall);
        if (p.owner != msg.sender) revert NotOwner(pack, msg.sender);
        if (p.status != Status.Owned) revert PackInactive(pack, p.status);
        delete parentOf[pack];
        p.status = Status.Dispensed;
        emit PackDispensed(pack, msg.sender);
    }

    /// @notice The owner destroys a pack (EPCIS decommissioning / destroying).
    function destroy(bytes32 pack) external onlyActiveMember {
        Pack storage p = _known(pack);
        if (p.owner != msg.sender) revert NotOwner(pack, msg.sender);
        if (p.status != Status.Owned) revert PackInactive(pack, p.status);
        delete parentOf[pack];
        p.status = Status.Destroyed;
        emit PackDestroyed(pack, msg.sender);
    }

    /// @notice The manufacturer that commissioned the lot recalls all of it.
    function recallLot(bytes32 lot) external onlyActiveMember {
        address maker = lotManufacturer[lot];
        if (maker == address(0)) revert UnknownLot(lot);
        if (maker != msg.sender) revert NotLotManufacturer(lot, msg.sender);
        lotRecalled[lot] = true;
        emit LotRecalled(lot, msg.sender);
    }

    /// @notice The manufacturer that commissioned a pack recalls that one pack.
    function recallPack(bytes32 pack) external onlyActiveMember {
        Pack storage p = _known(pack);
        if (p.manufacturer != msg.sender) revert NotLotManufacturer(p.lot, msg.sender);
        p.recalled = true;
        emit PackRecalled(pack, p.lot, msg.sender);
    }

    /// @notice Any member reports a pack as suspect (e.g. a verification that found it already dispensed).
    function flagSuspect(bytes32 pack) external onlyActiveMember {
        _flag(pack, _known(pack), SuspectReason.Reported);
    }

    /// @notice A member reports how many of its patients a recall of `lot` reached.
    function reportRecallReach(bytes32 lot, uint32 patients) external onlyActiveMember {
        if (lotManufacturer[lot] == address(0)) revert UnknownLot(lot);
        emit RecallReach(lot, msg.sender, patients);
    }

    function packOf(bytes32 pack) external view returns (Pack memory) {
        return _packs[pack];
    }

    function _known(bytes32 pack) private view returns (Pack storage p) {
        p = _packs[pack];
        if (p.status == Status.None) revert UnknownPack(pack);
    }

    function _checkAddressee(address to) private view {
        if (to == address(0)) revert ZeroAddress();
        if (!registry.isActiveMember(to)) revert NotActiveMember(to);
    }

    function _ship(bytes32 pack, Pack storage p, address to) private {
        if (p.owner != msg.sender) revert NotOwner(pack, msg.sender);
        if (p.status == Status.InTransit) return _flag(pack, p, SuspectReason.ShippedTwice);
        if (p.status != Status.Owned) revert PackInactive(pack, p.status);
        p.status = Status.InTransit;
        p.addressee = to;
        emit PackShipped(pack, msg.sender, to);
    }

    function _receive(bytes32 pack, Pack storage p) private {
        if (p.status != Status.InTransit || p.addressee != msg.sender) {
            return _flag(pack, p, SuspectReason.ReceivedByOther);
        }
        address from = p.owner;
        p.status = Status.Owned;
        p.owner = msg.sender;
        p.addressee = address(0);
        emit PackReceived(pack, from, msg.sender);
    }

    function _flag(bytes32 pack, Pack storage p, SuspectReason reason) private {
        p.suspect = true;
        emit PackSuspect(pack, msg.sender, reason);
    }
}
