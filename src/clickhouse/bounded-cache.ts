/**
 * The one kind of cache the client keeps: keyed by text (SQL, a result's header, a column
 * or table name) and bounded by the size of that text as well as by entries, so memory
 * does not grow with distinct texts however long they are.
 */

/**
 * Bounds of a `BoundedCache`; sizes are in string characters (UTF-16 code units).
 *
 * @example
 * const limits: CacheLimits = { maxEntries: 512, maxKeyLength: 16_384, maxChars: 1_048_576 };
 */
export interface CacheLimits {
  readonly maxEntries: number;
  /** A longer key is not cached at all (the caller computes its value each time). */
  readonly maxKeyLength: number;
  /** The most characters of all keys together; the oldest entries go first to make room. */
  readonly maxChars: number;
}

/**
 * A map from text to what was computed from it, weighed by the length of the key: what is
 * kept for a key (a parsed template, a header's readers) is about as large as the key.
 * Eviction is oldest first, so a hit costs one `Map.get` and nothing more.
 *
 * @example
 * const templates = new BoundedCache<string[]>({ maxEntries: 512, maxKeyLength: 16_384, maxChars: 4 << 20 });
 * templates.set(sql, parts);
 * templates.get(sql); // parts, or undefined once evicted (or when sql was too long to keep)
 */
export class BoundedCache<V> {
  readonly #limits: CacheLimits;
  readonly #map = new Map<string, V>();
  #chars = 0;

  constructor(limits: CacheLimits) {
    this.#limits = limits;
  }

  get(key: string): V | undefined {
    return this.#map.get(key);
  }

  /** True when `set(key, ...)` would keep it: a caller may then copy the key first (see `ownCopy`). */
  accepts(key: string): boolean {
    return key.length <= this.#limits.maxKeyLength && key.length <= this.#limits.maxChars;
  }

  /** Keeps `value` under `key` unless the key is too long; evicts the oldest entries to make room. */
  set(key: string, value: V): void {
    if (!this.accepts(key)) return;
    this.delete(key);
    const { maxEntries, maxChars } = this.#limits;
    for (const oldest of this.#map.keys()) {
      if (this.#map.size < maxEntries && this.#chars + key.length <= maxChars) break;
      this.delete(oldest);
    }
    this.#map.set(key, value);
    this.#chars += key.length;
  }

  delete(key: string): void {
    if (this.#map.delete(key)) this.#chars -= key.length;
  }

  /** Entries kept. */
  get size(): number {
    return this.#map.size;
  }

  /** Characters of all keys kept. */
  get chars(): number {
    return this.#chars;
  }
}

/**
 * A copy of `text` that shares no memory with the string it was cut from. V8 keeps a slice
 * (`body.slice(0, 100)`, `split`) as a view into its parent, so a cached 100-character
 * slice of a 200 MB response would keep the whole response alive; a cache keeps copies.
 *
 * @example
 * headers.set(ownCopy(body.slice(0, end)), header);
 */
export function ownCopy(text: string): string {
  return Buffer.from(text, 'utf16le').toString('utf16le');
}
