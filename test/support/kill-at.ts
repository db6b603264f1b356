// Runs a support script in a process of its own until it prints a marker (it has reached
// the worst moment and waits there), then SIGKILLs it. Answers what it printed up to then.
import { spawn } from 'node:child_process';
import { once } from 'node:events';

export async function runUntilThenKill(
  script: string,
  args: string[],
  env: Record<string, string>,
  marker: string,
): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = once(child, 'exit');
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes(marker)) resolve();
    });
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}) before "${marker}":\n${output}`)));
  });
  child.kill('SIGKILL');
  const [, signal] = await exited;
  if (signal !== 'SIGKILL') throw new Error(`${script} ended by ${signal}, not by the kill`);
  return output;
}
