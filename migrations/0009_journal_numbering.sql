-- Journal rows are numbered by whoever writes them: the worker holding the lease numbers
-- its own (it knows the journal it replayed), and a SQL function writing with no live
-- lease takes the next number after the last row. So a step (ctx.step, ctx.now,
-- ctx.random) is journaled with one INSERT fenced by reading the process row, without
-- updating it; two writers that raced anyway collide on the journal's primary key.
-- processes.next_seq is no longer kept.

-- Sends a signal. A process that holds no live lease is acted on at once; a running one
-- finds the signal at its next step boundary (its worker is also told by NOTIFY).
create or replace function aos.signal_process(p_pid bigint, p_signal text)
returns text language plpgsql as $$
declare
  v_process aos.processes;
  v_signal text := upper(p_signal);
  v_live boolean;
  v_number int;
begin
  if v_signal like 'SIG%' then
    v_signal := substr(v_signal, 4);
  end if;
  if v_signal not in ('TERM', 'KILL', 'STOP', 'CONT', 'INT', 'XCPU') then
    raise exception 'unknown signal "%"', p_signal
      using errcode = 'AOSIN', hint = 'use one of TERM, KILL, STOP, CONT, INT, XCPU';
  end if;
  select * into v_process from aos.processes where pid = p_pid for update;
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
  v_number := case v_signal when 'KILL' then 9 when 'TERM' then 15 when 'XCPU' then 24 else 0 end;

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

drop function aos.append_step(bigint, bigint, int, text, text, text, text, jsonb, jsonb, jsonb, jsonb, int,
  bigint, text[], bigint, bigint, text, text, timestamptz, int);

-- Appends journal step p_seq, fenced by the lease generation; one round trip per step.
-- Raises AOSLL when the caller no longer holds a live lease (nothing is written).
-- With p_audit_kind, also appends an audit entry in the same statement.
create function aos.append_step(
  p_pid bigint, p_generation bigint, p_lease_ms int, p_kind text, p_name text, p_call_id text,
  p_status text, p_input jsonb, p_output jsonb, p_messages jsonb, p_usage jsonb,
  p_steps int, p_tokens bigint, p_handled_signals text[], p_cached_tokens bigint, p_cost_nanos bigint,
  p_audit_kind text, p_audit_data text, p_started_at timestamptz, p_op int, p_seq int
) returns table (seq int, pending_signals text[], state text) language plpgsql as $$
declare
  v_pending text[];
  v_state text;
  v_signal text;
begin
  update aos.processes p
     set steps_used = p.steps_used + p_steps,
         tokens_used = p.tokens_used + p_tokens,
         cached_tokens = p.cached_tokens + p_cached_tokens,
         cost_nanos = p.cost_nanos + p_cost_nanos,
         vruntime = p.vruntime + p_tokens,
         lease_expires_at = now() + make_interval(secs => p_lease_ms / 1000.0),
         updated_at = now()
   where p.pid = p_pid and p.lease_generation = p_generation and p.state = 'running'
     and p.lease_expires_at > now()
  returning p.pending_signals, p.state into v_pending, v_state;
  if not found then
    raise exception 'lease on process % (generation %) is lost', p_pid, p_generation using errcode = 'AOSLL';
  end if;
  if p_handled_signals is not null and cardinality(p_handled_signals) > 0 then
    foreach v_signal in array p_handled_signals loop
      v_pending := array_remove(v_pending, v_signal);
    end loop;
    update aos.processes p set pending_signals = v_pending where p.pid = p_pid;
  end if;
  insert into aos.steps (pid, seq, kind, name, call_id, status, input, output, messages, usage, generation,
                         started_at, finished_at, op)
  values (p_pid, p_seq, p_kind, p_name, p_call_id, p_status, p_input, p_output, coalesce(p_messages, '[]'),
          p_usage, p_generation, least(coalesce(p_started_at, now()), now()),
          case when p_status = 'started' then null else now() end, p_op);
  if p_audit_kind is not null then
    perform aos.audit_append(p_audit_kind, p_pid, 'process:' || p_pid, p_audit_data);
  end if;
  return query select p_seq, v_pending, v_state;
end $$;

drop function aos.finish_step(bigint, bigint, int, int, text, jsonb, jsonb, jsonb, int, bigint, text, text);

-- Completes step p_seq, journaled as started, fenced like append_step; p_finished_seq numbers its finish.
create function aos.finish_step(
  p_pid bigint, p_generation bigint, p_lease_ms int, p_seq int, p_status text, p_output jsonb,
  p_messages jsonb, p_usage jsonb, p_steps int, p_tokens bigint,
  p_audit_kind text, p_audit_data text, p_finished_seq int
) returns table (seq int, pending_signals text[], state text) language plpgsql as $$
declare
  v_pending text[];
  v_state text;
begin
  update aos.processes p
     set steps_used = p.steps_used + p_steps,
         tokens_used = p.tokens_used + p_tokens,
         vruntime = p.vruntime + p_tokens,
         lease_expires_at = now() + make_interval(secs => p_lease_ms / 1000.0),
         updated_at = now()
   where p.pid = p_pid and p.lease_generation = p_generation and p.state = 'running'
     and p.lease_expires_at > now()
  returning p.pending_signals, p.state into v_pending, v_state;
  if not found then
    raise exception 'lease on process % (generation %) is lost', p_pid, p_generation using errcode = 'AOSLL';
  end if;
  update aos.steps s
     set status = p_status, output = p_output, messages = coalesce(p_messages, '[]'), usage = p_usage,
         finished_at = now(), generation = p_generation, finished_seq = p_finished_seq
   where s.pid = p_pid and s.seq = p_seq;
  if p_audit_kind is not null then
    perform aos.audit_append(p_audit_kind, p_pid, 'process:' || p_pid, p_audit_data);
  end if;
  return query select p_finished_seq, v_pending, v_state;
end $$;
