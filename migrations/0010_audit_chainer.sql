-- Audit entries are chained asynchronously, in batches, instead of one at a time at commit.
-- An append is a plain insert into aos.audit_pending: no lock shared between appenders, so
-- appends run in parallel. aos.chain_audit (called by workers every tick, at kernel start,
-- and by audit verify, show, export and checkpoint) moves committed pending entries into
-- the chain, many per transaction, under the head row lock, which only chainers take.
-- An entry is not tamper-evident until it is chained; see docs/audit.md.

drop trigger audit_pending_chain on aos.audit_pending;
drop function aos.audit_chain_pending();

-- The time of the append (the event), stored as the text that will be hashed.
alter table aos.audit_pending
  add column at text not null default to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');

-- Appends one entry (data: JSON text) in the caller's transaction; it is chained after that commits.
create or replace function aos.audit_append(p_kind text, p_pid bigint, p_actor text, p_data text)
returns void language sql as $$
  insert into aos.audit_pending (kind, pid, actor, data) values (p_kind, p_pid, p_actor, p_data)
$$;

-- Only the chainer removes pending entries (and only the chainer writes aos.audit): it marks
-- its transaction with aos.audit_chainer. This guards against mistakes, like the triggers on
-- aos.audit; what detects deliberate changes is the chain and the signed checkpoints.
create function aos.audit_chainer_only() returns trigger language plpgsql as $$
begin
  if current_setting('aos.audit_chainer', true) is distinct from 'on' then
    raise exception '% on % is done only by aos.chain_audit', tg_op, tg_table_name
      using errcode = 'AOSFB', hint = 'append audit entries with aos.audit_append; they are chained by aos.chain_audit';
  end if;
  return null;
end $$;

create trigger audit_pending_no_update before update on aos.audit_pending
  for each statement execute function aos.audit_reject_change();
create trigger audit_pending_no_truncate before truncate on aos.audit_pending
  for each statement execute function aos.audit_reject_change();
create trigger audit_pending_chainer_delete before delete on aos.audit_pending
  for each statement execute function aos.audit_chainer_only();
create trigger audit_chainer_insert before insert on aos.audit
  for each statement execute function aos.audit_chainer_only();

-- Chains up to p_limit committed pending entries, in append (seq) order, in the caller's
-- transaction; returns how many. Call it in a transaction of its own (autocommit): it
-- holds the head row lock until that commits. Chainers serialize on that lock; with
-- p_wait false a chainer that finds another at work returns 0 at once. Every committed
-- pending entry is eventually chained, exactly once: the chainer takes whatever pending
-- entries its snapshot sees (no "last chained" watermark, so an entry whose transaction
-- took its seq early and committed late is not skipped: it is chained in a later batch),
-- and deletes them in the same transaction that chains them.
create function aos.chain_audit(p_limit int default 10000, p_wait boolean default true)
returns int language plpgsql as $$
declare
  v_head aos.audit_head;
  v_id bigint;
  v_hash bytea;
  v_seqs bigint[] := '{}';
  v_ids bigint[] := '{}';
  v_ats text[] := '{}';
  v_kinds text[] := '{}';
  v_pids bigint[] := '{}';
  v_actors text[] := '{}';
  v_datas text[] := '{}';
  v_prevs bytea[] := '{}';
  v_hashes bytea[] := '{}';
  r record;
begin
  if not exists (select 1 from aos.audit_pending) then
    return 0;
  end if;
  if p_wait then
    select * into v_head from aos.audit_head for update;
  else
    select * into v_head from aos.audit_head for update skip locked;
    if not found then
      return 0;
    end if;
  end if;
  v_id := v_head.id;
  v_hash := v_head.hash;
  for r in select seq, at, kind, pid, actor, data from aos.audit_pending order by seq limit p_limit loop
    v_id := v_id + 1;
    v_seqs := array_append(v_seqs, r.seq);
    v_ids := array_append(v_ids, v_id);
    v_ats := array_append(v_ats, r.at);
    v_kinds := array_append(v_kinds, r.kind);
    v_pids := array_append(v_pids, r.pid);
    v_actors := array_append(v_actors, r.actor);
    v_datas := array_append(v_datas, r.data);
    v_prevs := array_append(v_prevs, v_hash);
    v_hash := sha256(v_hash || convert_to(aos.audit_entry_text(v_id, r.at, r.kind, r.pid, r.actor, r.data), 'UTF8'));
    v_hashes := array_append(v_hashes, v_hash);
  end loop;
  if v_id = v_head.id then
    return 0;
  end if;
  perform set_config('aos.audit_chainer', 'on', true);
  insert into aos.audit (id, at, kind, pid, actor, data, prev_hash, hash)
    select * from unnest(v_ids, v_ats, v_kinds, v_pids, v_actors, v_datas, v_prevs, v_hashes);
  -- Exactly the rows chained (a join, not "= any": a generic plan would scan the array per row).
  delete from aos.audit_pending p using unnest(v_seqs) as chained(seq) where p.seq = chained.seq;
  perform set_config('aos.audit_chainer', 'off', true);
  update aos.audit_head set id = v_id, hash = v_hash;
  return v_id - v_head.id;
end $$;
