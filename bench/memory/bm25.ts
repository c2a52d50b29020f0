/**
 * The baseline: plain BM25 (k1 1.2, b 0.75) in JavaScript over lower-cased words with
 * English stop words removed and no stemming, the retriever most memory systems are
 * compared with. It runs in the benchmark process over the same turns aos imports.
 */
import { stopWords, wordsOf } from '../../src/memory/hash-embedder.js';

/** A BM25 index over documents with ids. */
export class Bm25Index {
  private readonly postings = new Map<string, Map<number, number>>();
  private readonly lengths: number[] = [];
  private readonly ids: string[] = [];
  private averageLength = 0;

  constructor(
    documents: readonly { id: string; text: string }[],
    private readonly k1 = 1.2,
    private readonly b = 0.75,
  ) {
    documents.forEach((document, index) => {
      const terms = tokens(document.text);
      this.ids.push(document.id);
      this.lengths.push(terms.length);
      for (const term of terms) {
        let posting = this.postings.get(term);
        if (posting === undefined) {
          posting = new Map();
          this.postings.set(term, posting);
        }
        posting.set(index, (posting.get(index) ?? 0) + 1);
      }
    });
    this.averageLength =
      this.lengths.reduce((sum, length) => sum + length, 0) / Math.max(1, this.lengths.length);
  }

  /** The ids of the `k` best documents for `query`, best first (ties by position). */
  search(query: string, k: number): string[] {
    const scores = new Map<number, number>();
    const total = this.ids.length;
    for (const term of new Set(tokens(query))) {
      const posting = this.postings.get(term);
      if (posting === undefined) continue;
      const idf = Math.log(1 + (total - posting.size + 0.5) / (posting.size + 0.5));
      for (const [document, frequency] of posting) {
        const norm = this.k1 * (1 - this.b + (this.b * this.lengths[document]!) / this.averageLength);
        scores.set(
          document,
          (scores.get(document) ?? 0) + (idf * frequency * (this.k1 + 1)) / (frequency + norm),
        );
      }
    }
    return [...scores]
      .sort((left, right) => right[1] - left[1] || left[0] - right[0])
      .slice(0, k)
      .map(([document]) => this.ids[document]!);
  }
}

function tokens(text: string): string[] {
  return wordsOf(text).filter((word) => !stopWords.has(word));
}
