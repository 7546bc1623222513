/**
 * The README's checked shell blocks, as a test runs them. A block is checked when its fence says so:
 *
 *     ```sh checked
 *     HP=$(node -p "…")                     # an assignment (or `export HP=…`): later commands see $HP
 *     npx careledger records pull $HP       # a command; a comment after two spaces is prose
 *     #   Northside Clinical Laboratory: refused (…)
 *     #   (exit 77)
 *     ```
 *
 * Lines starting `#   ` (hash and three spaces) under a command are lines its output must contain, in
 * that order (stdout, then stderr; each compared with one whole output line, trimmed). In them, `…`
 * stands for any text, `<n>` for a number, and any other `<name>` for one word that is remembered:
 * a later command or output line that says `<name>` means that value (what a reader would copy).
 * `#   (exit N)` gives the exit status, 0 otherwise. Other `#` lines are comments.
 */
import { execFile } from 'node:child_process';

export interface ReadmeCommand {
  /** 1-based line of the README where the command starts. */
  readonly line: number;
  /** The shell command, continuation lines joined, trailing comment removed. */
  readonly command: string;
  /** For `NAME=…`: the variable the command sets for the ones after it. */
  readonly assigns?: string;
  readonly expected: readonly string[];
  readonly exitCode: number;
}

export interface ReadmeBlock {
  readonly line: number;
  readonly commands: readonly ReadmeCommand[];
}

const FENCE = /^(\s*)```sh checked\s*$/;
const OUTPUT = /^# {3}(.*)$/;
const EXIT = /^\(exit (\d+)\)$/;
const ASSIGNMENT = /^(?:export )?([A-Z][A-Z0-9_]*)=/;

export function parseCheckedBlocks(markdown: string): ReadmeBlock[] {
  const lines = markdown.split('\n');
  const blocks: ReadmeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = FENCE.exec(lines[i] as string);
    if (fence === null) continue;
    const indent = (fence[1] as string).length;
    const start = i + 1;
    const commands: { line: number; command: string; expected: string[]; exitCode: number }[] = [];
    for (i++; i < lines.length && (lines[i] as string).trim() !== '```'; i++) {
      let text = (lines[i] as string).slice(indent).trimEnd();
      const line = i + 1;
      while (text.endsWith('\\') && i + 1 < lines.length) {
        i++;
        text = `${text.slice(0, -1).trimEnd()} ${(lines[i] as string).trim()}`;
      }
      if (text === '') continue;
      const output = OUTPUT.exec(text);
      const last = commands.at(-1);
      if (output !== null) {
        if (last === undefined) throw new Error(`README line ${line}: an output line before any command`);
        const exit = EXIT.exec(output[1] as string);
        if (exit !== null) last.exitCode = Number(exit[1]);
        else last.expected.push((output[1] as string).trim());
      } else if (!text.startsWith('#')) {
        commands.push({ line, command: text.replace(/\s{2,}#\s.*$/, ''), expected: [], exitCode: 0 });
      }
    }
    blocks.push({
      line: start,
      commands: commands.map((c) => {
        const assigns = ASSIGNMENT.exec(c.command)?.[1];
        return assigns === undefined ? c : { ...c, assigns };
      }),
    });
  }
  return blocks;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** `<name>` placeholders replaced by the values remembered so far (unknown ones are left as they are). */
export function substitute(text: string, values: ReadonlyMap<string, string>): string {
  return text.replace(/<([a-z][a-z0-9-]*)>/g, (whole, name: string) => values.get(name) ?? whole);
}

/**
 * Checks that `output` holds the expected lines in order, each as one whole (trimmed) line; remembers
 * what each new `<name>` matched. Returns the first expected line not found, or undefined.
 */
export function findMissingLine(
  expected: readonly string[],
  output: string,
  values: Map<string, string>,
): string | undefined {
  const lines = output.split('\n').map((l) => l.trim());
  let at = 0;
  for (const want of expected) {
    const names: string[] = [];
    const pattern = want
      .split(/(…|<[a-z][a-z0-9-]*>)/)
      .map((part) => {
        if (part === '…') return '.*?';
        const name = /^<([a-z][a-z0-9-]*)>$/.exec(part)?.[1];
        if (name === undefined) return escapeRegExp(part);
        if (name === 'n') return '[0-9][0-9,]*';
        const known = values.get(name);
        if (known !== undefined) return escapeRegExp(known);
        names.push(name);
        return '(\\S+?)';
      })
      .join('');
    const regex = new RegExp(`^${pattern}$`);
    let found = false;
    for (; at < lines.length; at++) {
      const m = regex.exec(lines[at] as string);
      if (m === null) continue;
      names.forEach((name, k) => {
        values.set(name, m[k + 1] as string);
      });
      at++;
      found = true;
      break;
    }
    if (!found) return want;
  }
  return undefined;
}

export interface ShellRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs one README command in bash, in `cwd` (which holds the demo's `.careledger`), where
 * `npx careledger` is the CLI from this checkout's sources (what `npm install` builds into dist/):
 * `node <cliNodeArgs> …` (test/support/cli-entry.ts).
 * For `NAME=…`, stdout is what NAME was set to.
 */
export function runReadmeCommand(
  command: ReadmeCommand,
  text: string,
  options: { cwd: string; env: NodeJS.ProcessEnv; cliNodeArgs: readonly string[]; timeoutMs?: number },
): Promise<ShellRun> {
  const cli = options.cliNodeArgs.map((arg) => JSON.stringify(arg)).join(' ');
  const prelude = [
    'set -o pipefail',
    `npx() { if [ "$1" = careledger ]; then shift; node ${cli} "$@"; else command npx "$@"; fi; }`,
  ].join('\n');
  const script =
    command.assigns === undefined
      ? text
      : `${text}\nstatus=$?\nprintf %s "$${command.assigns}"\nexit $status`;
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', `${prelude}\n${script}`],
      {
        cwd: options.cwd,
        env: options.env,
        maxBuffer: 256 * 1024 * 1024,
        timeout: options.timeoutMs ?? 150_000,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
