/**
 * VM folders, disks, logs, saved state, thumbnails and cached media are the user's alone: another
 * account on the same computer must not read a guest's disk or its serial log. Many of these
 * files are made by QEMU and qemu-img themselves (disks, `logfile=`, screendumps), which take the
 * creating process's umask; so every entry point (the CLI, the server, the app) sets a private
 * umask before it opens the engine, and everything it or its children create is 0600/0700.
 */
export function keepFilesPrivate(): void {
  if (process.platform !== 'win32') process.umask(0o077);
}
