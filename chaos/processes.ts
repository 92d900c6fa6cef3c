/**
 * What a set of processes exposes and leaves behind, read from /proc (Linux): the process tree
 * under a pid, and every socket those processes listen on with its address.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  command: string;
}

/** `/proc/<pid>/stat`: the command sits in parentheses and may itself hold spaces or parentheses. */
function readStat(pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const [state, ppid, pgid] = stat.slice(close + 2).split(' ');
    if (state === 'Z') return undefined;
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return { pid, ppid: Number(ppid), pgid: Number(pgid), command };
  } catch {
    return undefined;
  }
}

export function processes(): ProcessInfo[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map((entry) => readStat(Number(entry)))
    .filter((info): info is ProcessInfo => info !== undefined);
}

/** `root` and every live process below it, however deep (engines sit in their own process group). */
export function processTree(root: number): ProcessInfo[] {
  const all = processes();
  const tree = all.filter((p) => p.pid === root);
  for (let i = 0; i < tree.length; i++) {
    const parent = tree[i]?.pid;
    tree.push(...all.filter((p) => p.ppid === parent));
  }
  return tree;
}

export const alive = (pid: number): boolean => readStat(pid) !== undefined;

export interface ListeningSocket {
  pid: number;
  command: string;
  protocol: 'tcp' | 'udp';
  address: string;
  port: number;
}

/** `/proc/net/*`: IPv4 as one little-endian 32-bit word; IPv6 as four of them. */
function decodeAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((word) =>
    (word.match(/../g) ?? []).reverse().map((b) => Number.parseInt(b, 16)),
  );
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return groups.join(':');
}

const TCP_LISTEN = '0A';
/** An unconnected UDP socket (state CLOSE, no remote port) receives from anyone. */
const UDP_UNCONNECTED = '07';

interface SocketEntry {
  protocol: 'tcp' | 'udp';
  address: string;
  port: number;
}

function boundSockets(): Map<string, SocketEntry> {
  const byInode = new Map<string, SocketEntry>();
  for (const [file, protocol, state] of [
    ['tcp', 'tcp', TCP_LISTEN],
    ['tcp6', 'tcp', TCP_LISTEN],
    ['udp', 'udp', UDP_UNCONNECTED],
    ['udp6', 'udp', UDP_UNCONNECTED],
  ] as const) {
    let text: string;
    try {
      text = readFileSync(`/proc/net/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.trim().split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [local, remote, st, inode] = [fields[1], fields[2], fields[3], fields[9]];
      if (!local || !remote || st !== state || !inode) continue;
      if (protocol === 'udp' && !remote.endsWith(':0000')) continue;
      const [hexAddress, hexPort] = local.split(':');
      byInode.set(inode, {
        protocol,
        address: decodeAddress(hexAddress ?? ''),
        port: Number.parseInt(hexPort ?? '0', 16),
      });
    }
  }
  return byInode;
}

/** Every TCP socket in LISTEN and every unconnected UDP socket held by one of `pids`. */
export function listeningSockets(pids: readonly ProcessInfo[]): ListeningSocket[] {
  const bound = boundSockets();
  const found: ListeningSocket[] = [];
  for (const { pid, command } of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    const seen = new Set<string>();
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      const socket = inode === undefined ? undefined : bound.get(inode);
      if (!inode || !socket || seen.has(inode)) continue;
      seen.add(inode);
      found.push({ pid, command, ...socket });
    }
  }
  return found;
}

/** 127.0.0.0/8, ::1, and IPv4-mapped loopback (`::ffff:127.x.y.z`, how Java binds 127.0.0.1 on a dual stack). */
export function isLoopback(address: string): boolean {
  if (/^127\./.test(address)) return true;
  if (address === '0:0:0:0:0:0:0:1') return true;
  const mapped = /^0:0:0:0:0:ffff:(7f[0-9a-f]{2}):[0-9a-f]{1,4}$/.exec(address);
  return mapped !== null;
}

/** A process's environment (only readable for processes of the same user, which ours are). */
export function environment(pid: number): Record<string, string> {
  try {
    const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
    return Object.fromEntries(entries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  } catch {
    return {};
  }
}

/**
 * Every live process started for one ROLLOUT_HOME, wherever it sits in the tree: the runtime, its
 * DynamoDB Local and its engines all inherit ROLLOUT_HOME, and an orphan keeps it after its parent died.
 */
export function processesOfHome(home: string): (ProcessInfo & { env: Record<string, string> })[] {
  return processes()
    .map((p) => ({ ...p, env: environment(p.pid) }))
    .filter((p) => p.env.ROLLOUT_HOME === home);
}

export const isEngine = (p: ProcessInfo) => /engines\/reference\/main\.ts/.test(p.command);
