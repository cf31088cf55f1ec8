#!/usr/bin/env node
/**
 * Command-line entry over the same core as the extension, one module per subcommand in src/cli/:
 *   attention-inspector inspect FILE --at LINE:COL [--model MODEL] [--top K] [--all] ...
 *   attention-inspector probe FILE [--models MODEL,MODEL] [--context N] [--depths 0,0.5,1] ...
 *   attention-inspector retrieval FILE [--models MODEL,MODEL] [--context N] ...
 *   attention-inspector focus FILE [--model MODEL] ...
 *   attention-inspector tokens FILE [--model MODEL] [--json]
 *   attention-inspector COMMAND --help
 * The flag forms of earlier releases keep working: `FILE --at L:C` is inspect, `FILE --probe` is probe, `FILE --focus`
 * is focus. Options are parsed strictly (a misspelt flag is an error, not ignored) and every number is checked.
 */
import { parse, UsageError, type Command } from './cli/args';
import { focusCommand } from './cli/focus';
import { inspectCommand } from './cli/inspect';
import { probeCommand } from './cli/probe';
import { retrievalCommand } from './cli/retrieval';
import { tokensCommand } from './cli/tokens';

const COMMANDS: readonly Command[] = [inspectCommand, probeCommand, retrievalCommand, focusCommand, tokensCommand];

const OVERVIEW =
  'usage: attention-inspector COMMAND FILE [options]     (attention-inspector COMMAND --help for its options)\n' +
  COMMANDS.map((c) => `  ${c.name.padEnd(9)} ${c.summary}`).join('\n') +
  '\nEarlier flag forms still work: FILE --at LINE:COL (inspect), FILE --probe (probe), FILE --focus (focus).';

/** The subcommand and its arguments, from a new-style or an earlier flag-style command line. */
function route(argv: string[]): { command: Command | undefined; args: string[] } {
  const named = COMMANDS.find((c) => c.name === argv[0]);
  if (named) return { command: named, args: argv.slice(1) };
  const without = (f: string) => argv.filter((a) => a !== f);
  if (argv.includes('--probe')) return { command: probeCommand, args: without('--probe') };
  if (argv.includes('--focus')) return { command: focusCommand, args: without('--focus') };
  if (argv.some((a) => a === '--at' || a.startsWith('--at='))) return { command: inspectCommand, args: argv };
  return { command: undefined, args: argv };
}

async function main(argv: string[]): Promise<number> {
  const { command, args } = route(argv);
  if (!command) {
    const asked = argv.length === 0 || argv.includes('--help') || argv.includes('-h');
    if (!asked) console.error(`attention-inspector: unknown command ${JSON.stringify(argv[0])}`);
    (asked ? console.log : console.error)(OVERVIEW);
    return asked ? 0 : 2;
  }
  try {
    const { values, positionals } = parse(command, args);
    if (values.help === true) {
      console.log(command.usage);
      return 0;
    }
    if (positionals.length !== command.positionals)
      throw new UsageError(`${command.name} takes ${command.positionals === 1 ? 'one FILE' : `${command.positionals} arguments`}, got ${positionals.length}`);
    return await command.run(values, positionals);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`attention-inspector ${command.name}: ${e.message}\n${command.usage}`);
    return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`attention-inspector: ${(e as Error).message}`);
    process.exit(1);
  },
);
