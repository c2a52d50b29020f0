/**
 * The dialogue retrieval set: real multi-session conversations with questions whose
 * evidence turns are named (`../shared/data/dialogue-retrieval`, see its README). It is
 * licensed CC BY-NC and is never copied into this repository: it is read from
 * AOS_DIALOGUE_DATA, by default `<repo>/../shared/data/dialogue-retrieval`, where
 * `conversations.json` is the development half (tuned on) and `heldout.json`, or the
 * file AOS_DIALOGUE_HELDOUT names, the held-out half (only reported), when present.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One turn, ready for `aos mem import`. */
export interface DialogueMemory {
  id: string;
  text: string;
  time: string;
  thread: string;
  seq: number;
}

/** One question: its evidence turns (`gold`) and kind. */
export interface DialogueQuestion {
  id: string;
  query: string;
  gold: string[];
  category: string;
}

export interface DialogueConversation {
  conversation: string;
  memories: DialogueMemory[];
  questions: DialogueQuestion[];
}

/** The repository's top directory: the nearest ancestor of this file with a package.json. */
function repositoryRoot(): string {
  let folder = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(folder, 'package.json')) && dirname(folder) !== folder) folder = dirname(folder);
  return folder;
}

/** Where the set is read from. */
export function dialogueDataFolder(): string {
  return resolve(
    process.env.AOS_DIALOGUE_DATA ?? join(repositoryRoot(), '..', 'shared', 'data', 'dialogue-retrieval'),
  );
}

/** A half of the set: 'dev' (conversations.json) or 'held-out'; undefined when it is not there. */
export function loadDialogueHalf(half: 'dev' | 'held-out'): DialogueConversation[] | undefined {
  const file =
    half === 'dev'
      ? join(dialogueDataFolder(), 'conversations.json')
      : resolve(process.env.AOS_DIALOGUE_HELDOUT ?? join(dialogueDataFolder(), 'heldout.json'));
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as DialogueConversation[];
}

/** The ranks reported: recall@k for each k, and MRR over the first `ranksScored`. */
export const recallDepths = [1, 5, 10, 50] as const;
export const ranksScored = 50;

/** Recall@1/5/10/50 (share of the evidence in the first k) and reciprocal rank of one ranked list. */
export function dialogueScoreOf(ranked: readonly string[], question: DialogueQuestion) {
  const gold = new Set(question.gold);
  const recall = (k: number) => ranked.slice(0, k).filter((id) => gold.has(id)).length / gold.size;
  const first = ranked.slice(0, ranksScored).findIndex((id) => gold.has(id));
  return {
    r1: recall(1),
    r5: recall(5),
    r10: recall(10),
    r50: recall(50),
    mrr: first === -1 ? 0 : 1 / (first + 1),
  };
}

export type DialogueScore = ReturnType<typeof dialogueScoreOf>;

/** Mean scores per question kind, and over all ('all' first). */
export function byKind(
  questions: readonly DialogueQuestion[],
  scores: readonly DialogueScore[],
): Map<string, { count: number } & DialogueScore> {
  const groups = new Map<string, DialogueScore[]>([['all', []]]);
  questions.forEach((question, index) => {
    for (const key of ['all', question.category]) {
      const group = groups.get(key) ?? [];
      group.push(scores[index]!);
      groups.set(key, group);
    }
  });
  const mean = (group: DialogueScore[], pick: keyof DialogueScore) =>
    group.reduce((sum, score) => sum + score[pick], 0) / Math.max(1, group.length);
  return new Map(
    [...groups].map(([key, group]) => [
      key,
      {
        count: group.length,
        r1: mean(group, 'r1'),
        r5: mean(group, 'r5'),
        r10: mean(group, 'r10'),
        r50: mean(group, 'r50'),
        mrr: mean(group, 'mrr'),
      },
    ]),
  );
}
