/** The sign-in page of the authorization endpoint: plain HTML, no script, no external assets. */
const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

export function renderLoginPage(input: {
  organization: string;
  clientName: string;
  /**
   * Where the app receives the sign-in (the redirect URI's host and port): a name can be copied by a
   * look-alike app, the host it returns to cannot.
   */
  redirectHost: string;
  scopes: readonly string[];
  params: URLSearchParams;
  askPatient: boolean;
  error?: string;
}): string {
  const hidden = [...input.params.entries()]
    .filter(([name]) => !['username', 'password', 'totp', 'patient'].includes(name))
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n      ');
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Sign in · ${escapeHtml(input.organization)}</title>
  <style>
    body { font: 16px/1.5 system-ui, sans-serif; max-width: 28rem; margin: 3rem auto; padding: 0 1rem; color: #1b1b1b; }
    label { display: block; margin-top: 1rem; font-weight: 600; }
    input[type=text], input[type=password] { width: 100%; padding: .5rem; font: inherit; box-sizing: border-box; }
    button { margin-top: 1.5rem; padding: .6rem 1.2rem; font: inherit; background: #0b5394; color: #fff; border: 0; border-radius: 4px; }
    .error { background: #fde8e8; border-left: 4px solid #b00020; padding: .5rem 1rem; }
    ul { padding-left: 1.2rem; }
    code { font-size: .9em; }
  </style>
</head>
<body>
  <main>
    <h1>Sign in to ${escapeHtml(input.organization)}</h1>
    <p><strong>${escapeHtml(input.clientName)}</strong> asks for access to:</p>
    <ul>${input.scopes.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('')}</ul>
    <p class="redirect">After you sign in, you are sent back to <strong id="redirect-host">${escapeHtml(input.redirectHost)}</strong>. If that is not the app you meant to use, do not sign in.</p>
    ${input.error === undefined ? '' : `<p class="error" role="alert">${escapeHtml(input.error)}</p>`}
    <form method="post" action="/oauth/authorize">
      ${hidden}
      <label for="username">Username</label>
      <input type="text" id="username" name="username" autocomplete="username" required>
      <label for="password">Password</label>
      <input type="password" id="password" name="password" autocomplete="current-password" required>
      <label for="totp">One-time code from your authenticator app</label>
      <input type="text" id="totp" name="totp" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6,8}" required>
      ${
        input.askPatient
          ? `<label for="patient">Patient (FHIR id), for clinicians</label>
      <input type="text" id="patient" name="patient">`
          : ''
      }
      <button type="submit">Sign in and allow</button>
    </form>
    <p>Every access is recorded in this member's transparency log, where the patient can see it.</p>
  </main>
</body>
</html>`;
}
