// Replacing a file so that a crash at any moment leaves either the old or the
// new content, never a mix: write a temporary file in the same directory,
// fsync it, rename it over the target (atomic within one file system), then
// fsync the directory so the rename itself is durable.

import { open, readdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

let sequence = 0;

function tempPrefix(file: string): string {
  return `.${path.basename(file)}.`;
}

function tempPathFor(file: string): string {
  return path.join(path.dirname(file), `${tempPrefix(file)}${process.pid}.${sequence++}.tmp`);
}

async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempPathFor(file);
  try {
    const handle = await open(tmp, 'wx', 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fsyncDirectory(path.dirname(file));
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Temporary files a killed writer left next to `file` (only ours, by name,
 * and only those whose writing process is gone). Returns the names removed.
 */
export async function removeStaleTempFiles(file: string): Promise<string[]> {
  const dir = path.dirname(file);
  const prefix = tempPrefix(file);
  const removed: string[] = [];
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const m = /^(\d+)\.(\d+)\.tmp$/.exec(name.slice(prefix.length));
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processExists(pid)) continue;
    await unlink(path.join(dir, name)).catch(() => undefined);
    removed.push(name);
  }
  return removed;
}
