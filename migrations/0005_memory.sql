-- Long-term memory: memories in namespaces, with full text (a generated tsvector) and an
-- embedding. Embeddings are stored as real[] so this migration is the same on servers with
-- and without pgvector; where the extension exists, aos creates an HNSW index per
-- embedding model at run time (src/memory/vector-index.ts), named memories_hnsw_*.

create sequence aos.memories_id_seq;

create table aos.memories (
  id bigint primary key default nextval('aos.memories_id_seq'),
  namespace text not null references aos.namespaces (name),
  -- The id callers know: an import line's "id", a page id ("p7"), or generated ("m42").
  external_id text not null check (length(external_id) between 1 and 200),
  kind text not null default 'episode' check (kind in ('episode', 'fact', 'procedure', 'page')),
  text text not null,
  source_pid bigint,
  at timestamptz not null default now(),
  -- Position in a conversation: neighbours share namespace and thread, seq ± w.
  thread text,
  seq integer,
  importance real not null default 0.5 check (importance >= 0 and importance <= 1),
  access_count integer not null default 0,
  last_accessed_at timestamptz,
  meta jsonb not null default '{}',
  -- Unit length; compared only with embeddings of the same model ("hash-v1/256").
  embedding real[],
  embedding_model text,
  search tsvector generated always as (to_tsvector('english', text)) stored,
  created_at timestamptz not null default now(),
  unique (namespace, external_id),
  check ((embedding is null) = (embedding_model is null))
);

alter sequence aos.memories_id_seq owned by aos.memories.id;

create index memories_search on aos.memories using gin (search);
create index memories_namespace_at on aos.memories (namespace, at);
create index memories_thread on aos.memories (namespace, thread, seq) where thread is not null;
