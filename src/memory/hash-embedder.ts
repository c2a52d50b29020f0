/**
 * The default embedder: feature hashing of words, word pairs and character n-grams
 * into a fixed-length signed vector. It needs no model, no download and no network, is
 * deterministic, and costs microseconds per text. What it adds over full text: partial
 * word matches (n-grams catch inflections the stemmer misses, compounds and typos) and
 * a similarity score for every memory; it knows no synonyms (see docs/memory.md).
 */
import { type Embedder, normalize } from './embedder.js';

/** Tuning of the hashing embedder; the defaults were chosen on bench/memory. */
export interface HashEmbedderOptions {
  /** Vector length; default 256. */
  dimensions?: number;
  /** Character n-gram lengths of each word (with boundary marks); default [3, 4]. */
  ngrams?: readonly number[];
  /** Weight of a word; default 1. */
  wordWeight?: number;
  /** Total weight of one word's n-grams; default 1. */
  ngramWeight?: number;
  /** Weight of a pair of adjacent words; default 0.5. */
  pairWeight?: number;
  /** Buckets each feature is spread over (so one collision costs only part of it); default 1. */
  probes?: number;
  /** Another hashing of the same features (which features collide changes); default none. */
  salt?: string;
}

/** English stop words (those of PostgreSQL's english dictionary), skipped so they do not dominate. */
export const stopWords: ReadonlySet<string> = new Set(
  (
    'i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers ' +
    'herself it its itself they them their theirs themselves what which who whom this that these those am is ' +
    'are was were be been being have has had having do does did doing a an the and but if or because as until ' +
    'while of at by for with about against between into through during before after above below to from up ' +
    'down in out on off over under again further then once here there when where why how all any both each ' +
    'few more most other some such no nor not only own same so than too very s t can will just don should now ' +
    'll re ve d m o y isn aren wasn weren hasn haven hadn doesn didn won wouldn shan shouldn couldn mustn mightn needn'
  ).split(' '),
);

/** Lower-cased words without diacritics, in order (letters and digits; everything else separates). */
export function wordsOf(text: string): string[] {
  return (
    text
      .normalize('NFKD')
      .replace(/\p{M}+/gu, '')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? []
  );
}

/** Feature hashing into `dimensions` signed buckets; the vector is L2-normalized. */
export class HashEmbedder implements Embedder {
  readonly id: string;
  /**
   * A tie-breaker: alone it finds half of what full text finds (bench/memory), and at equal
   * weight it pushes good full-text hits out.
   */
  readonly searchWeight = 0.05;
  private readonly dimensions: number;
  private readonly ngrams: readonly number[];
  private readonly wordWeight: number;
  private readonly ngramWeight: number;
  private readonly pairWeight: number;
  private readonly probes: number;
  private readonly salt: string;

  constructor(options: HashEmbedderOptions = {}) {
    this.dimensions = options.dimensions ?? 256;
    this.ngrams = options.ngrams ?? [3, 4];
    this.wordWeight = options.wordWeight ?? 1;
    this.ngramWeight = options.ngramWeight ?? 1;
    this.pairWeight = options.pairWeight ?? 0.5;
    this.probes = options.probes ?? 1;
    this.salt = options.salt ?? '';
    // The id names the features, so vectors made with other settings are never compared.
    const tuned =
      options.ngrams === undefined &&
      options.wordWeight === undefined &&
      options.ngramWeight === undefined &&
      options.pairWeight === undefined &&
      options.probes === undefined &&
      options.salt === undefined;
    this.id = tuned
      ? 'hash-v1'
      : `hash-v1(${this.ngrams.join('.')},${this.wordWeight},${this.ngramWeight},${this.pairWeight},${this.probes},${this.salt})`;
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    return texts.map((text) => this.embedOne(text));
  }

  /** The vector of one text. */
  embedOne(text: string): Float32Array {
    const vector = new Float32Array(this.dimensions);
    const words = wordsOf(text).filter((word) => !stopWords.has(word));
    const counts = new Map<string, number>();
    const add = (feature: string, weight: number) => counts.set(feature, (counts.get(feature) ?? 0) + weight);
    words.forEach((word, index) => {
      add(`w ${word}`, this.wordWeight);
      if (index > 0 && this.pairWeight > 0) add(`p ${words[index - 1]} ${word}`, this.pairWeight);
      if (this.ngramWeight > 0) {
        const marked = `<${word}>`;
        const grams: string[] = [];
        for (const length of this.ngrams) {
          for (let start = 0; start + length <= marked.length; start++)
            grams.push(marked.slice(start, start + length));
        }
        for (const gram of grams) add(`g ${gram}`, this.ngramWeight / grams.length);
      }
    });
    const share = 1 / Math.sqrt(this.probes);
    for (const [feature, weight] of counts) {
      // Sublinear in repetition: a word said five times is not five times as telling.
      const value = (weight > 1 ? 1 + Math.log(weight) : weight) * share;
      for (let probe = 0; probe < this.probes; probe++) {
        const hash = hashOf(`${this.salt}${probe === 0 ? '' : probe}${feature}`);
        const bucket = hash % this.dimensions;
        vector[bucket] = vector[bucket]! + ((hash & 0x80000000) === 0 ? value : -value);
      }
    }
    return normalize(vector);
  }
}

/** FNV-1a over UTF-16 code units, then murmur3's finalizer to spread the bits; unsigned. */
function hashOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}
