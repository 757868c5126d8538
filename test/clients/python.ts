/**
 * Runs the kazoo scripts in test/clients with Debian's /usr/bin/python3 (the
 * one python3-kazoo is installed for; the pyenv python3 on PATH has no kazoo).
 * A script prints one JSON object as its last stdout line and exits non-zero
 * on any failure; it also kills itself after KZ_DEADLINE seconds.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export const PYTHON = '/usr/bin/python3';
export const CLIENTS_DIR = import.meta.dirname;

export function runPython<T = Record<string, any>>(script: string, args: string[], deadlineS = 60): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(
      PYTHON,
      [join(CLIENTS_DIR, script), ...args],
      {
        cwd: CLIENTS_DIR,
        env: { ...process.env, KZ_DEADLINE: String(deadlineS), PYTHONDONTWRITEBYTECODE: '1' },
        // A last resort: the script's own alarm fires first.
        timeout: (deadlineS + 15) * 1000,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`${script} ${args.join(' ')} failed (${err.code ?? err.signal}):\n${stderr}\n${stdout}`));
          return;
        }
        const last = stdout.trim().split('\n').at(-1) ?? '';
        try {
          resolve(JSON.parse(last) as T);
        } catch {
          reject(new Error(`${script} printed no JSON result:\n${stdout}\n${stderr}`));
        }
      },
    );
  });
}
