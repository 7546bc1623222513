import { createHash } from 'node:crypto';
import { type Address, getAddress, type Hex } from 'viem';
import { encodeQbftGenesisExtraData } from './qbft-extra-data.js';
import { enodeUrl } from './validator-key.js';

/** One validator of the network: who runs it and where its peers reach it. */
export interface ValidatorPlan {
  readonly name: string;
  /** IP address other validators dial (Besu's static nodes and allowlist take IPs). */
  readonly host: string;
  readonly publicKey: Hex;
  readonly address: Address;
}

export interface NetworkPlan {
  readonly chainId: number;
  readonly validators: readonly ValidatorPlan[];
  /** Accounts allowed to send transactions (member accounts and the deployer); none = no account permissioning. */
  readonly accounts: readonly Address[];
  readonly blockPeriodSeconds: number;
  readonly requestTimeoutSeconds: number;
  /** Genesis timestamp, unix seconds. */
  readonly timestamp: number;
  readonly besuImage: string;
  readonly p2pPort: number;
  readonly rpcPort: number;
}

export interface NetworkFile {
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}

/** The block gas limit; gas is free, so it only bounds block production time (the embedded anvil's too). */
const GAS_LIMIT = '0x3b9aca00';
/** Besu's fixed mixHash for BFT blocks ("ctical byzantine fault tolerance"). */
const BFT_MIX_HASH = '0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365';
/** 1,000 ether, only so that tools that refuse to send from an empty account work; gas costs nothing. */
const ALLOC_BALANCE = '0x3635c9adc5dea00000';

export function createGenesis(plan: NetworkPlan): Record<string, unknown> {
  return {
    config: {
      chainId: plan.chainId,
      berlinBlock: 0,
      londonBlock: 0,
      shanghaiTime: 0,
      // CareLedger's bytecode targets Cancun (scripts/compile-contracts.ts).
      cancunTime: 0,
      // Base fee 0 in every block, so a zero gas price is valid from London on.
      zeroBaseFee: true,
      contractSizeLimit: 49152,
      qbft: {
        blockperiodseconds: plan.blockPeriodSeconds,
        epochlength: 30000,
        requesttimeoutseconds: plan.requestTimeoutSeconds,
      },
    },
    nonce: '0x0',
    timestamp: `0x${plan.timestamp.toString(16)}`,
    extraData: encodeQbftGenesisExtraData(plan.validators.map((v) => v.address)),
    gasLimit: GAS_LIMIT,
    difficulty: '0x1',
    mixHash: BFT_MIX_HASH,
    coinbase: '0x0000000000000000000000000000000000000000',
    alloc: Object.fromEntries(
      plan.accounts.map((a) => [getAddress(a).slice(2).toLowerCase(), { balance: ALLOC_BALANCE }]),
    ),
    number: '0x0',
    gasUsed: '0x0',
    parentHash: `0x${'0'.repeat(64)}`,
  };
}

const tomlList = (items: readonly string[]) =>
  items.length === 0 ? '[]' : `[\n${items.map((i) => `  "${i}"`).join(',\n')}\n]`;

function enodes(plan: NetworkPlan): string[] {
  return plan.validators.map((v) => enodeUrl(v.publicKey, v.host, plan.p2pPort));
}

/** Besu options as TOML (the command-line options without "--"); paths are those inside /etc/besu. */
export function createBesuConfig(plan: NetworkPlan, validator: ValidatorPlan): string {
  const accountsOn = plan.accounts.length > 0;
  return `# Besu validator ${validator.name} (${validator.address}) of a CareLedger consortium, chain ${plan.chainId}.
# Written by \`careledger network init\`; docs/deploy/besu-qbft.md explains each setting.
data-path="/var/lib/besu"
genesis-file="/etc/besu/genesis.json"
node-private-key-file="/etc/besu/key"
identity="careledger-${validator.name}"

# Full sync and full state: any member can re-execute and audit any past block.
sync-mode="FULL"
data-storage-format="FOREST"

# Zero gas price on every node: a node with a higher minimum silently drops zero-priced transactions.
min-gas-price=0

# Fixed peers only, no discovery.
p2p-host="${validator.host}"
p2p-port=${plan.p2pPort}
discovery-enabled=false
static-nodes-file="/etc/besu/static-nodes.json"

# Local permissioning: only the consortium's nodes may connect${accountsOn ? '; only listed accounts may transact' : ''}.
permissions-nodes-config-file-enabled=true
permissions-nodes-config-file="/etc/besu/permissions_config.toml"
permissions-accounts-config-file-enabled=${accountsOn}
permissions-accounts-config-file="/etc/besu/permissions_config.toml"

# JSON-RPC for this organization's CareLedger node only (loopback; see the guide for TLS on a LAN).
rpc-http-enabled=true
rpc-http-host="127.0.0.1"
rpc-http-port=${plan.rpcPort}
rpc-http-api=["ETH","NET","QBFT","WEB3"]
host-allowlist=["localhost","127.0.0.1"]
rpc-ws-enabled=false
graphql-http-enabled=false

metrics-enabled=true
metrics-host="127.0.0.1"
metrics-port=9545
`;
}

