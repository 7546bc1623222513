/** Where a credential command writes (process.stdout, or a buffer in tests). */
export interface CommandOutput {
  write(text: string): unknown;
}
