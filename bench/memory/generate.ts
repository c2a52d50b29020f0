/**
 * The memory evaluation set: long multi-session conversations between a user and an
 * assistant, generated from a seed, with questions asked after the last session whose
 * evidence turns are labelled. Facts are said once (single-hop), in the answer to the
 * assistant's question (adjacency), said and later changed (update: only the latest counts),
 * split over two sessions (multi-session), or dated (temporal); filler talk reuses the same
 * words about other people and things, so a question's words alone do not find its answer.
 * Questions paraphrase: inflections, other words, few words in common. See docs/benchmarks.md.
 */

/** One turn of a conversation, as it is imported (id, text, time, thread = session, seq). */
export interface Turn {
  id: string;
  text: string;
  time: string;
  thread: string;
  seq: number;
  speaker: 'user' | 'assistant';
}

export type Category = 'single-hop' | 'adjacency' | 'update' | 'multi-session' | 'temporal';

/** A question and the turns that answer it. */
export interface Question {
  id: string;
  conversation: string;
  query: string;
  evidence: string[];
  category: Category;
  /** Turns between the earliest evidence turn and the end of the conversation. */
  turnsBack: number;
}

export interface Conversation {
  id: string;
  turns: Turn[];
}

export interface EvaluationSet {
  seed: number;
  conversations: Conversation[];
  questions: Question[];
}

export interface GenerateOptions {
  conversations?: number;
  sessions?: number;
  /** Filler turns per session, before facts are added. */
  fillerTurns?: number;
}

type Random = () => number;

/** mulberry32: a small, fast, well-mixed 32-bit PRNG. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

const names = [
  'Maya',
  'Tomas',
  'Priya',
  'Jonas',
  'Leila',
  'Marco',
  'Aiko',
  'Dmitri',
  'Sofia',
  'Kwame',
  'Ines',
  'Farid',
  'Greta',
  'Luis',
  'Hana',
  'Oskar',
  'Zara',
  'Mateo',
  'Nadia',
  'Emil',
  'Amara',
  'Viktor',
  'Chloe',
  'Rafael',
  'Yuki',
  'Anders',
  'Lucia',
  'Tariq',
  'Elena',
  'Bruno',
  'Mina',
  'Pavel',
  'Noor',
  'Felix',
  'Ada',
  'Kenji',
];
/** Names for filler talk only, never in facts, so that a fact's name has one answer. */
const otherNames = [
  'Sam',
  'Robin',
  'Alex',
  'Jamie',
  'Charlie',
  'Kim',
  'Dana',
  'Morgan',
  'Riley',
  'Quinn',
  'Jesse',
  'Avery',
];
const relations = [
  'sister',
  'brother',
  'cousin',
  'best friend',
  'aunt',
  'uncle',
  'roommate',
  'neighbour',
  'niece',
  'nephew',
];
const cities = [
  'Lisbon',
  'Oslo',
  'Montreal',
  'Kyoto',
  'Nairobi',
  'Lyon',
  'Austin',
  'Krakow',
  'Melbourne',
  'Bogota',
  'Edinburgh',
  'Seville',
  'Tallinn',
  'Porto',
  'Denver',
  'Hanoi',
  'Valencia',
  'Gdansk',
  'Bergen',
  'Quito',
];
const companies = [
  'Acme',
  'Globex',
  'Initech',
  'Umbrella Labs',
  'Stark Freight',
  'Wayne Analytics',
  'Hooli',
  'Vandelay Imports',
  'Cyberdyne',
  'Soylent Foods',
  'Tyrell Bio',
  'Gringotts Bank',
  'Pied Piper',
  'Wonka Candy',
  'Oscorp',
];
const roles = [
  'designer',
  'data analyst',
  'product manager',
  'nurse',
  'teacher',
  'accountant',
  'sous chef',
  'engineer',
  'copywriter',
  'pharmacist',
  'architect',
  'paralegal',
  'electrician',
  'barista',
  'recruiter',
];
const pets = [
  { species: 'dog', young: 'puppy', breeds: ['beagle', 'corgi', 'labrador', 'greyhound', 'poodle'] },
  { species: 'cat', young: 'kitten', breeds: ['tabby', 'siamese', 'maine coon', 'ragdoll', 'bengal'] },
  { species: 'rabbit', young: 'bunny', breeds: ['lop', 'rex', 'dutch', 'lionhead'] },
];
const petNames = [
  'Biscuit',
  'Pepper',
  'Mochi',
  'Juniper',
  'Waffles',
  'Ziggy',
  'Clementine',
  'Otis',
  'Nori',
  'Pickles',
];
const lessons = [
  'cello',
  'pottery',
  'salsa',
  'Japanese',
  'climbing',
  'watercolour',
  'piano',
  'judo',
  'guitar',
  'sailing',
];
const weekdays = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const months = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
];
const races = ['half marathon', '10k', 'trail run', 'triathlon', 'charity 5k'];
const allergens = ['shellfish', 'peanuts', 'sesame', 'kiwi', 'penicillin', 'cats', 'pollen', 'walnuts'];
const books = [
  { title: 'The Salt Road', author: 'Ines Okafor' },
  { title: 'Winter Orchard', author: 'Pavel Lind' },
  { title: 'A Map of Small Fires', author: 'Noor Haddad' },
  { title: 'The Glass Ferry', author: 'Kenji Mori' },
  { title: 'Quiet Engines', author: 'Lucia Brandt' },
  { title: 'Northern Arithmetic', author: 'Emil Sato' },
];
const cars = [
  'Subaru Outback',
  'Honda Civic',
  'Volvo wagon',
  'Toyota Prius',
  'Mazda hatchback',
  'Ford pickup',
];
const colours = ['red', 'grey', 'blue', 'green', 'white', 'black'];
const foods = [
  'lentil soup',
  'mushroom risotto',
  'fish tacos',
  'ramen',
  'shakshuka',
  'banana bread',
  'curry',
  'paella',
];
const adjectives = ['great', 'exhausting', 'strange', 'lovely', 'hectic', 'quiet', 'rainy', 'wonderful'];
const projects = [
  'quarterly report',
  'website launch',
  'budget review',
  'client pitch',
  'inventory audit',
  'grant application',
];
const shows = [
  'a detective series',
  'a baking competition',
  'a documentary about octopuses',
  'an old sitcom',
  'a space drama',
];

