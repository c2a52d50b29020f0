-- Process rows are locked in one order everywhere, so lease renewals, exits, sends and
-- signals cannot deadlock (issue 11, finding 4):
-- - a statement or transaction that changes more than one process row locks them all
--   first, in ascending pid, with aos.lock_processes (a child's exit wakes its parent, a
--   send wakes its target, a wait reaps a child);
-- - lease renewals never wait for a row: they skip rows locked by someone else and say
--   so ('busy'), and the worker tries those again at its next heartbeat;
-- - rows are locked FOR NO KEY UPDATE, which foreign-key checks (KEY SHARE: a journal
--   row, a message, an approval, a child naming the row) do not wait for.

-- Locks the rows of the given processes, in ascending pid, for the rest of the transaction.
create function aos.lock_processes(p_pids bigint[]) returns void language plpgsql as $$
begin
  perform pid from aos.processes where pid = any(p_pids) order by pid for no key update;
end $$;

-- Renews a worker's leases without waiting for any row: 'renewed' (with the pending
-- signals), 'busy' (another transaction holds the row now; the lease was still held when
-- looked at), or 'lost'.
create function aos.renew_leases(p_owner text, p_lease_ms int, p_pids bigint[], p_generations bigint[])
returns table (pid bigint, status text, pending_signals text[]) language plpgsql as $$
begin
  return query
  with held as (
    select h.pid, h.generation from unnest(p_pids, p_generations) as h (pid, generation)
  ),
  lockable as (
    select p.pid from aos.processes p join held h on h.pid = p.pid and h.generation = p.lease_generation
     where p.lease_owner = p_owner and p.state = 'running' and p.lease_expires_at > now()
     order by p.pid
       for no key update of p skip locked
  ),
  renewed as (
    update aos.processes p
       set lease_expires_at = now() + make_interval(secs => p_lease_ms / 1000.0)
      from lockable l where p.pid = l.pid
    returning p.pid, p.pending_signals
  )
  select h.pid,
         case when r.pid is not null then 'renewed'
              when exists (select 1 from aos.processes p
                            where p.pid = h.pid and p.lease_generation = h.generation and p.lease_owner = p_owner
                              and p.state = 'running' and p.lease_expires_at > now()) then 'busy'
              else 'lost' end,
         coalesce(r.pending_signals, '{}')
    from held h left join renewed r on r.pid = h.pid;
end $$;

-- Checks that the caller still holds a live lease, inside its own transaction; locks the row.
create or replace function aos.check_lease(p_pid bigint, p_generation bigint)
returns aos.processes language plpgsql as $$
declare
  v_process aos.processes;
begin
  select * into v_process from aos.processes p
   where p.pid = p_pid and p.lease_generation = p_generation and p.state = 'running' and p.lease_expires_at > now()
     for no key update;
  if not found then
    raise exception 'lease on process % (generation %) is lost', p_pid, p_generation using errcode = 'AOSLL';
  end if;
  return v_process;
end $$;

-- Parks a running process (see 0007); locks only its own row.
create or replace function aos.park_process(
  p_pid bigint, p_generation bigint, p_state text, p_reason text, p_detail jsonb, p_wake_at timestamptz,
  p_device text, p_seen_wake_seq bigint
) returns text language plpgsql as $$
declare
  v_process aos.processes;
begin
  select * into v_process from aos.processes
   where pid = p_pid and lease_generation = p_generation and state = 'running' and lease_expires_at > now()
     for no key update;
  if not found then
    raise exception 'lease on process % (generation %) is lost', p_pid, p_generation using errcode = 'AOSLL';
  end if;
  if cardinality(v_process.pending_signals) > 0
     or (p_seen_wake_seq is not null and v_process.wake_seq <> p_seen_wake_seq) then
    return 'woken';
  end if;
  update aos.processes
     set state = p_state, wait_reason = p_reason, wait_detail = p_detail, wake_at = p_wake_at,
         device = coalesce(p_device, device), lease_owner = null, lease_expires_at = null, updated_at = now()
   where pid = p_pid;
  return 'parked';
end $$;

-- Sends a signal (see 0009). A KILL of a process that holds no live lease exits it, which
-- wakes its parent: the parent's row and its own are locked first, in pid order.
create or replace function aos.signal_process(p_pid bigint, p_signal text)
returns text language plpgsql as $$
declare
  v_process aos.processes;
  v_signal text := upper(p_signal);
  v_live boolean;
