import { statfsSync } from "node:fs";

/**
 * Filesystems whose locking SQLite cannot rely on, by statfs type (linux/magic.h): SQLite's WAL
 * needs shared memory between processes of one host, which a network filesystem does not give.
 * https://www.sqlite.org/wal.html#sometimes_queries_return_sqlite_busy_in_wal_mode
 */
const NETWORK_FILESYSTEMS = new Map<number, string>([
  [0x6969, "nfs"],
  [0x517b, "smb"],
  [0xff534d42, "cifs"],
  [0xfe534d42, "smb2"],
  [0x73757245, "coda"],
  [0x5346414f, "afs"],
  [0x6b414653, "afs"],
  [0x00c36400, "ceph"],
  [0x01021997, "9p"],
  [0x01161970, "gfs2"],
  [0x7461636f, "ocfs2"],
  [0x0bd00bd0, "lustre"],
  [0x564c, "ncp"],
]);

/** The network filesystem a statfs type names, or null for a local one. */
export function networkFilesystemName(type: number | bigint): string | null {
  return NETWORK_FILESYSTEMS.get(Number(BigInt.asUintN(32, BigInt(type)))) ?? null;
}

/** The network filesystem `directory` is on, or null. */
export function networkFilesystemOf(directory: string, statfs: (path: string) => { type: number | bigint } = statfsSync): string | null {
  return networkFilesystemName(statfs(directory).type);
}
