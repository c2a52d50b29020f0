-- Memory full text without stemming: words as written (lower-cased), english stop words dropped.
-- The english configuration's stemming conflated the words that tell memories apart
-- ("runs" in a distractor matched "run" in a question): on bench/memory it lost 8 questions
-- and won 1 against words; inflections and paraphrases are the vector retriever's part
-- (its character n-grams). See docs/memory.md.
create text search dictionary aos.english_words (template = pg_catalog.simple, stopwords = english);
create text search configuration aos.english_words (copy = pg_catalog.simple);
alter text search configuration aos.english_words
  alter mapping for asciiword, word, numword, asciihword, hword, numhword, hword_asciipart, hword_part, hword_numpart
  with aos.english_words;

drop index aos.memories_search;
alter table aos.memories drop column search;
alter table aos.memories add column search tsvector
  generated always as (to_tsvector('aos.english_words', text)) stored;
create index memories_search on aos.memories using gin (search);
