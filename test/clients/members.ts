/**
 * Group members in their own processes (test/clients/nzk-member.cjs, a
 * node-zookeeper-client session each), so a test can end a member the way a
 * real one ends: closing its session, or dying with SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';

export interface MemberInfo {
  /** Session id, 16 hex digits. */
  sessionId: string;
  /** Session password, hex. */
  password: string;
  /** Negotiated session timeout, ms. */
  timeout: number;
  /** The znode it created. */
  path: string;
}

export interface MemberProcess {
  child: ChildProcess;
  info: MemberInfo;
  /** The session id as ZooKeeper prints it: 0x without leading zeros. */
  sid: string;
  exited: Promise<number | null>;
  /** Closes stdin: the member sends closeSession and exits. Resolves with its exit code. */
  close(): Promise<number | null>;
  /** SIGKILL: no closeSession, the session has to expire. */
  kill(): Promise<void>;
}

export async function startMember(connectString: string, path: string, mode: 'ephemeral' | 'ephemeral_sequential', timeoutMs: number): Promise<MemberProcess> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'nzk-member.cjs'), connectString, path, mode, String(timeoutMs)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    void exited.then((code) => reject(new Error(`member process exited ${code}: ${err}`)));
  });
  const info = JSON.parse(line) as MemberInfo;
  return {
    child,
    info,
    sid: '0x' + BigInt('0x' + info.sessionId).toString(16),
    exited,
    close: () => {
      child.stdin!.end();
      return exited;
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
