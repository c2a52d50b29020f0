-- The audit log: append-only, each entry hash-chained to the one before it.
-- Every column that is hashed is stored as the exact text that was hashed, so any
-- client can recompute the chain without trusting the database's own functions.

create table aos.audit (
  id bigint primary key,
  -- UTC, microseconds, ISO 8601: 2026-11-24T20:23:01.123456Z
  at text not null,
  kind text not null,
  pid bigint,
  actor text not null,
  -- JSON text, hashed exactly as stored (canonical JSON from the kernel, jsonb text from SQL functions).
  data text not null,
  prev_hash bytea not null,
  hash bytea not null
);

create index audit_pid on aos.audit (pid, id);
create index audit_kind on aos.audit (kind, id);

-- The chain head: the last id and hash. Appends lock it, so ids are gapless and in order.
create table aos.audit_head (
  singleton boolean primary key default true check (singleton),
  id bigint not null,
  hash bytea not null
);

insert into aos.audit_head (id, hash) values (0, '\x0000000000000000000000000000000000000000000000000000000000000000');

create function aos.audit_reject_change() returns trigger language plpgsql as $$
begin
  raise exception 'aos.audit is append-only: % is not allowed', tg_op
    using errcode = 'AOSFB', hint = 'audit entries can be added, never changed or removed';
end $$;

create trigger audit_no_update before update or delete on aos.audit
  for each row execute function aos.audit_reject_change();
create trigger audit_no_truncate before truncate on aos.audit
  for each statement execute function aos.audit_reject_change();

-- The bytes an entry's hash covers, after the previous hash: its stored columns, one per line.
create function aos.audit_entry_text(p_id bigint, p_at text, p_kind text, p_pid bigint, p_actor text, p_data text)
returns text language sql immutable as $$
  select p_id::text || e'\n' || p_at || e'\n' || p_kind || e'\n' || coalesce(p_pid::text, '') || e'\n' ||
         p_actor || e'\n' || p_data
$$;

-- Entries wait here until their transaction commits; a deferred trigger then chains them.
-- Chaining at commit means the lock on aos.audit_head is always the last lock a transaction
-- takes (no deadlock with the process rows it also locks) and is held only through commit.
create table aos.audit_pending (
  seq bigint generated always as identity primary key,
  kind text not null,
  pid bigint,
  actor text not null,
  data text not null
);

-- Queues one entry (data: JSON text) in the caller's transaction; it is chained when that commits.
create function aos.audit_append(p_kind text, p_pid bigint, p_actor text, p_data text)
returns void language sql as $$
  insert into aos.audit_pending (kind, pid, actor, data) values (p_kind, p_pid, p_actor, p_data)
$$;

create function aos.audit_chain_pending() returns trigger language plpgsql as $$
declare
  v_head aos.audit_head;
  v_id bigint;
  v_at text := to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
  v_hash bytea;
begin
  select * into v_head from aos.audit_head for update;
  v_id := v_head.id + 1;
  v_hash := sha256(v_head.hash ||
    convert_to(aos.audit_entry_text(v_id, v_at, new.kind, new.pid, new.actor, new.data), 'UTF8'));
  insert into aos.audit (id, at, kind, pid, actor, data, prev_hash, hash)
  values (v_id, v_at, new.kind, new.pid, new.actor, new.data, v_head.hash, v_hash);
  update aos.audit_head set id = v_id, hash = v_hash;
  delete from aos.audit_pending where seq = new.seq;
  return null;
end $$;

create constraint trigger audit_pending_chain after insert on aos.audit_pending
  deferrable initially deferred for each row execute function aos.audit_chain_pending();
