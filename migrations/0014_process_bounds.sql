-- Bounds on what a process may do by itself (issue 12, findings 1 and 3).

-- An approval is keyed by the operation that asked (its position in the process's
-- journal, assigned by the kernel), never by the call id the model sent: two questions
-- with the same call id are two approvals, each decided by a person. A replay or a
-- recovery of the same operation finds its own approval again.
alter table aos.approvals add column op bigint;
alter table aos.approvals drop constraint approvals_pid_call_id_key;

-- Approvals asked before this migration: the operation is the one the process is parked on.
update aos.approvals a
   set op = (c.value ->> 'op')::bigint
  from aos.processes p, jsonb_array_elements(
         case when jsonb_typeof(p.wait_detail -> 'calls') = 'array' then p.wait_detail -> 'calls' else '[]' end
       ) c
 where p.pid = a.pid and c.value ->> 'approval' = a.id::text and c.value ? 'op';

create unique index approvals_operation on aos.approvals (pid, op);

-- The limits of a tree of processes: for the process and each of its ancestors that has
-- limits (its agent's, overridden by its own), what its whole subtree has used: a child's
-- use is charged to every ancestor, so a root's limits bound the tree. p_steps, p_tokens
-- and p_cost are the caller's own counters (ahead of its row during a slice). Only reads:
-- no row is locked, so checking it at every step boundary cannot deadlock.
create function aos.tree_usage(p_pid bigint, p_steps bigint, p_tokens bigint, p_cost bigint)
returns table (pid bigint, limits jsonb, started_at timestamptz, steps bigint, tokens bigint, cost_nanos bigint)
language sql stable as $$
  with recursive up (pid, ppid, depth) as (
    select p.pid, p.ppid, 0 from aos.processes p where p.pid = p_pid
    union all
    select p.pid, p.ppid, up.depth + 1 from aos.processes p join up on p.pid = up.ppid where up.depth < 1000
  ),
  limited as (
    select p.pid, coalesce(a.definition -> 'limits', '{}') || p.limits as limits,
           coalesce(p.started_at, now()) as started_at
      from up join aos.processes p on p.pid = up.pid
      join aos.agents a on a.name = p.agent_name and a.version = p.agent_version
  ),
  down (top, pid, depth) as (
    select l.pid, l.pid, 0 from limited l where l.limits <> '{}'
    union all
    select d.top, c.pid, d.depth + 1 from down d join aos.processes c on c.ppid = d.pid where d.depth < 1000
  )
  select l.pid, l.limits, l.started_at,
         sum(case when p.pid = p_pid then p_steps else p.steps_used end)::bigint,
         sum(case when p.pid = p_pid then p_tokens else p.tokens_used end)::bigint,
         sum(case when p.pid = p_pid then p_cost else p.cost_nanos end)::bigint
    from down d join limited l on l.pid = d.top join aos.processes p on p.pid = d.pid
   group by l.pid, l.limits, l.started_at
   order by l.pid
$$;
