-- What follows an exit (the agent's episode, the export of its trace) is attached to the
-- exit itself: a trigger queues the process here whenever its state becomes 'exited', by
-- whatever path (a slice's exit, the finish tool, KILL of a process that is not running,
-- a limit), in the exit's own transaction; workers drain the queue
-- (src/process/exit-effects.ts), one exit per transaction, retrying an exit whose effects
-- failed with a growing delay. So every exit behaves alike, and no episode is lost to a crash
-- (a trace export is tried once; `aos trace PID --otlp` sends it again).

create table aos.exit_effects (
  pid bigint primary key references aos.processes (pid) on delete cascade,
  queued_at timestamptz not null default now(),
  attempts int not null default 0,
  next_try_at timestamptz not null default now(),
  last_error text
);

create function aos.queue_exit_effects() returns trigger language plpgsql as $$
begin
  insert into aos.exit_effects (pid) values (new.pid) on conflict do nothing;
  return null;
end $$;

create trigger processes_exit_effects after update of state on aos.processes
  for each row when (new.state = 'exited' and old.state is distinct from 'exited')
  execute function aos.queue_exit_effects();
