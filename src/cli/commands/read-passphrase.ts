/** The passphrase of a patient keystore, from the environment or typed on a terminal without echo. */
import { CareLedgerError } from '../../errors/index.js';
import type { CommandOutput } from './proof-verify.js';

/** Where the passphrase comes from when there is no terminal; never from an argument (ps, shell history). */
export const PASSPHRASE_ENV = 'CARELEDGER_PASSPHRASE';

/** The part of a TTY read stream the prompt uses (process.stdin, or a fake in tests). */
export interface PassphraseInput {
  readonly isTTY?: boolean;
  readonly isRaw?: boolean;
  setRawMode?(mode: boolean): unknown;
  setEncoding(encoding: BufferEncoding): unknown;
  on(event: 'data', listener: (chunk: string) => void): unknown;
  off(event: 'data', listener: (chunk: string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

export interface PassphraseSource {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly stdin?: PassphraseInput;
  /** Where prompts go: stderr, so that stdout stays clean for --json. */
  readonly stderr?: CommandOutput;
}

/**
 * The passphrase from $CARELEDGER_PASSPHRASE if set, else typed on the terminal without echo
 * (twice when `confirm`). With neither, ERR_CONFIG: there is deliberately no command-line option.
 */
export async function readPassphrase(
  source: PassphraseSource,
  prompt: { readonly question: string; readonly confirm: boolean },
): Promise<string> {
  const fromEnv = (source.env ?? process.env)[PASSPHRASE_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const stdin = source.stdin ?? process.stdin;
  const stderr = source.stderr ?? process.stderr;
  if (stdin.isTTY !== true || typeof stdin.setRawMode !== 'function') {
    throw new CareLedgerError(
      'ERR_CONFIG',
      `no passphrase: set ${PASSPHRASE_ENV} or run on a terminal to type it (it is never taken from the command line)`,
    );
  }
  const passphrase = await promptHidden(stdin, stderr, prompt.question);
  if (prompt.confirm && (await promptHidden(stdin, stderr, 'Repeat the passphrase: ')) !== passphrase) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'the two passphrases differ');
  }
  return passphrase;
}

/** Reads one line in raw mode, echoing nothing; Enter ends it, Backspace and Ctrl-U edit it. */
function promptHidden(stdin: PassphraseInput, stderr: CommandOutput, question: string): Promise<string> {
  const wasRaw = stdin.isRaw === true;
  // Echo off before the prompt shows, so that even quick typing (or a paste) is never echoed.
  stdin.setRawMode?.(true);
  stdin.setEncoding('utf8');
  stderr.write(question);
  return new Promise((resolve, reject) => {
    let value = '';
    // Skip escape sequences (arrow keys and the like) instead of typing their tails: CSI sequences
    // end with a byte from @ to ~ (ECMA-48 §5.4); SS3 (ESC O x, application-mode keys) is one byte.
    let sequence: 'none' | 'esc' | 'csi' | 'ss3' = 'none';
    const finish = (error?: CareLedgerError) => {
      stdin.off('data', onData);
      stdin.setRawMode?.(wasRaw);
      stdin.pause();
      stderr.write('\n');
      if (error === undefined) resolve(value);
      else reject(error);
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (sequence === 'esc') {
          sequence = char === '[' ? 'csi' : char === 'O' ? 'ss3' : 'none';
          continue;
        }
        if (sequence === 'ss3' || (sequence === 'csi' && char >= '@' && char <= '~')) {
          sequence = 'none';
          continue;
        }
        if (sequence === 'csi') continue;
        if (char === '\r' || char === '\n') return finish();
        // Raw mode turns Ctrl-C and Ctrl-D into plain bytes; honour them as "stop".
        if (char === '\u0003' || (char === '\u0004' && value === '')) {
          return finish(new CareLedgerError('ERR_INVALID_INPUT', 'cancelled at the passphrase prompt'));
        }
        if (char === '\u007f' || char === '\b') value = [...value].slice(0, -1).join('');
        else if (char === '\u0015') value = '';
        else if (char === '\u001b') sequence = 'esc';
        else if (char >= ' ') value += char;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}
