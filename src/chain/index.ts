export { resolveAnvilBinary } from './anvil-binary.js';
export { createChainClient } from './create-chain-client.js';
export {
  type ChainSnapshotInfo,
  EmbeddedChain,
  type EmbeddedChainOptions,
  terminate,
} from './embedded-chain.js';
export { callRpc, isRpcUp } from './rpc.js';
