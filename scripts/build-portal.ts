/**
 * Bundles the portal's browser code (src/portal/app) with esbuild into dist/portal/public:
 * index.html, assets/portal-<hash>.js and assets/portal-<hash>.css. Prints each file's gzipped size
 * and fails if the JavaScript loaded on first load exceeds the budget (issue 7: 200 KB gzipped).
 *
 *   npx tsx scripts/build-portal.ts            # minified, as `npm run build` does
 *   npx tsx scripts/build-portal.ts --quiet    # no size report (tests)
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

export const PORTAL_JS_BUDGET_BYTES = 200 * 1024;

const root = fileURLToPath(new URL('..', import.meta.url));
export const portalPublicDir = join(root, 'dist', 'portal', 'public');

export interface PortalBuild {
  readonly script: string;
  readonly style: string;
  readonly jsBytes: number;
  readonly jsGzipBytes: number;
  readonly cssGzipBytes: number;
}

export async function buildPortal(options: { quiet?: boolean } = {}): Promise<PortalBuild> {
  const assets = join(portalPublicDir, 'assets');
  rmSync(portalPublicDir, { recursive: true, force: true });
  mkdirSync(assets, { recursive: true });
  const result = await build({
    entryPoints: { portal: join(root, 'src/portal/app/main.ts') },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    outdir: assets,
    entryNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'none',
    // The bundle must not reach for Node built-ins: fail the build instead of shipping a broken app.
    external: [],
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => p.split('/').pop() as string);
  const script = outputs.find((f) => f.endsWith('.js'));
  if (script === undefined) throw new Error('esbuild wrote no JavaScript');
  const css = readFileSync(join(root, 'src/portal/app/styles.css'));
  const { createHash } = await import('node:crypto');
  const style = `portal-${createHash('sha256').update(css).digest('hex').slice(0, 8).toUpperCase()}.css`;
  writeFileSync(join(assets, style), css);
  const html = readFileSync(join(root, 'src/portal/app/index.html'), 'utf8')
    .replace('%SCRIPT%', `assets/${script}`)
    .replace('%STYLE%', `assets/${style}`);
  writeFileSync(join(portalPublicDir, 'index.html'), html);

  const js = readFileSync(join(assets, script));
  const built: PortalBuild = {
    script,
    style,
    jsBytes: js.length,
    jsGzipBytes: gzipSync(js, { level: 9 }).length,
    cssGzipBytes: gzipSync(css, { level: 9 }).length,
  };
  if (!options.quiet) {
    const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
    process.stdout.write(
      `portal: ${script} ${kb(built.jsBytes)} (${kb(built.jsGzipBytes)} gzipped), ${style} ${kb(css.length)} (${kb(built.cssGzipBytes)} gzipped) -> ${portalPublicDir}\n`,
    );
  }
  if (built.jsGzipBytes > PORTAL_JS_BUDGET_BYTES) {
    throw new Error(
      `the portal bundle is ${built.jsGzipBytes} bytes gzipped, over the ${PORTAL_JS_BUDGET_BYTES}-byte budget`,
    );
  }
  return built;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildPortal({ quiet: process.argv.includes('--quiet') }).catch((error: unknown) => {
    process.stderr.write(`build-portal: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
