-- Durable programs: every journal row of an operation records its position in the
-- program (op), so a process can be replayed from the start, each completed operation
-- answered from the journal. Wake-ups that cannot be lost (wake_seq), parking in one
-- checked statement, and approvals: a durable wait for a person's decision.

alter table aos.steps add column op int;
-- When a step journaled as started finishes, it takes a new seq here: replay releases
-- operations in the order they finished, so parallel branches replay as they ran.
alter table aos.steps add column finished_seq int;
alter table aos.steps drop constraint steps_kind_check;
alter table aos.steps add constraint steps_kind_check
  check (kind in ('spawn', 'model', 'tool', 'step', 'signal', 'notice', 'exit'));

-- Bumped by everything that may wake a blocked process (a message, a child's exit, a
-- decision), whatever the process's state: a process parks only if nothing came since it
-- last looked (aos.park_process), so a wake-up between the look and the park is not lost.
alter table aos.processes add column wake_seq bigint not null default 0;

drop function aos.append_step(bigint, bigint, int, text, text, text, text, jsonb, jsonb, jsonb, jsonb, int,
  bigint, text[], bigint, bigint, text, text, timestamptz);

-- Appends one journal step, fenced by the lease generation; one round trip per step.
-- Raises AOSLL when the caller no longer holds a live lease (nothing is written).
-- With p_audit_kind, also appends an audit entry in the same statement.
create function aos.append_step(
  p_pid bigint, p_generation bigint, p_lease_ms int, p_kind text, p_name text, p_call_id text,
  p_status text, p_input jsonb, p_output jsonb, p_messages jsonb, p_usage jsonb,
  p_steps int, p_tokens bigint, p_handled_signals text[], p_cached_tokens bigint default 0, p_cost_nanos bigint default 0,
  p_audit_kind text default null, p_audit_data text default null, p_started_at timestamptz default null,
  p_op int default null
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
                         started_at, finished_at, op)
  values (p_pid, v_seq, p_kind, p_name, p_call_id, p_status, p_input, p_output, coalesce(p_messages, '[]'),
          p_usage, p_generation, least(coalesce(p_started_at, now()), now()),
          case when p_status = 'started' then null else now() end, p_op);
  if p_audit_kind is not null then
    perform aos.audit_append(p_audit_kind, p_pid, 'process:' || p_pid, p_audit_data);
  end if;
  return query select v_seq, v_pending, v_state;
end $$;

drop function aos.finish_step(bigint, bigint, int, int, text, jsonb, jsonb, jsonb, int, bigint, text, text);

-- Completes a step journaled as started, fenced like append_step; returns the seq of its finish.
create function aos.finish_step(
  p_pid bigint, p_generation bigint, p_lease_ms int, p_seq int, p_status text, p_output jsonb,
  p_messages jsonb, p_usage jsonb, p_steps int, p_tokens bigint,
  p_audit_kind text default null, p_audit_data text default null
) returns table (seq int, pending_signals text[], state text) language plpgsql as $$
declare
  v_finished int;
  v_pending text[];
  v_state text;
begin
  update aos.processes p
     set next_seq = p.next_seq + 1,
         steps_used = p.steps_used + p_steps,
         tokens_used = p.tokens_used + p_tokens,
         vruntime = p.vruntime + p_tokens,
         lease_expires_at = now() + make_interval(secs => p_lease_ms / 1000.0),
         updated_at = now()
   where p.pid = p_pid and p.lease_generation = p_generation and p.state = 'running'
     and p.lease_expires_at > now()
  returning p.next_seq - 1, p.pending_signals, p.state into v_finished, v_pending, v_state;
  if not found then
    raise exception 'lease on process % (generation %) is lost', p_pid, p_generation using errcode = 'AOSLL';
  end if;
  update aos.steps s
     set status = p_status, output = p_output, messages = coalesce(p_messages, '[]'), usage = p_usage,
         finished_at = now(), generation = p_generation, finished_seq = v_finished
   where s.pid = p_pid and s.seq = p_seq;
  if p_audit_kind is not null then
    perform aos.audit_append(p_audit_kind, p_pid, 'process:' || p_pid, p_audit_data);
  end if;
  return query select v_finished, v_pending, v_state;
end $$;

-- Parks a running process (waiting or sleeping) and releases its lease, unless something
-- that could wake it arrived since it looked (wake_seq moved on) or a signal is pending:
-- then it stays running and returns 'woken', and the caller looks again.
create function aos.park_process(
  p_pid bigint, p_generation bigint, p_state text, p_reason text, p_detail jsonb, p_wake_at timestamptz,
  p_device text, p_seen_wake_seq bigint
) returns text language plpgsql as $$
declare
  v_process aos.processes;
begin
  select * into v_process from aos.processes
   where pid = p_pid and lease_generation = p_generation and state = 'running' and lease_expires_at > now()
     for update;
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

-- Puts a message in a process's mailbox and wakes it when it is waiting for one.
create or replace function aos.send_message(p_pid bigint, p_body text, p_sender bigint)
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
  update aos.processes
     set wake_seq = wake_seq + 1,
         state = case when state = 'waiting' and wait_reason in ('message', 'several') then 'ready' else state end,
         wake_at = case when state = 'waiting' and wait_reason in ('message', 'several') then null else wake_at end,
         updated_at = now()
   where pid = p_pid;
  perform pg_notify('aos_wake', p_pid::text);
  return v_id;
end $$;

-- Ends a process: exit status, result, wakes a parent waiting for a child. Not fenced: callers are.
create or replace function aos.exit_process(p_pid bigint, p_status int, p_result jsonb, p_error jsonb)
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
    update aos.processes
       set wake_seq = wake_seq + 1,
           state = case when state = 'waiting' and wait_reason in ('child', 'several') then 'ready' else state end,
           wake_at = case when state = 'waiting' and wait_reason in ('child', 'several') then null else wake_at end,
           updated_at = now()
     where pid = v_ppid and state <> 'exited';
  end if;
  perform pg_notify('aos_exit', p_pid::text);
  if v_ppid is not null then
    perform pg_notify('aos_wake', v_ppid::text);
  end if;
end $$;

-- Approvals: a process asks a person (ctx.approval, or the approval tool); the call waits
-- until someone decides with aos approve / aos deny. One row per asking call.
create table aos.approvals (
  id bigint generated always as identity primary key,
  pid bigint not null references aos.processes (pid),
  call_id text not null,
  question text not null,
  requested_at timestamptz not null default now(),
  decision text check (decision in ('approved', 'denied')),
  reason text,
  decided_by text,
  decided_at timestamptz,
  unique (pid, call_id)
);

create index approvals_pending on aos.approvals (requested_at) where decision is null;

-- Records a decision and wakes the process that asked. not_found for an unknown approval,
-- conflict when it was decided already or its process has exited.
create function aos.decide_approval(p_pid bigint, p_id bigint, p_approved boolean, p_reason text, p_actor text)
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
  select state into v_state from aos.processes where pid = p_pid for update;
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

-- The SQL face of approvals.
create function aos.approve(p_pid bigint, p_id bigint, p_reason text default null) returns text
language sql as $$ select aos.decide_approval(p_pid, p_id, true, p_reason, null) $$;

create function aos.deny(p_pid bigint, p_id bigint, p_reason text default null) returns text
language sql as $$ select aos.decide_approval(p_pid, p_id, false, p_reason, null) $$;
