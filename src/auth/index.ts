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
  type AttemptSource,
  AuthorizationServer,
  type AuthorizationServerOptions,
  type AuthorizeRequest,
  type OAuthErrorCode,
  oauthError,
  type TokenResponse,
} from './authorization-server.js';
export { renderLoginPage } from './login-page.js';
export {
  SignInThrottle,
  THROTTLE_POLICIES,
  type ThrottleKey,
  type ThrottleLockout,
  type ThrottlePolicy,
  type ThrottleScope,
  type ThrottleState,
  type ThrottleStore,
  throttleKeyHash,
} from './sign-in-throttle.js';
export { type SoftwareStatement, verifySoftwareStatement } from './software-statement.js';
export { type NewUser, UserDirectory } from './user-directory.js';
