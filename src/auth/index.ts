export type {
  AuthorizationCode,
  AuthStore,
  Notification,
  OAuthClient,
  RefreshToken,
  UserAccount,
} from './auth-store.js';
export {
  type AccessClaims,
  AuthorizationServer,
  type AuthorizationServerOptions,
  type AuthorizeRequest,
  type OAuthErrorCode,
  oauthError,
  type TokenResponse,
} from './authorization-server.js';
export { renderLoginPage } from './login-page.js';
export { type NewUser, UserDirectory } from './user-directory.js';
