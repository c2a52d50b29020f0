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
