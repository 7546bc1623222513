export { createShareRoutes, type ShareRouteDeps } from './share-routes.js';
export {
  MAX_SHARE_HOURS,
  SHARE_AGENT_PREFIX,
  ShareService,
  shareAccessContext,
  shareAgentName,
} from './share-service.js';
export { type ShareStore, SqliteShareStore, shareMigrations, type TelehealthShare } from './share-store.js';