/** Picks one element. */
function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** A snippet of turns to place in one session; `evidence` marks the answer turns. */
interface Snippet {
  turns: { speaker: 'user' | 'assistant'; text: string; evidence?: boolean }[];
}

/** A fact: one or two snippets (the second in a later session), and its questions. */
interface Fact {
  /** At most one fact per key in a conversation, so that every question has one answer. */
  key: string;
  snippets: Snippet[];
  questions: { query: string; category: Category; snippet: number[] }[];
}

const user = (text: string, evidence = false) => ({ speaker: 'user' as const, text, evidence });
const assistant = (text: string) => ({ speaker: 'assistant' as const, text });

/** The kinds of facts, each a function of the random source and of `fresh`, a name not used yet. */
const factMakers: ((random: Random, fresh: () => string) => Fact)[] = [
  // A relative moves: two questions on the same turn.
  (random, fresh) => {
    const relation = pick(random, relations);
    const name = fresh();
    const city = pick(random, cities);
    const company = pick(random, companies);
    return {
      key: `relative ${relation}`,
      snippets: [
        {
          turns: [
            user(`My ${relation} ${name} just moved to ${city} for a job at ${company}.`, true),
            assistant(`${city} is a big change! How is ${name} settling in so far?`),
            user(`Slowly. The apartment hunt there is rough, but ${name} sounds happy.`),
          ],
        },
      ],
      questions: [
        { query: `Which city did my ${relation} relocate to?`, category: 'single-hop', snippet: [0] },
        { query: `What company hired ${name}?`, category: 'single-hop', snippet: [0] },
      ],
    };
  },
  // A pet's name, said only in the answer to the assistant's question.
  (random) => {
    const pet = pick(random, pets);
    const breed = pick(random, pet.breeds);
    const name = pick(random, petNames);
    return {
      key: `pet ${pet.species}`,
      snippets: [
        {
          turns: [
            user(`We finally brought the ${pet.young} home from the shelter on Saturday.`),
            assistant('Congratulations! What did you end up naming the little one?'),
            user(`${name}! A ${breed}, and already the boss of the couch.`, true),
          ],
        },
      ],
      questions: [
        { query: `What is the name of my ${pet.species}?`, category: 'adjacency', snippet: [0] },
        { query: `What breed is ${name}?`, category: 'single-hop', snippet: [0] },
      ],
    };
  },
  // A job, then a new one: only the latest answers "now".
  (random) => {
    const first = pick(random, companies);
    const second = pick(
      random,
      companies.filter((company) => company !== first),
    );
    const [role, newRole] = [pick(random, roles), pick(random, roles)];
    return {
      key: 'job',
      snippets: [
        { turns: [user(`I started a new job as a ${role} at ${first}; the onboarding is intense.`, false)] },
        {
          turns: [
            user(`Big news: I left ${first} and took a job at ${second} as a ${newRole}.`, true),
            assistant(`That is exciting. What made you decide to switch to ${second}?`),
          ],
        },
      ],
      questions: [{ query: 'At which company is my current job?', category: 'update', snippet: [1] }],
    };
  },
  // Lessons, and their teacher a few sessions later: the question needs both.
  (random, fresh) => {
    const lesson = pick(random, lessons);
    const day = pick(random, weekdays);
    const teacher = fresh();
    return {
      key: `lessons ${lesson}`,
      snippets: [
        {
          turns: [
            user(`I signed up for ${lesson} lessons on ${day} evenings.`, true),
            assistant(`Fun! ${lesson} is a great pick.`),
          ],
        },
        { turns: [user(`My ${lesson} teacher, ${teacher}, says I am improving fast.`, true)] },
      ],
      questions: [
        {
          query: `On which day do I have the ${lesson} class that ${teacher} teaches?`,
          category: 'multi-session',
          snippet: [0, 1],
        },
      ],
    };
  },
  // A dated event.
  (random) => {
    const race = pick(random, races);
    const minutes = 25 + Math.floor(random() * 120);
    return {
      key: `race ${race}`,
      snippets: [
        {
          turns: [
            user(`I ran my first ${race} this morning, finished in ${minutes} minutes!`, true),
            assistant('Amazing, well done!'),
          ],
        },
      ],
      questions: [{ query: `When did I run the ${race}?`, category: 'temporal', snippet: [0] }],
    };
  },
  // An allergy: "allergic" in the turn, "allergy" in the question (different stems).
  (random) => {
    const allergen = pick(random, allergens);
    return {
      key: 'allergy',
      snippets: [
        {
          turns: [
            user(`Heads up for any recipes: I am allergic to ${allergen}.`, true),
            assistant('Noted, I will keep that in mind.'),
          ],
        },
      ],
      questions: [{ query: 'What allergy do I have?', category: 'single-hop', snippet: [0] }],
    };
  },
  // A book, by its author.
  (random) => {
    const book = pick(random, books);
    return {
      key: 'book',
      snippets: [
        {
          turns: [
            user(`I just finished ${book.title} by ${book.author}, could not put it down.`, true),
            assistant(`${book.title} gets a lot of praise. What did you like most?`),
          ],
        },
      ],
      questions: [
        { query: 'Who wrote the novel I could not put down?', category: 'single-hop', snippet: [0] },
      ],
    };
  },
  // A car, two turns after the word the question uses.
  (random) => {
    const car = pick(random, cars);
    const colour = pick(random, colours);
    return {
      key: 'car',
      snippets: [
        {
          turns: [
            user('We finally traded in the old sedan last week.'),
            assistant('Oh nice, what did you get instead?'),
            user(`A used ${colour} ${car}. It handles snow really well.`, true),
          ],
        },
      ],
      questions: [{ query: 'What vehicle replaced our old sedan?', category: 'adjacency', snippet: [0] }],
    };
  },
  // A trip, postponed later: the new month counts.
  (random) => {
    const city = pick(random, cities);
    const [month, later] = [pick(random, months.slice(0, 5)), pick(random, months.slice(5))];
    return {
      key: `trip ${city}`,
      snippets: [
        {
          turns: [
            user(`We are planning a trip to ${city} in ${month}.`),
            assistant(`${city} in ${month} sounds lovely.`),
          ],
        },
        { turns: [user(`We had to push the ${city} trip back to ${later}, work got in the way.`, true)] },
      ],
      questions: [{ query: `In what month are we travelling to ${city}?`, category: 'update', snippet: [1] }],
    };
  },
  // Advice from a physio (a procedure).
  (random) => {
    const part = pick(random, ['back', 'hamstrings', 'shoulders', 'ankles', 'neck']);
    const minutes = pick(random, ['five', 'ten', 'fifteen', 'twenty']);
    return {
      key: 'physio',
      snippets: [
        {
          turns: [
            user(`My physio told me to stretch my ${part} every morning for ${minutes} minutes.`, true),
          ],
        },
      ],
      questions: [
        {
          query: 'What exercise routine did the physiotherapist recommend?',
          category: 'single-hop',
          snippet: [0],
        },
      ],
    };
  },
];