export function createPermissionsConfig(plan: NetworkPlan): string {
  return `# The same file on every validator: a node refuses peers and senders not listed here.
nodes-allowlist=${tomlList(enodes(plan))}
accounts-allowlist=${tomlList(plan.accounts.map((a) => getAddress(a)))}
`;
}

export function createSystemdUnit(validator: ValidatorPlan): string {
  return `# /etc/systemd/system/besu.service for validator ${validator.name}
[Unit]
Description=Hyperledger Besu QBFT validator ${validator.name} (CareLedger consortium)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=besu
Group=besu
ExecStart=/opt/besu/bin/besu --config-file=/etc/besu/config.toml
Restart=on-failure
RestartSec=5
LimitNOFILE=65536
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=true
ReadWritePaths=/var/lib/besu
PrivateTmp=true

[Install]
WantedBy=multi-user.target
`;
}

export function createComposeFile(plan: NetworkPlan, validator: ValidatorPlan): string {
  return `# docker compose file for validator ${validator.name}: run it on that validator's host, from this folder.
services:
  besu:
    image: ${plan.besuImage}
    container_name: besu-${validator.name}
    restart: unless-stopped
    # Host networking: the P2P address in static-nodes.json is this host's, and RPC stays on its loopback.
    network_mode: host
    command: ["--config-file=/etc/besu/config.toml"]
    volumes:
      - ./config.toml:/etc/besu/config.toml:ro
      - ./genesis.json:/etc/besu/genesis.json:ro
      - ./static-nodes.json:/etc/besu/static-nodes.json:ro
      - ./permissions_config.toml:/etc/besu/permissions_config.toml
      - ./key:/etc/besu/key:ro
      - besu-data:/var/lib/besu
volumes:
  besu-data:
`;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Every file of the network but the validators' private keys, relative to the output folder:
 * the genesis (identical for all), and per validator its Besu config, static nodes, permissioning,
 * a systemd unit and a compose file.
 */
export function createNetworkFiles(plan: NetworkPlan): NetworkFile[] {
  const genesis = `${JSON.stringify(createGenesis(plan), null, 2)}\n`;
  const staticNodes = `${JSON.stringify(enodes(plan), null, 2)}\n`;
  const permissions = createPermissionsConfig(plan);
  const summary = {
    chainId: plan.chainId,
    genesisSha256: sha256Hex(genesis),
    validators: plan.validators.map((v) => ({
      name: v.name,
      address: v.address,
      enode: enodeUrl(v.publicKey, v.host, plan.p2pPort),
    })),
    accounts: plan.accounts.map((a) => getAddress(a)),
    rpcPort: plan.rpcPort,
  };
  const files: NetworkFile[] = [
    { path: 'genesis.json', content: genesis, mode: 0o644 },
    { path: 'network.json', content: `${JSON.stringify(summary, null, 2)}\n`, mode: 0o644 },
  ];
  for (const v of plan.validators) {
    const dir = v.name;
    files.push(
      { path: `${dir}/genesis.json`, content: genesis, mode: 0o644 },
      { path: `${dir}/key.pub`, content: `${v.publicKey}\n`, mode: 0o644 },
      { path: `${dir}/config.toml`, content: createBesuConfig(plan, v), mode: 0o644 },
      { path: `${dir}/static-nodes.json`, content: staticNodes, mode: 0o644 },
      { path: `${dir}/permissions_config.toml`, content: permissions, mode: 0o644 },
      { path: `${dir}/besu.service`, content: createSystemdUnit(v), mode: 0o644 },
      { path: `${dir}/docker-compose.yml`, content: createComposeFile(plan, v), mode: 0o644 },
    );
  }
  return files;
}
