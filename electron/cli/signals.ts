/** Resolves with the first of SIGINT, SIGTERM or SIGHUP (a follow, a console or `serve` ends). */
export function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((res) => {
    const done = (sig: NodeJS.Signals) => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      process.off('SIGHUP', done);
      res(sig);
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
    process.on('SIGHUP', done);
  });
}