/** Filler talk that reuses the facts' words about other people and things. */
const fillerMakers: ((random: Random) => Snippet)[] = [
  (random) => ({
    turns: [
      user(`The weather has been ${pick(random, adjectives)} all week.`),
      assistant(
        `${pick(random, ['A warm drink helps on days like that.', 'Maybe a walk will help.', 'Let us hope the weekend is better.'])}`,
      ),
    ],
  }),
  (random) => ({
    turns: [
      user(`I cooked ${pick(random, foods)} for dinner tonight.`),
      assistant(`${pick(random, foods)} would be a nice follow-up. Did it turn out well?`),
      user(`Mostly, I used too much salt.`),
    ],
  }),
  (random) => {
    const pet = pick(random, pets);
    return {
      turns: [
        user(
          `My coworker's ${pick(random, pet.breeds)} got out of the yard again, the whole office went looking for the ${pet.species}.`,
        ),
        assistant('Oh no, I hope they found it quickly.'),
      ],
    };
  },
  (random) => ({
    turns: [
      user(
        `A friend of mine, ${pick(random, otherNames)}, moved to ${pick(random, cities)} last year and loves the job there.`,
      ),
      assistant('That sounds like a good move.'),
    ],
  }),
  (random) => {
    const book = pick(random, books);
    return {
      turns: [
        user(`My book club is reading ${book.title}. Have you heard of ${book.author}?`),
        assistant(`${book.author} writes quiet, careful novels. Book clubs love them.`),
      ],
    };
  },
  (random) => ({
    turns: [
      user(
        `Work was stressful, the ${pick(random, projects)} deadline moved up to ${pick(random, weekdays)}.`,
      ),
      assistant('Deadlines like that are rough. Can you split the work with someone?'),
      user('Maybe, my manager is on leave though.'),
    ],
  }),
  (random) => ({
    turns: [
      user(`My neighbour is training for a ${pick(random, races)} and runs past every morning.`),
      assistant('That is dedication.'),
    ],
  }),
  (random) => ({
    turns: [
      user(`I keep thinking about taking ${pick(random, lessons)} lessons someday.`),
      assistant('You should! Classes are a great way to meet people.'),
    ],
  }),
  (random) => ({
    turns: [
      user(`We watched ${pick(random, shows)} last night.`),
      assistant('Was it any good?'),
      user(`It was ${pick(random, adjectives)}.`),
    ],
  }),
  (random) => ({
    turns: [
      user(
        `Can you remind me how to ${pick(random, ['fix a squeaky door', 'descale the kettle', 'water succulents', 'clean a cast iron pan'])}?`,
      ),
      assistant(
        `Sure: ${pick(random, ['start small', 'use warm water and vinegar', 'go slowly and check often', 'a little oil goes a long way'])}, and repeat every few weeks.`,
      ),
    ],
  }),
  (random) => ({
    turns: [
      user(
        `My cousin's car broke down on the way to ${pick(random, cities)}, a ${pick(random, colours)} ${pick(random, cars)}.`,
      ),
      assistant('Hopefully the repair is not too expensive.'),
    ],
  }),
  () => ({
    turns: [
      user('The allergy season is brutal this year, my eyes are itchy all day.'),
      assistant('Antihistamines might help.'),
    ],
  }),
  (random) => ({
    turns: [
      user(`${pick(random, otherNames)} from work just started a new job at ${pick(random, companies)}.`),
      assistant('Good for them.'),
    ],
  }),
];

