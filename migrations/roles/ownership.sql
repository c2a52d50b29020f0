-- Gives the aos schema and everything in it to aos_owner, the role no one logs in as.
-- Run by `aos init` on a PostgreSQL server, as a superuser or a role that may act as
-- aos_owner; idempotent. Indexes and the sequences of identity columns follow their tables.

do $$
declare
  r record;
begin
  execute format('grant create on database %I to aos_owner', current_database());
  alter schema aos owner to aos_owner;
  for r in
    select c.oid::regclass::text as name, c.relkind
      from pg_class c
     where c.relnamespace = 'aos'::regnamespace
       and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
       and not exists (select 1 from pg_depend d
                        where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype in ('a', 'i'))
  loop
    if r.relkind = 'S' then
      execute format('alter sequence %s owner to aos_owner', r.name);
    elsif r.relkind in ('v', 'm') then
      execute format('alter %s %s owner to aos_owner',
                     case r.relkind when 'v' then 'view' else 'materialized view' end, r.name);
    else
      execute format('alter table %s owner to aos_owner', r.name);
    end if;
  end loop;
  for r in select d.oid::regdictionary::text as name from pg_ts_dict d where d.dictnamespace = 'aos'::regnamespace loop
    execute format('alter text search dictionary %s owner to aos_owner', r.name);
  end loop;
  for r in select c.oid::regconfig::text as name from pg_ts_config c where c.cfgnamespace = 'aos'::regnamespace loop
    execute format('alter text search configuration %s owner to aos_owner', r.name);
  end loop;
  for r in select t.oid::regtype::text as name from pg_type t
            where t.typnamespace = 'aos'::regnamespace and t.typtype in ('e', 'd', 'r', 'm')
               or (t.typnamespace = 'aos'::regnamespace and t.typtype = 'c'
                   and (select relkind from pg_class where oid = t.typrelid) = 'c') loop
    execute format('alter type %s owner to aos_owner', r.name);
  end loop;
  for r in select p.oid::regprocedure::text as signature, p.prokind
             from pg_proc p where p.pronamespace = 'aos'::regnamespace loop
    execute format('alter %s %s owner to aos_owner',
                   case r.prokind when 'p' then 'procedure' when 'a' then 'aggregate' else 'function' end,
                   r.signature);
  end loop;
end $$;
