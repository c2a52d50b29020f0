-- The process table, agent definitions, the journal and mailboxes.
-- State changes are audited with aos.audit_append (created in 0003_audit.sql; PL/pgSQL
-- resolves it when a function runs, after all migrations are applied).

create table aos.agents (
  name text not null,
  version int not null,
  digest text not null,
  definition jsonb not null,
  source text,
  created_at timestamptz not null default now(),
  primary key (name, version),
  unique (name, digest)
);

create table aos.processes (
  pid bigint generated always as identity primary key,
  ppid bigint references aos.processes (pid),
  owner text not null default 'local',
  agent_name text not null,
  agent_version int not null,
  input text not null default '',
  state text not null default 'ready'
    check (state in ('ready', 'running', 'waiting', 'sleeping', 'stopped', 'exited')),
  wait_reason text,
  wait_detail jsonb,
  wake_at timestamptz,
  priority int not null default 0,
  vruntime bigint not null default 0,
  limits jsonb not null default '{}',
  -- A model string that overrides the agent's own for this process (aos run --model).
  model text,
  -- The device a process is parked on while it waits for a rate-limit slot.
  device text,
  steps_used int not null default 0,
  tokens_used bigint not null default 0,
  cached_tokens bigint not null default 0,
  cost_nanos bigint not null default 0,
  next_seq int not null default 1,
  pending_signals text[] not null default '{}',
  term_deadline_step int,
  term_deadline_at timestamptz,
  exit_status int,
  result jsonb,
  error jsonb,
  lease_owner text,
  lease_generation bigint not null default 0,
  lease_expires_at timestamptz,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  exited_at timestamptz,
  reaped_at timestamptz,
  updated_at timestamptz not null default now(),
  foreign key (agent_name, agent_version) references aos.agents (name, version)
) with (fillfactor = 70);

-- vruntime changes at every step, so it is left out of every index: updates of a running
-- process's row stay HOT (no index writes), which keeps a step close to one plain INSERT.
create index processes_runnable on aos.processes (priority desc, pid)
  where state in ('ready', 'running', 'waiting', 'sleeping');
create index processes_parent on aos.processes (ppid);
create index processes_owner on aos.processes (owner);

-- The journal: one row per step. `messages` is the context delta the step produced.
create table aos.steps (
  pid bigint not null references aos.processes (pid),
  seq int not null,
  kind text not null check (kind in ('spawn', 'model', 'tool', 'signal', 'notice', 'exit')),
  name text,
  call_id text,
  status text not null check (status in ('started', 'done', 'failed', 'unknown-outcome', 'cancelled')),
  input jsonb,
  output jsonb,
  messages jsonb not null default '[]',
  usage jsonb,
  generation bigint not null,
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  primary key (pid, seq)
);

-- Mailboxes: a message is consumed by the receive step that journals it, in one transaction.
create table aos.mailbox (
  id bigint generated always as identity primary key,
  pid bigint not null references aos.processes (pid),
  sender_pid bigint,
  body text not null,
  sent_at timestamptz not null default now(),
  received_at timestamptz
);

create index mailbox_unread on aos.mailbox (pid, id) where received_at is null;

-- Registers an agent definition; the same content keeps its version, new content gets the next one.
create function aos.register_agent(p_name text, p_digest text, p_definition jsonb, p_source text)
returns int language plpgsql as $$
declare
  v_version int;
begin
  perform pg_advisory_xact_lock(hashtext('aos.agents:' || p_name));
  select version into v_version from aos.agents where name = p_name and digest = p_digest;
  if found then
    return v_version;
  end if;
  select coalesce(max(version), 0) + 1 into v_version from aos.agents where name = p_name;
  insert into aos.agents (name, version, digest, definition, source)
  values (p_name, v_version, p_digest, p_definition, p_source);
  return v_version;
end $$;

-- Creates a process in state ready with its input as the first journal step.
create function aos.spawn_process(
  p_agent_name text, p_input text, p_ppid bigint, p_owner text, p_priority int, p_limits jsonb,
  p_agent_version int default null, p_model text default null
) returns bigint language plpgsql as $$
declare
  v_version int := p_agent_version;
  v_pid bigint;
