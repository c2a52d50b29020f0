-- The agent file system: a versioned tree of files per namespace. Every write adds a
-- version of its path; a removal adds a tombstone version (kind 'removed'), so history
-- is never lost. Text files are kept as text, other bytes as bytea. aos.file_heads points
-- at the latest version of each path, for listing and searching without scanning history.

create table aos.files (
  namespace text not null references aos.namespaces (name),
  -- Normalised absolute POSIX path; "C" collation so that order and prefix ranges are
  -- byte order on every server (src/fs/paths.ts checks the same rules with hints).
  path text collate "C" not null check (
    octet_length(path) <= 1024
    and path ~ '^(/[^/[:cntrl:]]+)+$'
    and path !~ '/\.\.?(/|$)'
  ),
  version integer not null check (version > 0),
  kind text not null check (kind in ('text', 'binary', 'removed')),
  content text,
  data bytea,
  size bigint not null check (size >= 0),
  -- Hex SHA-256 of the bytes; null for a removal.
  sha256 text check (sha256 ~ '^[0-9a-f]{64}$'),
  -- The process that wrote it; null for a user (CLI, library). Not a foreign key: files
  -- outlive the processes that wrote them.
  author_pid bigint,
  created_at timestamptz not null default now(),
  primary key (namespace, path, version),
  check ((kind = 'text') = (content is not null)),
  check ((kind = 'binary') = (data is not null)),
  check ((kind = 'removed') = (sha256 is null))
);

create table aos.file_heads (
  namespace text not null,
  path text collate "C" not null,
  version integer not null,
  kind text not null,
  primary key (namespace, path),
  foreign key (namespace, path, version) references aos.files (namespace, path, version)
);

-- Writes one version of a path (p_kind 'text' or 'binary'), or a tombstone (p_kind
-- 'removed'), and moves the path's head to it. Writers of one namespace queue on an
-- advisory lock, so versions are gapless and the file/directory checks hold.
-- A write whose content equals the latest version's adds nothing: that version is
-- returned with created = false (so a write may be repeated safely).
-- Raises AOSNF when removing a path that has no live file, AOSCF when the path or one of
-- its parents (p_parents, computed by the caller) is in use as the other of file/directory.
create function aos.write_file(
  p_namespace text, p_path text, p_parents text[], p_kind text, p_content text, p_data bytea,
  p_size bigint, p_sha256 text, p_author_pid bigint
) returns table (version integer, author_pid bigint, created_at timestamptz, created boolean)
language plpgsql as $$
#variable_conflict use_column
declare
  head_version integer;
  head_kind text;
  head_sha256 text;
  head_author_pid bigint;
  head_created_at timestamptz;
  blocking text;
  new_version integer;
  new_created_at timestamptz;
begin
  -- The second key keeps this lock apart from the migration lock's single-key space.
  perform pg_advisory_xact_lock(7241006, hashtext(p_namespace));
  select h.version, h.kind, f.sha256, f.author_pid, f.created_at
    into head_version, head_kind, head_sha256, head_author_pid, head_created_at
    from aos.file_heads h
    join aos.files f on f.namespace = h.namespace and f.path = h.path and f.version = h.version
   where h.namespace = p_namespace and h.path = p_path;
  if p_kind = 'removed' then
    if head_kind is null or head_kind = 'removed' then
      raise exception 'no file % in namespace %', p_path, p_namespace
        using errcode = 'AOSNF', hint = 'list the files with: aos fs ls --ns ' || p_namespace || ' /';
    end if;
  else
    if head_kind = p_kind and head_sha256 = p_sha256 then
      return query select head_version, head_author_pid, head_created_at, false;
      return;
    end if;
    select h.path into blocking from aos.file_heads h
     where h.namespace = p_namespace and h.kind <> 'removed' and h.path = any (p_parents)
     limit 1;
    if blocking is not null then
      raise exception '% is a file, so % cannot be written under it', blocking, p_path
        using errcode = 'AOSCF', hint = 'remove ' || blocking || ' first, or choose another path';
    end if;
    -- A live path that starts with p_path || '/' (a byte range in "C" collation: '0' follows '/').
    select h.path into blocking from aos.file_heads h
     where h.namespace = p_namespace and h.kind <> 'removed'
       and h.path > p_path || '/' and h.path < p_path || '0'
     limit 1;
    if blocking is not null then
      raise exception '% is a directory (it holds %), so it cannot be written as a file', p_path, blocking
        using errcode = 'AOSCF', hint = 'choose another path, or remove the files under ' || p_path;
    end if;
  end if;
  new_version := coalesce(head_version, 0) + 1;
  insert into aos.files (namespace, path, version, kind, content, data, size, sha256, author_pid)
  values (p_namespace, p_path, new_version, p_kind, p_content, p_data, p_size, p_sha256, p_author_pid)
  returning created_at into new_created_at;
  insert into aos.file_heads (namespace, path, version, kind)
  values (p_namespace, p_path, new_version, p_kind)
  on conflict (namespace, path) do update set version = excluded.version, kind = excluded.kind;
  return query select new_version, p_author_pid, new_created_at, true;
end $$;
