export {
  createBesuConfig,
  createGenesis,
  createNetworkFiles,
  createPermissionsConfig,
  type NetworkPlan,
  type ValidatorPlan,
} from './besu-network-files.js';
export {
  DEFAULT_BESU_IMAGE,
  type InitNetworkOptions,
  initNetwork,
  writeValidatorKey,
} from './init-network.js';
export { encodeQbftGenesisExtraData, parseQbftExtraData, type QbftExtraData } from './qbft-extra-data.js';
export {
  addressOfPublicKey,
  createValidatorKey,
  enodeUrl,
  type ValidatorKey,
  validatorKeyFromPrivate,
} from './validator-key.js';