begin
  if v_version is null then
    select max(version) into v_version from aos.agents where name = p_agent_name;
    if v_version is null then
      raise exception 'no agent named "%"', p_agent_name
        using errcode = 'AOSNF', hint = 'register it first: aos run FILE.md, or aos.register_agent(...)';
    end if;
  end if;
  if p_ppid is not null and not exists (select 1 from aos.processes where pid = p_ppid) then
    raise exception 'no process with pid %', p_ppid using errcode = 'AOSNF', hint = 'list processes with: aos ps';
  end if;
  insert into aos.processes (ppid, owner, agent_name, agent_version, input, priority, limits, next_seq, model)
  values (p_ppid, coalesce(p_owner, 'local'), p_agent_name, v_version, coalesce(p_input, ''),
          coalesce(p_priority, 0), coalesce(p_limits, '{}'), 2, p_model)
  returning pid into v_pid;
  insert into aos.steps (pid, seq, kind, status, input, messages, generation, finished_at)
  values (v_pid, 1, 'spawn', 'done', jsonb_build_object('input', coalesce(p_input, '')),
          jsonb_build_array(jsonb_build_object('role', 'user', 'content', coalesce(p_input, ''))), 0, now());
  perform aos.audit_append('spawn', v_pid, coalesce('process:' || p_ppid, 'sql:' || session_user),
    jsonb_build_object('agent', p_agent_name, 'version', v_version, 'ppid', p_ppid, 'model', p_model,
                       'input_sha256', encode(sha256(convert_to(coalesce(p_input, ''), 'UTF8')), 'hex'))::text);
  perform pg_notify('aos_wake', v_pid::text);
  return v_pid;
end $$;

-- Ends a process: exit status, result, wakes a parent waiting for a child. Not fenced: callers are.
create function aos.exit_process(p_pid bigint, p_status int, p_result jsonb, p_error jsonb)
returns void language plpgsql as $$
declare
  v_ppid bigint;
begin
  update aos.processes
     set state = 'exited', exit_status = p_status, result = p_result, error = p_error, exited_at = now(),
         updated_at = now(), wait_reason = null, wait_detail = null, wake_at = null, pending_signals = '{}',
         lease_owner = null, lease_expires_at = null
   where pid = p_pid and state <> 'exited'
  returning ppid into v_ppid;
  if not found then
    return;
  end if;
  update aos.steps set status = 'cancelled', finished_at = now() where pid = p_pid and status = 'started';
  perform aos.audit_append('exit', p_pid, 'process:' || p_pid,
    jsonb_build_object('status', p_status, 'error', p_error,
                       'result_sha256', encode(sha256(convert_to(coalesce(p_result::text, ''), 'UTF8')), 'hex'))::text);
  if v_ppid is not null then
    update aos.processes set state = 'ready', wake_at = null, updated_at = now()
     where pid = v_ppid and state = 'waiting' and wait_reason = 'child';
  end if;
  perform pg_notify('aos_exit', p_pid::text);
  if v_ppid is not null then
    perform pg_notify('aos_wake', v_ppid::text);
  end if;
end $$;

-- Sends a signal. A process that holds no live lease is acted on at once; a running one
-- finds the signal at its next step boundary (its worker is also told by NOTIFY).
create function aos.signal_process(p_pid bigint, p_signal text)
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
    values (p_pid, v_process.next_seq, 'signal', 'KILL', 'done', '[]', v_process.lease_generation, now());
    update aos.processes set next_seq = next_seq + 1 where pid = p_pid;
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

-- Puts a message in a process's mailbox and wakes it when it is waiting for one.
create function aos.send_message(p_pid bigint, p_body text, p_sender bigint)
returns bigint language plpgsql as $$
declare
  v_state text;
  v_id bigint;
begin
  select state into v_state from aos.processes where pid = p_pid;
  if not found then
    raise exception 'no process with pid %', p_pid using errcode = 'AOSNF', hint = 'list processes with: aos ps';
  end if;
  if v_state = 'exited' then
    raise exception 'process % has exited and cannot receive messages', p_pid
      using errcode = 'AOSCF', hint = 'send to a live process (aos ps)';
  end if;
  insert into aos.mailbox (pid, sender_pid, body) values (p_pid, p_sender, p_body) returning id into v_id;
  perform aos.audit_append('send', p_pid, coalesce('process:' || p_sender, 'sql:' || session_user),
    jsonb_build_object('message', v_id, 'body_sha256', encode(sha256(convert_to(p_body, 'UTF8')), 'hex'))::text);
  update aos.processes set state = 'ready', wake_at = null, updated_at = now()
   where pid = p_pid and state = 'waiting' and wait_reason = 'message';
  perform pg_notify('aos_wake', p_pid::text);
  return v_id;