/** Generates the evaluation set for `seed` (deterministic). */
export function generateEvaluationSet(seed: number, options: GenerateOptions = {}): EvaluationSet {
  const random = seededRandom(seed);
  const conversationCount = options.conversations ?? 10;
  const sessionCount = options.sessions ?? 24;
  const fillerTurns = options.fillerTurns ?? 24;
  const conversations: Conversation[] = [];
  const questions: Question[] = [];
  for (let c = 0; c < conversationCount; c++) {
    const conversationId = `c${c + 1}`;
    const used = new Set<string>();
    // Names of people in facts are unique in a conversation (there are more names than facts).
    const fresh = () => {
      const available = names.filter((each) => !used.has(each));
      if (available.length === 0)
        throw new Error('the evaluation set ran out of names: add names or make fewer facts');
      const name = pick(random, available);
      used.add(name);
      attemptNames.push(name);
      return name;
    };
    let attemptNames: string[] = [];
    // Each session: filler snippets, then fact snippets inserted at random places.
    const sessions: Snippet[][] = Array.from({ length: sessionCount }, () => {
      const snippets: Snippet[] = [];
      let turns = 0;
      while (turns < fillerTurns) {
        const snippet = pick(random, fillerMakers)(random);
        snippets.push(snippet);
        turns += snippet.turns.length;
      }
      return snippets;
    });
    const pending: { fact: Fact; placed: Snippet[] }[] = [];
    const keys = new Set<string>();
    const factCount = Math.round(sessionCount * 1.6);
    for (let attempt = 0; pending.length < factCount && attempt < factCount * 20; attempt++) {
      attemptNames = [];
      const fact = pick(random, factMakers)(random, fresh);
      if (keys.has(fact.key)) {
        // A refused fact gives its names back.
        for (const name of attemptNames) used.delete(name);
        continue;
      }
      keys.add(fact.key);
      // A two-part fact: the second part 3 or more sessions after the first.
      const first = Math.floor(random() * (fact.snippets.length > 1 ? sessionCount - 3 : sessionCount));
      const placements = [first];
      if (fact.snippets.length > 1)
        placements.push(first + 3 + Math.floor(random() * (sessionCount - first - 3)));
      fact.snippets.forEach((snippet, index) => {
        const session = sessions[placements[index]!]!;
        session.splice(Math.floor(random() * (session.length + 1)), 0, snippet);
      });
      pending.push({ fact, placed: fact.snippets });
    }
    // Number the turns; remember each evidence snippet's turn ids.
    const turns: Turn[] = [];
    const idsOf = new Map<Snippet, string[]>();
    let day = Date.UTC(2024, 0, 8);
    sessions.forEach((session, sessionIndex) => {
      day += (2 + Math.floor(random() * 12)) * 86_400_000;
      let minute = 18 * 60 + Math.floor(random() * 120);
      let seq = 0;
      for (const snippet of session) {
        const ids: string[] = [];
        for (const turn of snippet.turns) {
          seq += 1;
          minute += 1 + Math.floor(random() * 3);
          const id = `${conversationId}:s${sessionIndex + 1}:${seq}`;
          turns.push({
            id,
            text: turn.text,
            time: new Date(day + minute * 60_000).toISOString(),
            thread: `s${sessionIndex + 1}`,
            seq,
            speaker: turn.speaker,
          });
          if (turn.evidence) ids.push(id);
        }
        idsOf.set(snippet, ids);
      }
    });
    const position = new Map(turns.map((turn, index) => [turn.id, index]));
    for (const { fact, placed } of pending) {
      for (const question of fact.questions) {
        const evidence = question.snippet.flatMap((index) => idsOf.get(placed[index]!) ?? []);
        const earliest = Math.min(...evidence.map((id) => position.get(id)!));
        questions.push({
          id: `${conversationId}:q${questions.filter((q) => q.conversation === conversationId).length + 1}`,
          conversation: conversationId,
          query: question.query,
          evidence,
          category: question.category,
          turnsBack: turns.length - earliest,
        });
      }
    }
    conversations.push({ id: conversationId, turns });
  }
  return { seed, conversations, questions };
}
