/**
 * `vivarium serve`: the engine as the owner of the VMs (like the app), served to a browser; prints
 * the URL with its access token and runs until a signal.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { engine } from './engine-access';
import type { CliKit } from './kit';
import { parseNumber } from './options';
import { writeOut, type JsonOpt } from './output';
import { waitForSignal } from './signals';

interface ServeOpts extends JsonOpt {
  host?: string;
  port?: number;
}

async function cmdServe(opts: ServeOpts): Promise<void> {
  const { startServer } = await import('../server');
  const eng = await engine('owner');
  // The built CLI is out/main/cli.js; the renderer is built to out/renderer.
  const staticDir = resolve(dirname(fileURLToPath(import.meta.url)), '../renderer');
  const server = await startServer({
    engine: eng,
    staticDir,
    ...(opts.host !== undefined && { host: opts.host }),
    ...(opts.port !== undefined && { port: opts.port }),
  });
  // The token rides in the fragment (#token=): browsers never send it to a server.
  const url = server.url;
  if (opts.json) writeOut(JSON.stringify({ url, port: server.port, token: server.token }));
  else writeOut(url);
  await waitForSignal();
  // "When Vivarium quits: suspend them": the running VMs go to disk before the server goes.
  const { saved, failed } = await eng.quitting();
  for (const name of saved) process.stderr.write(`Saved ${name} to disk.\n`);
  for (const f of failed) {
    process.stderr.write(`Could not save ${f.name} to disk (it keeps running): ${f.reason}\n`);
  }
  await server.close();
}

export function registerServeCommand(kit: CliKit): void {
  const { cmd, run } = kit;
  cmd('serve', 'serve the app to a browser; prints the URL with its access token')
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--port <port>', 'port (default: a free one)', parseNumber('The port'))
    .action(run(cmdServe));
}
