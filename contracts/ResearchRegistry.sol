// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IMemberDirectory} from "./IMemberDirectory.sol";

/// @notice The one more view of ConsortiumRegistry this contract reads: how many members are active,
///         for a majority vote.
interface IActiveMemberCount {
    function activeMemberCount() external view returns (uint256);
}

/// @title ResearchRegistry: research studies, their releases, and patients' contribution credits
///        (issue 18, decision 0024).
/// @notice A research member proposes a study by hashes (protocol, de-identification profile), the data
///         categories and FHIR resource types it needs, its period and its minimum cohort k. The members it
///         names as ethics boards approve it (all of them), or, when it names none, a majority of the
///         other active members (the researcher never votes on its own study). Lifecycle: Proposed → Approved → Open → Closed; the researcher opens it and
///         closes it, or a majority of members closes it by vote. While it is open and inside its period,
///         any active member anchors a release (manifest hash, profile hash, consent block, counts) and
///         mints one credit to each contributor. Credits are soulbound: a balance per address with no
///         transfer, no approval and no allowance (ERC-5192's "locked", always true).
/// @dev No PHI: contributors are per-study credit addresses derived off chain from the patient's grant
///      salt, so the chain cannot link them to the patient's consent address (decision 0024). Every revert
///      is a named custom error; src/ledger/contract-errors.ts describes each one.
contract ResearchRegistry {
    uint8 internal constant ROLE_RESEARCH = 5;
    uint8 internal constant STATUS_ACTIVE = 1;
    uint256 internal constant MAX_RESOURCE_TYPES = 32;
    uint256 internal constant MAX_ETHICS_BOARDS = 16;

    enum Status {
        None,
        Proposed,
        Approved,
        Open,
        Closed
    }

    struct Study {
        address researcher;
        bytes32 protocolHash;
        bytes32 profileHash;
        uint256 categories;
        /// keccak256(abi.encode(resourceTypes)); the list itself is in StudyProposed.
        bytes32 resourceTypesHash;
        uint64 notBefore;
        uint64 notAfter;
        uint32 k;
        Status status;
        uint32 approvals;
        uint32 closeVotes;
        uint32 releases;
        uint64 proposedAt;
    }

    struct Release {
        address member;
        bytes32 profileHash;
        uint64 consentBlock;
        uint32 records;
        uint32 suppressed;
        uint32 contributors;
        uint64 anchoredAt;
    }

    error NotActiveMember(address account);
    error NotResearchMember(address account);
    error StudyExists(bytes32 studyId);
    error UnknownStudy(bytes32 studyId);
    error StudyFieldEmpty(string field);
    error StudyPeriodInvalid(uint64 notBefore, uint64 notAfter);
    error CohortTooSmall(uint32 k);
    error TooManyEntries(string field, uint256 count);
    error EthicsBoardInvalid(address board);
    error NotEthicsBoard(bytes32 studyId, address account);
    error ResearcherCannotVote(bytes32 studyId);
    error AlreadyVotedOnStudy(bytes32 studyId, address voter);
    error WrongStudyStatus(bytes32 studyId, Status status);
    error NotResearcher(bytes32 studyId, address account);
    error StudyNotOpen(bytes32 studyId, Status status);
    error OutsideStudyPeriod(bytes32 studyId, uint64 time, uint64 notBefore, uint64 notAfter);
    error ProfileMismatch(bytes32 studyId, bytes32 profileHash);
    error ConsentBlockInFuture(uint64 consentBlock, uint64 currentBlock);
    error ReleaseExists(bytes32 studyId, bytes32 manifestHash);
    error UnknownRelease(bytes32 studyId, bytes32 manifestHash);
    error NotReleaseMember(bytes32 studyId, bytes32 manifestHash, address account);

    event StudyProposed(
        bytes32 indexed studyId,
        address indexed researcher,
        bytes32 protocolHash,
        bytes32 profileHash,
        uint256 categories,
        string[] resourceTypes,
        uint64 notBefore,
        uint64 notAfter,
        uint32 k,
        address[] ethicsBoards
    );
    /// `needed`: the approvals that decide it (all boards, or a majority of the active members now).
    event StudyApprovalVoted(bytes32 indexed studyId, address indexed voter, uint32 approvals, uint32 needed);
    event StudyApproved(bytes32 indexed studyId);
    event StudyOpened(bytes32 indexed studyId, address indexed researcher);
    event StudyCloseVoted(bytes32 indexed studyId, address indexed voter, uint32 votes, uint32 needed);
    event StudyClosed(bytes32 indexed studyId, address indexed by, bool byVote);
    event ReleaseAnchored(
        bytes32 indexed studyId,
        bytes32 indexed manifestHash,
        address indexed member,
        bytes32 profileHash,
        uint64 consentBlock,
        uint32 records,
        uint32 suppressed
    );
    /// One per contributor per release: a non-transferable credit (ERC-5192 style, always locked).
    event CreditMinted(address indexed contributor, bytes32 indexed studyId, bytes32 indexed manifestHash);

    IMemberDirectory public immutable registry;

    mapping(bytes32 => Study) private _studies;
    mapping(bytes32 => address[]) private _boards;
    mapping(bytes32 => mapping(address => bool)) private _approved;
    mapping(bytes32 => mapping(address => bool)) private _closeVoted;
    mapping(bytes32 => mapping(bytes32 => Release)) private _releases;
    bytes32[] private _studyIds;

    /// @notice Contribution credits of an address. There is no transfer, approve or allowance.
    mapping(address => uint256) public creditsOf;

    constructor(IMemberDirectory registry_) {
        registry = registry_;
    }

    function _activeRole(address account) private view returns (uint8) {
        IMemberDirectory.Member memory member = registry.getMember(account);
        if (member.status != STATUS_ACTIVE) revert NotActiveMember(account);
        return member.role;
    }

    function _majority() private view returns (uint32) {
        return uint32(IActiveMemberCount(address(registry)).activeMemberCount() / 2 + 1);
    }

    /// @dev A majority of the members who may approve: the active members but the researcher, who never
    ///      votes on its own study (counting it would leave a two-member consortium unable to approve).
    function _approvalMajority(address researcher) private view returns (uint32) {
        uint256 voters = IActiveMemberCount(address(registry)).activeMemberCount();
        if (voters > 0 && registry.getMember(researcher).status == STATUS_ACTIVE) voters -= 1;
        return uint32(voters / 2 + 1);
    }

    function _existing(bytes32 studyId) private view returns (Study storage study) {
        study = _studies[studyId];
        if (study.status == Status.None) revert UnknownStudy(studyId);
    }

    /// @notice An active research member proposes a study. Nothing in it is patient data: hashes of the
    ///         protocol and the de-identification profile, the category bitmask (src/ledger/codes.ts),
    ///         FHIR resource type names, the period (unix seconds, [notBefore, notAfter)) and k.
    function proposeStudy(
        bytes32 studyId,
        bytes32 protocolHash,
        bytes32 profileHash,
        uint256 categories,
        string[] calldata resourceTypes,
        uint64 notBefore,
        uint64 notAfter,
        uint32 k,
        address[] calldata ethicsBoards
    ) external {
        if (_activeRole(msg.sender) != ROLE_RESEARCH) revert NotResearchMember(msg.sender);
        if (studyId == bytes32(0)) revert StudyFieldEmpty("studyId");
        if (protocolHash == bytes32(0)) revert StudyFieldEmpty("protocolHash");
        if (profileHash == bytes32(0)) revert StudyFieldEmpty("profileHash");
        if (categories == 0) revert StudyFieldEmpty("categories");
        if (resourceTypes.length == 0) revert StudyFieldEmpty("resourceTypes");
        if (resourceTypes.length > MAX_RESOURCE_TYPES) revert TooManyEntries("resourceTypes", resourceTypes.length);
        if (ethicsBoards.length > MAX_ETHICS_BOARDS) revert TooManyEntries("ethicsBoards", ethicsBoards.length);
        if (notAfter <= notBefore) revert StudyPeriodInvalid(notBefore, notAfter);
        if (k < 2) revert CohortTooSmall(k);
        if (_studies[studyId].status != Status.None) revert StudyExists(studyId);
        for (uint256 i = 0; i < ethicsBoards.length; i++) {
            address board = ethicsBoards[i];
            if (board == msg.sender || registry.getMember(board).status != STATUS_ACTIVE) {
                revert EthicsBoardInvalid(board);
            }
            for (uint256 j = 0; j < i; j++) {
                if (ethicsBoards[j] == board) revert EthicsBoardInvalid(board);
            }
        }
        _studies[studyId] = Study({
            researcher: msg.sender,
            protocolHash: protocolHash,
            profileHash: profileHash,
            categories: categories,
            resourceTypesHash: keccak256(abi.encode(resourceTypes)),
            notBefore: notBefore,
            notAfter: notAfter,
            k: k,
            status: Status.Proposed,
            approvals: 0,
            closeVotes: 0,
            releases: 0,
            proposedAt: uint64(block.timestamp)
        });
        _boards[studyId] = ethicsBoards;
        _studyIds.push(studyId);
        emit StudyProposed(
            studyId, msg.sender, protocolHash, profileHash, categories, resourceTypes, notBefore, notAfter, k, ethicsBoards
        );
    }

    /// @notice Approves a proposed study: a named ethics board, or (when it names none) any active member
    ///         other than the researcher. The study is approved once every board, or a majority of the
    ///         active members other than the researcher, approved it.
    function approveStudy(bytes32 studyId) external {
        Study storage study = _existing(studyId);
        _activeRole(msg.sender);
        if (study.status != Status.Proposed) revert WrongStudyStatus(studyId, study.status);
        if (msg.sender == study.researcher) revert ResearcherCannotVote(studyId);
        address[] storage boards = _boards[studyId];
        uint32 needed;
        if (boards.length > 0) {
            bool named = false;
            for (uint256 i = 0; i < boards.length; i++) {
                if (boards[i] == msg.sender) named = true;
            }
            if (!named) revert NotEthicsBoard(studyId, msg.sender);
            needed = uint32(boards.length);
        } else {
            needed = _approvalMajority(study.researcher);
        }
        if (_approved[studyId][msg.sender]) revert AlreadyVotedOnStudy(studyId, msg.sender);
        _approved[studyId][msg.sender] = true;
        study.approvals += 1;
        emit StudyApprovalVoted(studyId, msg.sender, study.approvals, needed);
        if (study.approvals >= needed) {
            study.status = Status.Approved;
            emit StudyApproved(studyId);
        }
    }

    /// @notice The researcher opens an approved study: from now on releases may be anchored for it.
    function openStudy(bytes32 studyId) external {
        Study storage study = _existing(studyId);
        if (msg.sender != study.researcher) revert NotResearcher(studyId, msg.sender);
        _activeRole(msg.sender);
        if (study.status != Status.Approved) revert WrongStudyStatus(studyId, study.status);
        study.status = Status.Open;
        emit StudyOpened(studyId, msg.sender);
    }

    /// @notice The researcher closes (or withdraws) its study, in any state but Closed.
    function closeStudy(bytes32 studyId) external {
        Study storage study = _existing(studyId);
        if (msg.sender != study.researcher) revert NotResearcher(studyId, msg.sender);
        if (study.status == Status.Closed) revert WrongStudyStatus(studyId, study.status);
        study.status = Status.Closed;
        emit StudyClosed(studyId, msg.sender, false);
    }

    /// @notice An active member votes to close a study; a majority of the active members closes it.
    function voteCloseStudy(bytes32 studyId) external {
        Study storage study = _existing(studyId);
        _activeRole(msg.sender);
        if (study.status == Status.Closed) revert WrongStudyStatus(studyId, study.status);
        if (_closeVoted[studyId][msg.sender]) revert AlreadyVotedOnStudy(studyId, msg.sender);
        _closeVoted[studyId][msg.sender] = true;
        study.closeVotes += 1;
        uint32 needed = _majority();
        emit StudyCloseVoted(studyId, msg.sender, study.closeVotes, needed);
        if (study.closeVotes >= needed) {
            study.status = Status.Closed;
            emit StudyClosed(studyId, msg.sender, true);
        }
    }

    /// @notice An active member anchors what it released for an open study inside its period: the hash
    ///         of the manifest, the profile used (the study's), the block whose consent state chose the
    ///         cohort, the record and suppression counts; each contributor gets one credit. A large
    ///         cohort continues with addContributors (gas), by the same member.
    function anchorRelease(
        bytes32 studyId,
        bytes32 manifestHash,
        bytes32 profileHash,
        uint64 consentBlock,
        uint32 records,
        uint32 suppressed,
        address[] calldata contributors
    ) external {
        _activeRole(msg.sender);
        Study storage study = _existing(studyId);
        if (study.status != Status.Open) revert StudyNotOpen(studyId, study.status);
        if (block.timestamp < study.notBefore || block.timestamp >= study.notAfter) {
            revert OutsideStudyPeriod(studyId, uint64(block.timestamp), study.notBefore, study.notAfter);
        }
        if (manifestHash == bytes32(0)) revert StudyFieldEmpty("manifestHash");
        if (profileHash != study.profileHash) revert ProfileMismatch(studyId, profileHash);
        if (consentBlock > block.number) revert ConsentBlockInFuture(consentBlock, uint64(block.number));
        if (_releases[studyId][manifestHash].member != address(0)) revert ReleaseExists(studyId, manifestHash);
        _releases[studyId][manifestHash] = Release({
            member: msg.sender,
            profileHash: profileHash,
            consentBlock: consentBlock,
            records: records,
            suppressed: suppressed,
            contributors: 0,
            anchoredAt: uint64(block.timestamp)
        });
        study.releases += 1;
        emit ReleaseAnchored(studyId, manifestHash, msg.sender, profileHash, consentBlock, records, suppressed);
        _mint(studyId, manifestHash, contributors);
    }

    /// @notice More contributors of a release this member anchored (a cohort too large for one block).
    function addContributors(bytes32 studyId, bytes32 manifestHash, address[] calldata contributors) external {
        Release storage release = _releases[studyId][manifestHash];
        if (release.member == address(0)) revert UnknownRelease(studyId, manifestHash);
        if (release.member != msg.sender) revert NotReleaseMember(studyId, manifestHash, msg.sender);
        _activeRole(msg.sender);
        _mint(studyId, manifestHash, contributors);
    }

    function _mint(bytes32 studyId, bytes32 manifestHash, address[] calldata contributors) private {
        for (uint256 i = 0; i < contributors.length; i++) {
            address contributor = contributors[i];
            if (contributor == address(0)) revert StudyFieldEmpty("contributor");
            creditsOf[contributor] += 1;
            emit CreditMinted(contributor, studyId, manifestHash);
        }
        _releases[studyId][manifestHash].contributors += uint32(contributors.length);
    }

    // ------------------------------------------------------------------ views

    /// @notice ERC-5192: every credit is locked to its address, always.
    function locked(address) external pure returns (bool) {
        return true;
    }

    function studyOf(bytes32 studyId) external view returns (Study memory) {
        return _studies[studyId];
    }

    function ethicsBoardsOf(bytes32 studyId) external view returns (address[] memory) {
        return _boards[studyId];
    }

    function studyIds() external view returns (bytes32[] memory) {
        return _studyIds;
    }

    function hasApproved(bytes32 studyId, address member) external view returns (bool) {
        return _approved[studyId][member];
    }

    /// @notice A release as anchored; member is the zero address if there is none.
    function releaseOf(bytes32 studyId, bytes32 manifestHash) external view returns (Release memory) {
        return _releases[studyId][manifestHash];
    }
}
