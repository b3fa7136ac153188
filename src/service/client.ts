/**
 * `stackhog enqueue` and `stackhog results`: the service from a script, without the HTTP front.
 * enqueue adds a job per dump (by path on the workers' shared volume, or by URL) and prints each id;
 * results prints every finished job as a JSON line, the lines `stackhog batch` writes plus `id`.
 */
import type { Job } from 'bullmq';
import { addDumpJob, DEFAULT_QUEUE, type DumpJobData, type DumpJobResult, jobFor, redisConnection, reportErrors, resultLine, untilReady } from './jobs.js';

export interface ClientOptions {
  readonly redis: string;
  readonly queue?: string;
}

async function withQueue<T>(options: ClientOptions, work: (queue: import('bullmq').Queue<DumpJobData, DumpJobResult>) => Promise<T>): Promise<T> {
  const { Queue } = await import('bullmq');
  const queue = new Queue<DumpJobData, DumpJobResult>(options.queue ?? DEFAULT_QUEUE, { connection: redisConnection(options.redis) });
  reportErrors(queue, `stackhog: Redis at ${options.redis}`, process.stderr);
  try {
    await untilReady(queue, options.redis);
    return await work(queue);
  } finally {
    await queue.close();
  }
}

/** Adds each dump; writes "<id> <dump>" per line. A dump submitted before keeps its job. */
export async function enqueue(options: ClientOptions, dumps: readonly string[], out: NodeJS.WritableStream): Promise<number> {
  return withQueue(options, async (queue) => {
    let added = 0;
    for (const dump of dumps) {
      const { id, data } = await jobFor(dump);
      await addDumpJob(queue as never, id, data);
      out.write(`${id} ${data.dump}\n`);
      added++;
    }
    return added;
  });
}

const UNFINISHED = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;
const PAGE = 500;

/**
 * Writes every finished job (completed, then failed) as a JSON line. With `wait`, first waits until
 * no job is waiting, running or delayed (polling every `pollMs`).
 */
export async function results(options: ClientOptions & { wait: boolean; pollMs?: number }, out: NodeJS.WritableStream): Promise<{ completed: number; failed: number }> {
  return withQueue(options, async (queue) => {
    if (options.wait) {
      for (;;) {
        const counts = await queue.getJobCounts(...UNFINISHED);
        if (UNFINISHED.every((s) => (counts[s] ?? 0) === 0)) break;
        await new Promise((done) => setTimeout(done, options.pollMs ?? 500));
      }
    }
    const tally = { completed: 0, failed: 0 };
    for (const state of ['completed', 'failed'] as const) {
      for (let start = 0; ; start += PAGE) {
        const jobs = (await queue.getJobs([state], start, start + PAGE - 1, true)) as (Job<DumpJobData, DumpJobResult> | undefined)[];
        for (const job of jobs) {
          if (!job?.id) continue;
          const line = resultLine(job.id, job.data, state === 'completed' ? { result: job.returnvalue } : { failedReason: job.failedReason });
          if (!out.write(line + '\n')) await new Promise((done) => out.once('drain', done));
          tally[state]++;
        }
        if (jobs.length < PAGE) break;
      }
    }
    return tally;
  });
}
