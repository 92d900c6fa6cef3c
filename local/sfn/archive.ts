/**
 * Executions and their histories on disk, so DescribeExecution, ListExecutions
 * and GetExecutionHistory answer for runs of an earlier process (on AWS they
 * outlive any client). One index of execution records per runtime home and one
 * history file per execution; appends are batched off the hot path, so a
 * SIGKILL loses at most the last batch.
 */
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync } from 'node:fs';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  /** The machine's name (`stateMachine:<name>`). */
  machineName: string;
  name: string;
  status: string;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  startDate: number;
  stopDate?: number;
  /** History events written so far. */
  historyLength: number;
}

export interface ArchivedEvent {
  timestamp: number;
  type: string;
  id: number;
  previousEventId: number;
  [details: string]: unknown;
}

type IndexLine =
  | { op: 'start'; record: ExecutionRecord }
  | { op: 'end'; executionArn: string; fields: Partial<ExecutionRecord> };

export class ExecutionArchive {
  private readonly dir: string;
  private readonly indexFile: string;
  private readonly pending = new Map<string, string[]>();
  private readonly directories = new Set<string>();
  /** Files this process appended to (their last line is known to be complete). */
  private readonly continued = new Set<string>();
  private readonly onError: (error: Error) => void;
  private flushing: Promise<void> = Promise.resolve();
  private scheduled = false;

  constructor(dir: string, onError: (error: Error) => void) {
    this.dir = dir;
    this.onError = onError;
    this.indexFile = join(dir, 'index.jsonl');
    mkdirSync(dir, { recursive: true });
  }

  /** Every execution recorded by earlier runs, in start order, with its last known state. */
  load(): ExecutionRecord[] {
    if (!existsSync(this.indexFile)) return [];
    const records = new Map<string, ExecutionRecord>();
    for (const line of readFileSync(this.indexFile, 'utf8').split('\n')) {
      const entry = parseLine<IndexLine>(line);
      if (!entry) continue;
      if (entry.op === 'start') records.set(entry.record.executionArn, entry.record);
      else {
        const record = records.get(entry.executionArn);
        if (record) Object.assign(record, entry.fields);
      }
    }
    for (const record of records.values()) {
      // A run killed mid-execution wrote its end to neither file: its history file knows how far it got.
      if (record.status === 'RUNNING') record.historyLength = this.readHistory(record).length;
    }
    return [...records.values()];
  }

  started(record: ExecutionRecord): void {
    this.append(this.indexFile, { op: 'start', record } satisfies IndexLine);
  }

  ended(executionArn: string, fields: Partial<ExecutionRecord>): void {
    this.append(this.indexFile, { op: 'end', executionArn, fields } satisfies IndexLine);
  }

  event(record: Pick<ExecutionRecord, 'machineName' | 'name'>, event: ArchivedEvent): void {
    this.append(this.historyFile(record), event);
  }

  async history(record: Pick<ExecutionRecord, 'machineName' | 'name'>): Promise<ArchivedEvent[]> {
    await this.flush();
    const file = this.historyFile(record);
    return existsSync(file) ? parseEvents(await readFile(file, 'utf8')) : [];
  }

  private readHistory(record: Pick<ExecutionRecord, 'machineName' | 'name'>): ArchivedEvent[] {
    const file = this.historyFile(record);
    return existsSync(file) ? parseEvents(readFileSync(file, 'utf8')) : [];
  }

  /** Resolves once everything appended so far is on disk. */
  flush(): Promise<void> {
    if (this.pending.size) this.drain();
    return this.flushing;
  }

  private historyFile(record: Pick<ExecutionRecord, 'machineName' | 'name'>) {
    // Names may hold dots and non-ASCII letters (never '/'): encoded, they stay one plain path segment.
    return join(this.dir, encodeURIComponent(record.machineName), `${encodeURIComponent(record.name)}.jsonl`);
  }

  private append(file: string, value: unknown) {
    const lines = this.pending.get(file);
    const line = `${JSON.stringify(value)}\n`;
    if (lines) lines.push(line);
    else this.pending.set(file, [line]);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private drain() {
    this.scheduled = false;
    if (!this.pending.size) return;
    const batch = new Map(this.pending);
    this.pending.clear();
    this.flushing = this.flushing.then(() =>
      Promise.all(
        [...batch].map(async ([file, lines]) => {
          const directory = dirname(file);
          if (!this.directories.has(directory)) {
            await mkdir(directory, { recursive: true });
            this.directories.add(directory);
          }
          const text = lines.join('');
          await appendFile(file, this.continued.has(file) ? text : `${lineBreakIfCut(file)}${text}`);
          this.continued.add(file);
        }),
      ).then(
        () => undefined,
        (error: unknown) => this.onError(error as Error),
      ),
    );
  }
}

function parseEvents(text: string): ArchivedEvent[] {
  return text.split('\n').flatMap((line) => {
    const event = parseLine<ArchivedEvent>(line);
    return event ? [event] : [];
  });
}

/** A file whose last line a kill cut short gets a line break first, so the next record stands alone. */
function lineBreakIfCut(file: string): string {
  if (!existsSync(file)) return '';
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return '';
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] === 0x0a ? '' : '\n';
  } finally {
    closeSync(fd);
  }
}

function parseLine<T>(line: string): T | undefined {
  if (!line.trim()) return undefined;
  try {
    return JSON.parse(line) as T;
  } catch {
    // A line cut short by a kill mid-write: everything before it is intact.
    return undefined;
  }
}
