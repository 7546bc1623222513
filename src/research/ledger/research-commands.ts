/**
 * `careledger research list|show|propose|vote|open|close|join|leave|feasibility` and
 * `careledger patient credits` (issue 18, decision 0024), each part in the module of its duty.
 * Operator commands go to a member node with that node's operator token (from its folder under the
 * data dir, or --url and --token-file); join and leave sign the patient's EIP-712 consent on this
 * machine and have their node relay it; feasibility asks every active member as the research member.
 */
import type { Command } from 'commander';
import { type CommandOutput, createResearchCli } from './research-cli.js';
import { registerFeasibilityCommand } from './research-feasibility-command.js';
import { registerPatientCommands } from './research-patient-commands.js';
import { registerStudyCommands } from './research-study-commands.js';

export { type CommandOutput, parseStudyId } from './research-cli.js';
export { protocolOfOptions } from './research-study-commands.js';

export function registerResearchCommands(program: Command, out: CommandOutput = process.stdout): void {
  const cli = createResearchCli(program, out);
  registerStudyCommands(cli);
  registerPatientCommands(cli);
  registerFeasibilityCommand(cli);
}
