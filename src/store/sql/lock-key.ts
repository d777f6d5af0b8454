/** A lock name as a signed 32-bit number (FNV-1a), for engines whose locks are numbered. */
export function lockKey(name: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < name.length; index++) {
    hash ^= name.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}
