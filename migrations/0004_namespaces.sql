-- Namespaces: the named spaces that long-term memory and the agent file system live in
-- ("process:12", "agent:researcher", "owner:local", or any other name). A namespace
-- exists once something was written to it; reading an unknown one is not_found.

create table aos.namespaces (
  name text primary key check (name ~ '^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,199}$'),
  created_at timestamptz not null default now()
);