end $$;

-- Appends one journal step, fenced by the lease generation; one round trip per step.
-- Raises AOSLL when the caller no longer holds a live lease (nothing is written).
-- With p_audit_kind, also appends an audit entry (aos.audit_append, migration 0003) in the same statement.
create function aos.append_step(
  p_pid bigint, p_generation bigint, p_lease_ms int, p_kind text, p_name text, p_call_id text,
  p_status text, p_input jsonb, p_output jsonb, p_messages jsonb, p_usage jsonb,
  p_steps int, p_tokens bigint, p_handled_signals text[], p_cached_tokens bigint default 0, p_cost_nanos bigint default 0,
  p_audit_kind text default null, p_audit_data text default null, p_started_at timestamptz default null
) returns table (seq int, pending_signals text[], state text) language plpgsql as $$
declare
  v_seq int;
  v_pending text[];
  v_state text;
  v_signal text;
begin
  update aos.processes p
     set next_seq = p.next_seq + 1,
         steps_used = p.steps_used + p_steps,
         tokens_used = p.tokens_used + p_tokens,
         cached_tokens = p.cached_tokens + p_cached_tokens,
         cost_nanos = p.cost_nanos + p_cost_nanos,
         vruntime = p.vruntime + p_tokens,
         lease_expires_at = now() + make_interval(secs => p_lease_ms / 1000.0),
         updated_at = now()
   where p.pid = p_pid and p.lease_generation = p_generation and p.state = 'running'
     and p.lease_expires_at > now()
  returning p.next_seq - 1, p.pending_signals, p.state into v_seq, v_pending, v_state;
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
                         started_at, finished_at)
  values (p_pid, v_seq, p_kind, p_name, p_call_id, p_status, p_input, p_output, coalesce(p_messages, '[]'),
          p_usage, p_generation, least(coalesce(p_started_at, now()), now()),
          case when p_status = 'started' then null else now() end);
  if p_audit_kind is not null then
    perform aos.audit_append(p_audit_kind, p_pid, 'process:' || p_pid, p_audit_data);
  end if;
  return query select v_seq, v_pending, v_state;
end $$;

-- Completes a step journaled as started, fenced like append_step.
create function aos.finish_step(
  p_pid bigint, p_generation bigint, p_lease_ms int, p_seq int, p_status text, p_output jsonb,
  p_messages jsonb, p_usage jsonb, p_steps int, p_tokens bigint,
  p_audit_kind text default null, p_audit_data text default null
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
         finished_at = now(), generation = p_generation
   where s.pid = p_pid and s.seq = p_seq;
  if p_audit_kind is not null then
    perform aos.audit_append(p_audit_kind, p_pid, 'process:' || p_pid, p_audit_data);
  end if;
  return query select p_seq, v_pending, v_state;
end $$;

-- Checks that the caller still holds a live lease, inside its own transaction; locks the row.
create function aos.check_lease(p_pid bigint, p_generation bigint)
returns aos.processes language plpgsql as $$
declare
  v_process aos.processes;
begin
  select * into v_process from aos.processes p
   where p.pid = p_pid and p.lease_generation = p_generation and p.state = 'running' and p.lease_expires_at > now()
     for update;
  if not found then
    raise exception 'lease on process % (generation %) is lost', p_pid, p_generation using errcode = 'AOSLL';
  end if;
  return v_process;
end $$;

-- The SQL face: what a person types in psql.
create function aos.spawn(p_agent_name text, p_input text default '') returns bigint
language sql as $$ select aos.spawn_process(p_agent_name, p_input, null, current_user, 0, '{}') $$;

create function aos.kill(p_pid bigint, p_signal text default 'TERM') returns text
language sql as $$ select aos.signal_process(p_pid, p_signal) $$;

create function aos.send(p_pid bigint, p_body text) returns bigint
language sql as $$ select aos.send_message(p_pid, p_body, null) $$;

create view aos.ps as
select pid, ppid, owner, agent_name as agent, state, wait_reason, priority, steps_used as steps,
       tokens_used as tokens, cost_nanos / 1e9 as cost_usd, exit_status, created_at, exited_at
  from aos.processes
 where reaped_at is null
 order by pid;
