-- The identity of this aos database: one random id, made when the database is created,
-- kept for its whole life (and by a dump and restore). Ids derived from it, such as the
-- OTLP trace id of a process (sha256 of this id and the pid), so differ between two
-- databases and stay the same when a process's trace is exported again.

create table aos.identity (
  singleton boolean primary key default true check (singleton),
  id uuid not null default gen_random_uuid(),
  created_at timestamptz not null default now()
);

insert into aos.identity default values;
