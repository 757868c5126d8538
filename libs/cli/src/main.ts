import { UsageError, usage } from './args.js';
import { BUS_SUMMARY, bus, busInitSpec } from './bus-command.js';
import { follower, followerSpec, gateway, gatewaySpec, member, memberSpec, observer, observerSpec, standalone, standaloneSpec } from './commands.js';
import { MissingNatsServer } from './nats.js';
import { SHELL_SUMMARY, shell, shellSpec } from './shell.js';
import { status, statusSpec } from './status.js';
import { up, upSpec } from './up.js';
import { SCALE_SUMMARY, scale, scaleSpec } from './scale.js';

const commands: Record<string, { run: (argv: string[]) => Promise<void>; summary: string; spec: typeof memberSpec; usage?: string }> = {
  standalone: { run: standalone, summary: 'Run a one-member ensemble with its own nats-server and one gateway.', spec: standaloneSpec },
  member: { run: member, summary: 'Run the voting member of a standalone ensemble.', spec: memberSpec },
  follower: { run: follower, summary: 'Run a voting member of an ensemble (--id N --ensemble 1,2,3), or one joining it (--id N --join).', spec: followerSpec },
  observer: { run: observer, summary: 'Run a non-voting learner that serves reads.', spec: observerSpec },
  gateway: { run: gateway, summary: 'Run a session gateway (ZooKeeper client port).', spec: gatewaySpec },
  up: { run: up, summary: 'Run a local cluster (nats-server, members, observers, gateways), restarting what dies.', spec: upSpec },
  scale: { run: scale, summary: SCALE_SUMMARY, spec: scaleSpec },
  status: { run: status, summary: "Show the cluster's members and gateways from their presence announcements.", spec: statusSpec },
  shell: { run: shell, summary: SHELL_SUMMARY, spec: shellSpec },
  bus: { run: bus, summary: BUS_SUMMARY, spec: busInitSpec, usage: 'bus init' },
};

export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  const cmd = name ? commands[name] : undefined;
  if (!cmd) {
    const list = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(12)} ${c.summary}`);
    process.stderr.write(['usage: zooid <command> [flags]', '', ...list, ''].join('\n'));
    process.exitCode = name && name !== '--help' && name !== 'help' ? 2 : 0;
    return;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(usage(cmd.usage ?? name!, cmd.summary, cmd.spec) + '\n');
    return;
  }
  try {
    await cmd.run(rest);
  } catch (err) {
    if (err instanceof UsageError || err instanceof MissingNatsServer || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`zooid ${name}: ${(err as Error).message}\n`);
      process.exit(2);
    }
    if ((err as { code?: string }).code === 'ZOOID_BUS_UNREACHABLE') {
      process.stderr.write(`zooid ${name}: ${(err as Error).message}\n`);
      process.exit(1);
    }
    // A credential file that will not do: fixing it is the operator's, restarting cannot help.
    if ((err as { code?: string }).code === 'ZOOID_BUS_CREDENTIALS') {
      process.stderr.write(`zooid ${name}: ${(err as Error).message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