begin
  if v_signal like 'SIG%' then
    v_signal := substr(v_signal, 4);
  end if;
  if v_signal not in ('TERM', 'KILL', 'STOP', 'CONT', 'INT', 'XCPU') then
    raise exception 'unknown signal "%"', p_signal
      using errcode = 'AOSIN', hint = 'use one of TERM, KILL, STOP, CONT, INT, XCPU';
  end if;
  -- A parent never changes, so it can be read before the locks are taken.
  perform aos.lock_processes(array[p_pid, (select ppid from aos.processes where pid = p_pid)]);
  select * into v_process from aos.processes where pid = p_pid;
  if not found then
    raise exception 'no process with pid %', p_pid using errcode = 'AOSNF', hint = 'list processes with: aos ps';
  end if;
  if v_process.state = 'exited' then
    raise exception 'process % has already exited (status %)', p_pid, v_process.exit_status
      using errcode = 'AOSCF', hint = 'read its result with: aos wait ' || p_pid;
  end if;
  v_live := v_process.state = 'running' and v_process.lease_expires_at > now();
  perform aos.audit_append('signal', p_pid, 'sql:' || session_user,
    jsonb_build_object('signal', v_signal, 'state', v_process.state)::text);

  if v_signal = 'CONT' then
    if v_process.state = 'stopped' then
      update aos.processes set state = 'ready', updated_at = now() where pid = p_pid;
      perform pg_notify('aos_wake', p_pid::text);
      return 'ready';
    end if;
    update aos.processes set pending_signals = array_remove(pending_signals, 'STOP'), updated_at = now()
     where pid = p_pid;
    return v_process.state;
  end if;

  if v_signal = 'KILL' and not v_live then
    insert into aos.steps (pid, seq, kind, name, status, messages, generation, finished_at)
    values (p_pid, coalesce((select max(s.seq) from aos.steps s where s.pid = p_pid), 0) + 1, 'signal', 'KILL',
            'done', '[]', v_process.lease_generation, now());
    perform aos.exit_process(p_pid, 128 + 9, null,
      jsonb_build_object('code', 'killed', 'message', 'killed by signal KILL'));
    return 'exited';
  end if;

  if v_signal = 'STOP' and not v_live then
    update aos.processes set state = 'stopped', lease_owner = null, lease_expires_at = null, updated_at = now()
     where pid = p_pid;
    return 'stopped';
  end if;

  if v_signal = 'INT' and not v_live then
    -- Nothing is in flight to interrupt.
    return v_process.state;
  end if;

  update aos.processes
     set pending_signals = case when v_signal = any(pending_signals) then pending_signals
                                else array_append(pending_signals, v_signal) end,
         -- A blocked process wakes up to handle TERM and XCPU (the blocking call is interrupted).
         state = case when v_signal in ('TERM', 'XCPU') and state in ('waiting', 'sleeping') then 'ready' else state end,
         updated_at = now()
   where pid = p_pid
  returning state into v_process.state;
  perform pg_notify('aos_signal', p_pid::text || ' ' || v_signal);
  perform pg_notify('aos_wake', p_pid::text);
  return v_process.state;
end $$;

-- Records a decision (see 0007); the process row is locked FOR NO KEY UPDATE.
create or replace function aos.decide_approval(p_pid bigint, p_id bigint, p_approved boolean, p_reason text, p_actor text)
returns text language plpgsql as $$
declare
  v_approval aos.approvals;
  v_state text;
  v_decision text := case when p_approved then 'approved' else 'denied' end;
begin
  select * into v_approval from aos.approvals where id = p_id and pid = p_pid for update;
  if not found then
    raise exception 'process % has no approval %', p_pid, p_id
      using errcode = 'AOSNF', hint = 'list pending approvals with: aos approvals';
  end if;
  if v_approval.decision is not null then
    raise exception 'approval % of process % was already %', p_id, p_pid, v_approval.decision
      using errcode = 'AOSCF', hint = 'a decision is final';
  end if;
  select state into v_state from aos.processes where pid = p_pid for no key update;
  if v_state = 'exited' then
    raise exception 'process % has exited; approval % can no longer be decided', p_pid, p_id
      using errcode = 'AOSCF', hint = 'list pending approvals with: aos approvals';
  end if;
  update aos.approvals
     set decision = v_decision, reason = p_reason, decided_by = coalesce(p_actor, 'sql:' || session_user),
         decided_at = now()
   where id = p_id;
  perform aos.audit_append('approval-decided', p_pid, coalesce(p_actor, 'sql:' || session_user),
    jsonb_build_object('approval', p_id, 'decision', v_decision, 'reason', p_reason)::text);
  update aos.processes
     set wake_seq = wake_seq + 1,
         state = case when state = 'waiting' and wait_reason in ('approval', 'several') then 'ready' else state end,
         wake_at = case when state = 'waiting' and wait_reason in ('approval', 'several') then null else wake_at end,
         updated_at = now()
   where pid = p_pid;
  perform pg_notify('aos_wake', p_pid::text);
  return v_decision;
end $$;
